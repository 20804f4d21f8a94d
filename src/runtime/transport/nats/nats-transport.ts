/**
 * NatsTransport: the live transport of one process of a run, over NATS.
 *
 * Each process of a live run — the driver (`fedsim run --transport nats`) and every
 * `fedsim worker` — has a SimulationCore with one of these. Envelopes for actors hosted
 * elsewhere are encoded (frames.ts: a checked header, then the message's wire frame) and
 * published on the receiver's subject; envelopes that arrive are checked, decoded and
 * handed to the core, which delivers them as it would in simulation (same receivers, same
 * duplicate recognition, same recording). The driver's transport also places actors on
 * worker processes, tells every host about new actors (the roster), decides when the
 * whole run is quiet, and collects each host's recording at the end.
 */
import type { Msg, NatsConnection, QueuedIterator, Subscription } from '@nats-io/transport-node';
import { FedsimError } from '../../errors.js';
import { type ActorId, NO_SEQ, PostedEnvelope } from '../../envelope.js';
import type { FaultPlan } from '../../faults/fault-plan.js';
import type { Seed } from '../../rng.js';
import type { HostLossPolicy, PlacedActorSpec, TrafficCount, Transport, TransportSink } from '../transport.js';
import type { WireCodec } from '../wire-codec.js';
import { decodeFrame, decodeJson, encodeFrame, encodeJson, type EnvelopeHeader, type FrameHeader } from './frames.js';
import { actorSubject } from './subjects.js';

/** How many recent message ids a receiver remembers to give a duplicate the payload object of its original. */
const RECENT_PAYLOADS = 4096;
/** How many received frames are remembered to tell a repeated one (a repeat of an older frame would be counted again). */
const COUNTED_FRAMES = 1 << 17;
/** The longest pause between two looks at a busy run while waiting for it to be quiet (quiesce). */
const QUIESCE_MAX_PAUSE_MS = 500;

/** How long a control request (placement, quiescence, collection) may take before the run fails. */
export const CONTROL_TIMEOUT_MS = 30_000;
/**
 * After a placement's first answer, how long (at least) the driver waits for another process that also
 * offers the actor — or as long as the first answer took, if longer: a second worker creates the actor
 * as the first did, in about the same time. Placements run concurrently: this is paid about once a run.
 */
export const SECOND_HOST_WAIT_MS = 250;
/** How often the driver checks that the processes hosting its workers are still there (real ms). */
export const HOST_CHECK_MS = 500;

export interface NatsTransportOptions {
  connection: NatsConnection;
  run: string;
  /** One id per live run: frames of another run (or an earlier one) are refused. */
  session: string;
  /** Epoch ms at which the run began (the driver's clock at its start). */
  origin: number;
  codec: WireCodec;
  /** The actors this process hosts (the driver: its own id). */
  local: Iterable<ActorId>;
  /** Every actor of the run known so far, and whether it is a worker of the federation. */
  roster?: Iterable<{ id: ActorId; worker: boolean }>;
  /** Placement settings the driver passes on to hosts. */
  seed?: Seed;
  faults?: FaultPlan;
  /** Shown in errors: where the server is. */
  servers?: string;
}

/** What a host answered for a placement. */
interface Placed {
  host: string;
}

/** One host's part of the recording. */
export interface HostRecording {
  host: string;
  actors: string[];
  lines: string[];
}

/** The live transport cannot go on: no process hosts an actor, a host refused a placement or is gone. */
export class LiveTransportError extends FedsimError {
  override name = 'LiveTransportError';
}

const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Every sender's published envelopes have all been received (frames from senders that published
 * none are strays). Actors of a process that is gone (`lost`) neither send nor receive any more,
 * and their process's counts cannot be asked: what they sent is not balanced, and what was
 * published to them is not expected to be received.
 */
function balanced(counts: TrafficCount[], lost: ReadonlySet<ActorId>): boolean {
  const sum = (pick: (c: TrafficCount) => Record<string, number> | undefined, sender: string) => counts.reduce((n, c) => n + (pick(c)?.[sender] ?? 0), 0);
  const senders = new Set(counts.flatMap((c) => Object.keys(c.published)));
  for (const sender of senders) {
    if (lost.has(sender)) continue;
    let toLost = 0;
    for (const actor of lost) toLost += sum((c) => c.publishedTo?.[actor], sender);
    if (sum((c) => c.published, sender) - toLost !== sum((c) => c.received, sender)) return false;
  }
  return true;
}

/** NATS's answer to a request on a subject nobody listens on: the process that listened is gone. */
function isNoResponders(error: Error): boolean {
  return (error as { isNoResponders?: () => boolean }).isNoResponders?.() || /no responders/i.test(error.message) || error.name === 'NoRespondersError';
}

export class NatsTransport implements Transport {
  readonly name = 'nats';
  private sink!: TransportSink;
  private readonly local: Set<ActorId>;
  private readonly roster = new Map<ActorId, boolean>();
  /** Actor → the host process that runs it (the driver knows; hosts do not need to). */
  private readonly hostOf = new Map<ActorId, string>();
  private readonly placements = new Set<Promise<void>>();
  /** Every actor placed from here, answered or not, with what losing its process means. */
  private readonly placed = new Map<ActorId, HostLossPolicy>();
  /** Actors whose process is gone (lost as crashed ones: HostLossPolicy 'lose-messages') → that process. */
  private readonly lost = new Map<ActorId, string>();
  /** Driver side: listening (listen() was called); hosts never announce their actors. */
  private listening = false;
  private readonly recent = new Map<string, unknown>();
  /**
   * Driver side: envelopes that arrived while a placement was not yet confirmed (its answers still
   * being gathered), handled in their order once every placement so far is. An actor created by two
   * processes sends everything twice; none of it may reach the driver's actors before the run fails
   * for that reason, or the run would fail first for another, misleading one.
   */
  private held: Array<() => void> = [];
  /** Driver side: the answers of placements still being gathered (close() ends them: a failed run may leave some). */
  private readonly gathering = new Set<QueuedIterator<Msg>>();
  /** Driver side: the run failed while placing actors and was given up on the hosts (abandon()). */
  private givenUp = false;
  private readonly subscriptions: Subscription[] = [];
  private hostCheck: NodeJS.Timeout | null = null;
  private readonly published: Record<string, number> = {};
  /** Published by receiver, then sender: what to take off the balance when a receiver's process is gone. */
  private readonly publishedTo: Record<string, Record<string, number>> = {};
  private readonly received: Record<string, number> = {};
  /** The frames counted in `received` lately (sender:serial, + for a fault plan's copy), to tell a repeat. */
  private readonly counted = new Set<string>();
  /**
   * Payloads already encoded, with the id of the message they were encoded for, so a fault's
   * duplicate (same id, same payload object) sent later reuses the bytes: the tensors were
   * freed after the first. Another message that happens to share the payload object is
   * encoded again.
   */
  private readonly encoded = new WeakMap<object, { id: string; body: Uint8Array }>();

  constructor(private readonly options: NatsTransportOptions) {
    this.local = new Set(options.local);
    for (const id of this.local) this.roster.set(id, false);
    for (const entry of options.roster ?? []) this.roster.set(entry.id, entry.worker);
  }

  get session(): string {
    return this.options.session;
  }

  now(): number {
    return epochNow() - this.options.origin;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
  }

  /** Driver side: receives the envelopes addressed to its own actors (hosts subscribe through NatsActorHost). */
  listen(): void {
    this.listening = true;
    for (const id of this.local) this.subscribe(id);
    this.watchHosts();
  }

  private subscribe(id: ActorId): void {
    const subscription = this.options.connection.subscribe(actorSubject(this.options.run, id), { callback: (error, msg) => (error ? this.sink.fail(error) : this.onFrame(msg)) });
    this.subscriptions.push(subscription);
  }

  /**
   * Driver side: an actor spawned in this process (the FL server, an aggregation helper) can
   * be sent to from the run's other processes: its subject is listened on, and every host
   * hears of it before anything the driver sends later (same subjects, same order).
   */
  announce(id: ActorId): void {
    if (!this.listening || this.local.has(id)) return;
    this.local.add(id);
    this.subscribe(id);
    this.tellHosts(id, false);
    this.roster.set(id, false);
  }

  /** Roster news: every placed actor's host learns of `id` (before anything the driver sends it later). */
  private tellHosts(id: ActorId, worker: boolean): void {
    const { connection, run, session } = this.options;
    for (const other of this.placed.keys()) {
      if (!this.lost.has(other)) connection.publish(actorSubject(run, other), encodeFrame({ kind: 'roster', session, add: { id, worker } }));
    }
  }

  goneHostOf(id: ActorId): string | undefined {
    return this.lost.get(id);
  }

  /**
   * Driver side: a process that hosted workers and is gone (killed, its machine down) would
   * leave every awaited reply waiting forever. NATS answers a request to a subject nobody
   * listens on at once ("no responders"), so a periodic check finds it and fails the run
   * with the host and its actors named.
   */
  private watchHosts(): void {
    this.hostCheck = setInterval(() => {
      for (const { host, actors } of this.hosts()) {
        const header: FrameHeader = { kind: 'sync', session: this.options.session };
        this.options.connection.request(actorSubject(this.options.run, actors[0]), encodeFrame(header), { timeout: CONTROL_TIMEOUT_MS }).catch((error: Error) => {
          if (this.hostCheck !== null && isNoResponders(error)) this.hostIsGone(host, actors);
        });
      }
    }, HOST_CHECK_MS);
    this.hostCheck.unref();
  }

  /**
   * A host no longer answers. If every actor on it was placed to be lost with it (FL clients),
   * they are lost from now on — messages to them are dropped, the counts leave them out — and
   * the run goes on; otherwise the run fails, naming the process.
   */
  private hostIsGone(host: string, actors: ActorId[]): LiveTransportError | undefined {
    if (actors.some((id) => this.lost.has(id))) return undefined; // already known
    if (actors.every((id) => this.placed.get(id) === 'lose-messages')) {
      for (const id of actors) this.lost.set(id, host);
      this.sink.hostGone(host, actors);
      return undefined;
    }
    const error = new LiveTransportError(`The fedsim worker process ${host}, which hosted ${actors.join(', ')}, is gone (it no longer answers on run '${this.options.run}'); its actors' replies will never come. Restart it and run again.`);
    this.sink.fail(error);
    return error;
  }

  /** Driver side: the connection to the NATS server ended though the run had not (see LiveSession). */
  connectionLost(servers: string, error?: Error): void {
    const why = error ? ` (${error.message})` : '';
    this.sink.fail(new LiveTransportError(`The connection to the NATS server at ${servers} closed in the middle of the run${why}: the server was stopped or cannot be reached, so no message can go to or come from the worker processes. Check the server and run again.`));
  }

  isRemote(id: ActorId): boolean {
    return this.roster.has(id) && !this.local.has(id);
  }

  /** The processes hosting this run's placed actors (those gone excluded), with their actors. */
  hosts(): Array<{ host: string; actors: string[] }> {
    const byHost = new Map<string, string[]>();
    for (const [actor, host] of this.hostOf) if (!this.lost.has(actor)) byHost.set(host, [...(byHost.get(host) ?? []), actor]);
    return [...byHost].map(([host, actors]) => ({ host, actors }));
  }

  /** A host takes actor `id` (placed on it): envelopes for it are delivered here from now on. */
  claim(id: ActorId): void {
    this.local.add(id);
    this.roster.set(id, true);
  }

  /** A host learnt of another actor of the run (roster news from the driver). */
  addToRoster(id: ActorId, worker: boolean): void {
    if (!this.local.has(id)) this.roster.set(id, worker);
  }

  isWorker(id: ActorId): boolean {
    return this.roster.get(id) === true;
  }

  place(id: ActorId, spec: PlacedActorSpec, whenHostIsGone: HostLossPolicy = 'fail-run'): void {
    // The run already failed placing another actor: a host would create this one in a run nobody collects.
    if (this.givenUp) return;
    const { connection, run, session } = this.options;
    // Every host hears of the new actor before anything the driver sends it later (same subjects, same order).
    this.tellHosts(id, true);
    const roster = [...this.roster].map(([actor, worker]) => ({ id: actor, worker }));
    this.roster.set(id, true);
    this.placed.set(id, whenHostIsGone);
    const header: FrameHeader = { kind: 'spawn', session, origin: this.options.origin, seed: this.options.seed ?? 0, faults: this.options.faults!, actor: id, spec: { kind: spec.kind, input: spec.input }, roster };
    const placement = this.createOnHosts(id, header)
      .then((hosts) => {
        if (hosts.length > 1) throw this.duplicateHostsError(id, spec, hosts);
        this.hostOf.set(id, hosts[0]);
      })
      .catch((error: Error) => {
        // The run already ended (failed for this or another placement) and its connection was closed.
        if (this.options.connection.isClosed()) return;
        this.abandon(`placing '${id}' failed`);
        this.sink.fail(this.placementError(id, spec, error));
      })
      .finally(() => {
        this.placements.delete(placement);
        if (this.placements.size === 0) this.releaseHeld();
      });
    this.placements.add(placement);
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    if (!this.givenUp) for (const handle of held) handle();
  }

  /**
   * Sends a spawn frame to every process listening on the actor's subject and returns the host of
   * each one that created it. A plain request would see the first answer only: two workers that
   * offer the same actor would both create it, unseen, and the run would fail later in ways that
   * do not point at the cause. So the answers are gathered until no other one came for a while
   * (SECOND_HOST_WAIT_MS) after the first.
   */
  private async createOnHosts(id: ActorId, header: FrameHeader): Promise<string[]> {
    const asked = epochNow();
    // requestMany's iterator (a QueuedIterator): stop() ends it at once, a pending next() included.
    const answers = (await this.options.connection.requestMany(actorSubject(this.options.run, id), encodeFrame(header), { strategy: 'timer', maxWait: CONTROL_TIMEOUT_MS })) as QueuedIterator<Msg>;
    this.gathering.add(answers);
    const replies = answers[Symbol.asyncIterator]();
    const hosts: string[] = [];
    let waitEnded: Promise<'waited'> | undefined;
    let waiting: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        const next = await (waitEnded ? Promise.race([replies.next(), waitEnded]) : replies.next());
        if (next === 'waited' || next.done) break;
        const answer = decodeJson<{ ok: boolean; host?: string; error?: string }>(next.value.data);
        if (!answer.ok) throw new LiveTransportError(`The fedsim worker that hosts '${id}' refused to create it: ${answer.error}`);
        if (!hosts.includes(answer.host!)) hosts.push(answer.host!);
        waitEnded ??= new Promise((resolve) => (waiting = setTimeout(() => resolve('waited'), Math.max(SECOND_HOST_WAIT_MS, epochNow() - asked))));
      }
    } finally {
      clearTimeout(waiting);
      answers.stop();
      this.gathering.delete(answers);
    }
    if (hosts.length === 0) throw new Error(`no fedsim worker answered within ${CONTROL_TIMEOUT_MS / 1000} s`);
    return hosts;
  }

  private duplicateHostsError(id: ActorId, spec: PlacedActorSpec, hosts: string[]): LiveTransportError {
    const flags = spec.workerFlags ?? `--actors ${id}`;
    return new LiveTransportError(
      `'${id}' is hosted by more than one fedsim worker process on run '${this.options.run}': ${hosts.join(' and ')} each created it. ` +
        `Give each actor to exactly one \`fedsim worker\`: check their --actors / --clients patterns so that only one of them offers '${id}' (${flags}), stop or restart the others, and run again.`,
    );
  }

  /**
   * The run failed while placing actors: every process that took part of it is told to drop it (they
   * would otherwise keep it, waiting for a collection that will not come). Placed actors' subjects
   * reach every process that offers them, the duplicates of a doubly hosted actor included.
   */
  private abandon(reason: string): void {
    this.givenUp = true;
    const { connection, run, session } = this.options;
    for (const actor of this.placed.keys()) connection.publish(actorSubject(run, actor), encodeFrame({ kind: 'abandon', session, reason }));
  }

  private placementError(id: ActorId, spec: PlacedActorSpec, error: Error): Error {
    if (error instanceof LiveTransportError) return error;
    const server = this.options.servers ?? 'the NATS server';
    if (isNoResponders(error)) {
      return new LiveTransportError(
        `No fedsim worker hosts '${id}' on run '${this.options.run}' at ${server}. Start one that does: fedsim worker --nats ${server} ${spec.workerFlags ?? `--actors ${id}`}${this.options.run === 'default' ? '' : ` --run ${this.options.run}`}`,
      );
    }
    return new LiveTransportError(`Placing '${id}' on its fedsim worker (run '${this.options.run}', ${server}) failed: ${error.message}`);
  }

  publish(envelope: PostedEnvelope): void {
    const { codec, connection, run, session } = this.options;
    const payload = envelope.payload as object;
    const cached = typeof payload === 'object' && payload !== null ? this.encoded.get(payload) : undefined;
    let body = cached?.id === envelope.id ? cached.body : undefined;
    if (body === undefined) {
      body = codec.encode(envelope.type, envelope.payload);
      if (typeof payload === 'object' && payload !== null) this.encoded.set(payload, { id: envelope.id, body });
      // The bytes are the message now: the tensors it carried are freed (a duplicate reuses the bytes).
      codec.release(envelope.payload);
    }
    const header: EnvelopeHeader = {
      kind: 'envelope',
      session,
      from: envelope.from,
      serial: envelope.serial,
      to: envelope.to,
      type: envelope.type,
      cause: envelope.cause,
      ...(envelope.inReplyTo !== undefined ? { re: envelope.inReplyTo } : {}),
      ...(envelope.duplicate ? { copy: true as const } : {}),
      digest: envelope.digest!,
      ...(envelope.bytes !== undefined ? { bytes: envelope.bytes } : {}),
    };
    connection.publish(actorSubject(run, envelope.to), encodeFrame(header, body));
    this.published[envelope.from] = (this.published[envelope.from] ?? 0) + 1;
    const to = (this.publishedTo[envelope.to] ??= {});
    to[envelope.from] = (to[envelope.from] ?? 0) + 1;
  }

  /** A frame on one of this process's subjects. */
  onFrame(msg: Msg): void {
    let decoded;
    try {
      decoded = decodeFrame(msg.data);
    } catch (error) {
      return this.sink.refuse(null, 'invalid', `a frame on ${msg.subject}: ${(error as Error).message}`);
    }
    const { header, body } = decoded;
    if (header.session !== this.options.session) return; // another run's frame (NatsActorHost routes by session)
    if (this.givenUp) return;
    // Only the driver places actors: on a host, placements is always empty.
    if (header.kind === 'envelope' && this.placements.size > 0) this.held.push(() => this.onHeader(header, body, msg));
    else this.onHeader(header, body, msg);
  }

  /** A checked frame of this run. */
  onHeader(header: FrameHeader, body: Uint8Array, msg: Msg): void {
    switch (header.kind) {
      case 'envelope':
        return this.onEnvelope(header, body);
      case 'roster':
        return this.addToRoster(header.add.id, header.add.worker);
      case 'sync':
        this.sink.wake();
        // Answered after the due work ran, so the counts include what this frame's predecessors caused.
        setImmediate(() => msg.respond(encodeJson({ ...this.traffic(), idle: this.sink.idle })));
        return;
      default:
        return; // spawn, finish and log chunks are a host's (NatsActorHost)
    }
  }

  private onEnvelope(header: EnvelopeHeader, body: Uint8Array): void {
    // Counted once per frame its sender published (an original and a fault plan's copy are two): a frame
    // repeated on the wire, by a network or by another publisher, must not unbalance the quiescence count.
    const frameKey = `${header.from}:${header.serial}${header.copy ? '+' : ''}`;
    if (!this.counted.has(frameKey)) {
      this.counted.add(frameKey);
      if (this.counted.size > COUNTED_FRAMES) this.counted.delete(this.counted.values().next().value!);
      this.received[header.from] = (this.received[header.from] ?? 0) + 1;
    }
    const { codec } = this.options;
    const envelopeOf = (payload: unknown) => {
      const envelope = new PostedEnvelope(header.from, header.serial, header.to, header.type, payload, header.cause, NO_SEQ, header.re, NO_SEQ, header.digest, header.bytes);
      if (header.copy) envelope.duplicate = true;
      return envelope;
    };
    if (!this.local.has(header.to)) return this.sink.refuse(envelopeOf(null), 'unknown-actor', `'${header.to}' is not hosted by this process (it hosts ${[...this.local].join(', ')})`);
    let message;
    try {
      // A plain Uint8Array copy: the client may hand a Node Buffer (a view into a shared pool, whose
      // slice() copies nothing), and the codec's typed arrays need bytes of their own.
      message = codec.decode(new Uint8Array(body));
      if (message.type !== header.type) throw new Error(`the frame says type '${message.type}' but its header says '${header.type}'`);
    } catch (error) {
      if (message) codec.release(message.payload);
      return this.sink.refuse(envelopeOf(null), 'invalid', `${header.from}:${header.serial} → ${header.to} (${header.type}): ${(error as Error).message}`);
    }
    // A second copy of a message (a fault's duplicate) carries the payload object of the first, as in
    // simulation, so the receiver's duplicate check (claimDelivery) recognises it.
    const id = `${header.from}:${header.serial}`;
    let payload = message.payload;
    const earlier = this.recent.get(id);
    if (earlier !== undefined) {
      codec.release(payload);
      payload = earlier;
    } else {
      this.recent.set(id, payload);
      if (this.recent.size > RECENT_PAYLOADS) this.recent.delete(this.recent.keys().next().value!);
    }
    this.sink.accept(envelopeOf(payload));
  }

  traffic(): TrafficCount {
    return { published: { ...this.published }, received: { ...this.received }, publishedTo: structuredClone(this.publishedTo) };
  }

  /**
   * Driver side: waits until the whole run is quiet — every placement answered, every host
   * idle, as many envelopes received as published, twice in a row with the same counts
   * (a message in flight between two hosts shows as published and not yet received).
   */
  async quiesce(): Promise<void> {
    let previous = '';
    let busyLooks = 0;
    for (;;) {
      while (this.placements.size > 0) await Promise.all([...this.placements]);
      await new Promise((resolve) => setImmediate(resolve));
      const counts: Array<TrafficCount & { idle: boolean }> = [{ ...this.traffic(), idle: this.sink.idle }];
      for (const { host, actors } of this.hosts()) {
        const count = await this.control<TrafficCount & { idle: boolean }>(actors[0], { kind: 'sync', session: this.options.session }).catch((error: Error) => {
          // Gone before the host check noticed: lost (FL clients) or the run fails, as the check would decide.
          if (!isNoResponders(error)) throw error;
          const fatal = this.hostIsGone(host, actors);
          if (fatal) throw fatal;
          return undefined;
        });
        if (count) counts.push(count);
      }
      const key = JSON.stringify(counts);
      const quiet = counts.every((c) => c.idle) && balanced(counts, new Set(this.lost.keys()));
      if (quiet && key === previous) return;
      // Quiet once: look again at once to confirm. Busy (a worker computing, messages in flight): look again
      // after a pause that doubles while the run stays busy, so a long computation costs a few requests a second.
      busyLooks = quiet ? 0 : busyLooks + 1;
      if (busyLooks > 1) await new Promise((resolve) => setTimeout(resolve, Math.min(QUIESCE_MAX_PAUSE_MS, 2 ** busyLooks)));
      previous = key;
    }
  }

  /** Driver side: each host's recording (hosts end their part of the run when asked). */
  async collectRecordings(): Promise<HostRecording[]> {
    while (this.placements.size > 0) await Promise.all([...this.placements]);
    // The hosts end their part of the run now: they are no longer watched.
    if (this.hostCheck) clearInterval(this.hostCheck);
    this.hostCheck = null;
    const session = this.options.session;
    const recordings: HostRecording[] = [];
    for (const { host, actors } of this.hosts()) {
      let finished: { chunks: number; events: number };
      try {
        finished = await this.control<{ chunks: number; events: number }>(actors[0], { kind: 'finish', session });
      } catch (error) {
        // The process died after the last check (e.g. killed once the rounds were over): its part of the
        // recording died with it. Actors placed to be lost with their process (FL clients) are, and the run
        // stands (its results were made without them); any other actor's loss fails the run, naming it.
        const gone = isNoResponders(error as Error) || (error as Error).name === 'TimeoutError' || /timeout/i.test((error as Error).message);
        if (!gone) throw error;
        const failure = this.hostIsGone(host, actors);
        if (failure) throw failure;
        continue;
      }
      const lines: string[] = [];
      for (let chunk = 0; chunk < finished.chunks; chunk++) {
        const text = await this.control<{ text: string }>(actors[0], { kind: 'log', session, chunk });
        if (text.text.length > 0) lines.push(...text.text.split('\n'));
      }
      if (lines.length !== finished.events) throw new FedsimError(`The recording of host ${host} has ${lines.length} events, but it reported ${finished.events}.`);
      recordings.push({ host, actors, lines });
    }
    return recordings;
  }

  private async control<T>(actor: ActorId, header: FrameHeader): Promise<T> {
    let msg: Msg;
    try {
      msg = await this.options.connection.request(actorSubject(this.options.run, actor), encodeFrame(header), { timeout: CONTROL_TIMEOUT_MS });
    } catch (error) {
      // No responders and timeouts are the callers' to judge (a host gone); anything else is the connection's.
      if (isNoResponders(error as Error) || (error as Error).name === 'TimeoutError' || /timeout/i.test((error as Error).message)) throw error;
      throw new LiveTransportError(
        `Asking the host of '${actor}' for '${header.kind}' failed: ${(error as Error).message}. The connection to the NATS server at ${this.options.servers ?? 'the NATS server'} broke (the server stopped, or cannot be reached); check it and run again.`,
      );
    }
    const answer = decodeJson<T & { ok?: boolean; error?: string }>(msg.data);
    if (answer.ok === false) throw new FedsimError(`The host of '${actor}' could not answer '${header.kind}': ${answer.error}`);
    return answer;
  }

  close(): void {
    if (this.hostCheck) clearInterval(this.hostCheck);
    this.hostCheck = null;
    // A placement still waiting for answers would otherwise keep its request (and the process) alive until it times out.
    for (const answers of this.gathering) answers.stop();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }
}
