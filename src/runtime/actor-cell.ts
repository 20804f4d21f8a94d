/**
 * An actor cell: one xstate v5 actor living inside the simulation.
 *
 * Every piece of work the actor does — handling a message, a timer firing, its
 * start — runs as a *turn*. A turn is transactional: the messages the actor sends
 * go to an outbox that is posted only if the turn succeeds. If the logic throws,
 * the outbox is discarded, the actor is put back to the snapshot it had before the
 * turn (with its pending timers re-armed at their original due times), an `error`
 * event is recorded, and a request gets an error reply. The actor keeps serving.
 */
import { type AnyActorLogic, type AnyActorRef, type Actor, createActor } from 'xstate';
import { clearArray } from './arrays.js';
import type { VirtualClock } from './clock.js';
import { type ActorId, type Envelope, ERROR_REPLY, type ErrorPayload, messageId, NO_SEQ, PostedEnvelope } from './envelope.js';
import type { SimEventInit } from './events.js';
import { describeState } from './liveness.js';
import type { RandomStream } from './rng.js';
import { ActorStorage, type DurableStorage } from './durable-storage.js';
import type { RunPolicies } from './policies.js';

/** What the simulation offers a cell. */
export interface CellHost {
  readonly clock: VirtualClock;
  rng(name: string): RandomStream;
  /** A new stream for `name`, at its start (the same draws on every call). */
  derivedRng(name: string): RandomStream;
  /** Posts an envelope built by its sender, at virtual time `sendTime` (≥ now). */
  post(envelope: PostedEnvelope, sendTime: number): void;
  record(event: SimEventInit): void;
  /** Some actor is busy until `time` (so the scheduler must check receivers' busy times until then). */
  noteBusyUntil(time: number): void;
  /** The run's privacy policies, if it declared any. */
  readonly policies?: RunPolicies;
}

/** The capabilities an actor's logic receives in its input as `io`. */
export interface ActorIO {
  readonly id: ActorId;
  /** Virtual time, ms. */
  now(): number;
  /** Sends a message; returns its id. Delivered only if the current turn succeeds. */
  send<P>(to: ActorId, type: string, payload: P, options?: SendOptions): string;
  /** Answers `request` (the reply is correlated by the request's id). */
  reply<P>(request: Envelope, type: string, payload: P, options?: SendOptions): string;
  /** Answers `request` with an error reply. */
  replyError(request: Envelope, error: unknown, options?: SendOptions): string;
  /** This actor's own named random stream (`actor/<id>/<name>`); it goes on where the last draw left it. */
  rng(name: string): RandomStream;
  /**
   * A stream that depends on the seed, this actor's id and `name` alone, at its start on
   * every call (`actor/<id>/<name>`). For draws that must come out the same when the work
   * is redone — a retried round, a restart after a crash: name it after what it is for,
   * e.g. `shuffle/round-7`. Use names that no `rng()` stream of this actor uses.
   */
  derivedRng(name: string): RandomStream;
  /** The actor's durable storage (see durable-storage.ts): survives crashes unless the fault plan says `loseStorage`. */
  readonly storage: DurableStorage;
  /** Declares that the current turn costs `ms` of virtual time: replies leave later and the actor is busy meanwhile. */
  busy(ms: number): void;
  /** The message being handled, if the current turn is a delivery. */
  readonly current: Envelope | null;
  /** The run's privacy policies (release policy, declared unsafe settings), if it declared any. */
  readonly policies?: RunPolicies;
  /**
   * Records a mark in the event log at once, naming this actor (`data.actor`): for
   * decisions a log must show, such as a release of private data under the run's policy.
   * Unlike messages, a mark is not taken back if the turn later fails.
   */
  mark?(label: string, data?: Record<string, unknown>): void;
}

export interface SendOptions {
  digest?: string;
  bytes?: number;
}

/** The event an actor's logic receives for each delivered message (the envelope itself: see PostedEnvelope). */
export interface ActorMessage<P = any> {
  type: string;
  payload: P;
  envelope: Envelope<P>;
}

/** xstate reserves `xstate.*` event types (e.g. `xstate.stop` stops an actor): a message may not use them. */
export class ReservedMessageTypeError extends Error {
  override name = 'ReservedMessageTypeError';
  constructor(actor: ActorId, type: string) {
    super(`${actor} refused a message of type '${type}': types starting with 'xstate.' are reserved by xstate. Rename the message type.`);
  }
}

/** Turns any thrown value into an error payload; errors may carry `where` and `data` for the other side. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof Error) {
    const extra = error as Error & { where?: Record<string, unknown>; data?: Record<string, unknown> };
    return { name: error.name, message: error.message, where: extra.where, data: extra.data };
  }
  return { name: 'Error', message: String(error) };
}

interface TrackedTimer {
  source: AnyActorRef;
  target: AnyActorRef;
  event: { type: string };
  xstateId: string;
  dueAt: number;
}

const NO_TIMERS: TrackedTimer[] = [];

/** The send seq of a request the runtime delivered (actors may also reply to a kept `{ id, from }`, which has none). */
const sendSeqOf = (request: Envelope | undefined) => (request instanceof PostedEnvelope ? request.seq : NO_SEQ);

type SchedulerLike = { schedule: (s: AnyActorRef, t: AnyActorRef, e: any, delay: number, id: string | undefined) => void };

export class ActorCell {
  actor!: Actor<AnyActorLogic>;
  /** Virtual time until which the actor is working (cost model); it receives nothing before. */
  busyUntil = 0;
  crashed = false;
  /** Virtual time of the last crash, and the state the actor was in (for liveness reports). */
  crashedAt = 0;
  stateAtCrash = '';
  /** Messages handled so far (for `afterMessages` crashes). */
  handled = 0;
  /** Messages sent so far: the n in message ids `id:n`. */
  messagesSent = 0;
  readonly io: ActorIO;

  /** Messages sent during the current turn, posted when it ends (one array, reused turn after turn). */
  private readonly outbox: PostedEnvelope[] = [];
  private inTurn = false;
  /** The message the current turn handles (null for timers, starts and restarts). */
  private request: PostedEnvelope | null = null;
  /** `timer:<id>` when the current turn is a timer firing. */
  private timerCause: string | null = null;
  private cost = 0;
  private readonly timers = new Map<number, TrackedTimer>();
  private taggingNext: Omit<TrackedTimer, 'dueAt'> | null = null;
  private crashSnapshot: unknown;
  private crashTimers: TrackedTimer[] = [];
  /** Made on first use: most actors keep nothing on disk. */
  private disk: ActorStorage | null = null;

  constructor(
    private readonly host: CellHost,
    readonly id: ActorId,
    readonly logic: AnyActorLogic,
    private readonly input: Record<string, unknown> = {},
  ) {
    const cell = this;
    this.io = {
      id,
      now: () => host.clock.now(),
      send: (to, type, payload, options) => cell.enqueue(to, type, payload, undefined, options),
      reply: (request, type, payload, options) => cell.enqueue(request.from, type, payload, request, options),
      replyError: (request, error, options) => cell.enqueue(request.from, ERROR_REPLY, toErrorPayload(error), request, options),
      rng: (name) => host.rng(`actor/${id}/${name}`),
      derivedRng: (name) => host.derivedRng(`actor/${id}/${name}`),
      get storage() {
        return cell.storage;
      },
      busy: (ms) => {
        if (!(ms >= 0)) throw new RangeError(`${id}: io.busy(${ms}): the cost must be a non-negative number of virtual ms`);
        cell.cost += ms;
      },
      get current() {
        return cell.request;
      },
      policies: host.policies,
      mark: (label, data) => host.record({ ev: 'mark', label, data: { actor: id, ...data } }),
    };
  }

  /** Creates and starts the actor (its entry actions run as the first turn). */
  start(): void {
    this.turn(null, null, () => this.boot(undefined, []));
  }

  /** Delivers one message. */
  receive(envelope: PostedEnvelope): void {
    this.handled++;
    this.turn(envelope, null, undefined);
  }

  /** Stops the actor as a process crash would; keeps what a restart with state needs. */
  crash(): void {
    if (this.crashed) return;
    this.crashSnapshot = this.logic.getPersistedSnapshot(this.actor.getSnapshot());
    this.crashedAt = this.host.clock.now();
    this.stateAtCrash = describeState(this.actor.getSnapshot());
    this.crashTimers = [...this.timers.values()];
    this.actor.stop();
    this.timers.clear();
    this.crashed = true;
    this.busyUntil = 0;
  }

  /** The actor's durable storage (also for inspection). */
  get storage(): ActorStorage {
    if (this.disk === null) {
      this.disk = new ActorStorage();
      if (this.inTurn) this.disk.beginTurn();
    }
    return this.disk;
  }

  restart(loseState: boolean, loseStorage = false): void {
    if (!this.crashed) return;
    this.crashed = false;
    if (loseStorage) this.disk?.wipe();
    const snapshot = loseState ? undefined : this.crashSnapshot;
    const timers = loseState ? [] : this.crashTimers;
    this.turn(null, null, () => this.boot(snapshot, timers));
    this.crashSnapshot = undefined;
    this.crashTimers = [];
  }

  /** The xstate snapshot (for inspection). */
  snapshot(): any {
    return this.actor.getSnapshot();
  }

  private enqueue(to: ActorId, type: string, payload: unknown, request: Envelope | undefined, options: SendOptions | undefined): string {
    const envelope = new PostedEnvelope(
      this.id,
      this.messagesSent++,
      to,
      type,
      payload,
      this.cause(),
      this.request === null ? NO_SEQ : this.request.seq,
      request?.id,
      sendSeqOf(request),
      options?.digest,
      options?.bytes,
    );
    if (this.inTurn) this.outbox.push(envelope);
    else this.host.post(envelope, this.host.clock.now());
    return messageId(envelope.from, envelope.serial); // not envelope.id: that would keep the string on the envelope while it waits
  }

  /** What the messages sent in the current turn name as their cause (the id string is made only now). */
  private cause(): string | null {
    return this.request === null ? this.timerCause : this.request.id;
  }

  /**
   * Runs one transactional turn: `body`, or when it is omitted the delivery of `request`
   * to the actor. `request` (the delivered message, if any) gets an error reply when the
   * turn fails.
   */
  private turn(request: PostedEnvelope | null, timerCause: string | null, body: (() => void) | undefined): void {
    const before = this.actor?.getSnapshot();
    const timersBefore = this.timers.size ? [...this.timers.values()] : NO_TIMERS;
    this.inTurn = true;
    this.disk?.beginTurn();
    clearArray(this.outbox);
    this.request = request;
    this.timerCause = timerCause;
    this.cost = 0;
    try {
      this.runTurn(request, body, before, timersBefore);
    } finally {
      this.request = null;
      this.timerCause = null;
    }
  }

  private runTurn(request: PostedEnvelope | null, body: (() => void) | undefined, before: unknown, timersBefore: TrackedTimer[]): void {
    let failure: unknown;
    let failed = false;
    try {
      if (body) body();
      else if (request!.type.startsWith('xstate.')) throw new ReservedMessageTypeError(this.id, request!.type);
      else this.actor.send(request!); // an envelope is its own ActorMessage
      const snapshot = this.actor.getSnapshot();
      if (snapshot.status === 'error') {
        failed = true;
        failure = snapshot.error;
      }
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.inTurn = false;
    const now = this.host.clock.now();
    if (failed) {
      this.disk?.abortTurn();
      clearArray(this.outbox);
      if (before) this.rollback(before, timersBefore);
      const payload = toErrorPayload(failure);
      this.host.record({ ev: 'error', actor: this.id, msg: this.cause(), error: payload.name, message: payload.message });
      if (request && request.type !== ERROR_REPLY && request.inReplyTo === undefined) {
        const reply = new PostedEnvelope(this.id, this.messagesSent++, request.from, ERROR_REPLY, payload, this.cause(), request.seq, request.id, request.seq, undefined, undefined);
        this.host.post(reply, now);
      }
      if (!before) throw failure; // the actor could not even start: nothing to roll back to
      return;
    }
    this.disk?.commitTurn();
    const sendTime = now + this.cost;
    if (this.cost > 0) {
      this.busyUntil = Math.max(this.busyUntil, sendTime);
      this.host.noteBusyUntil(this.busyUntil);
    }
    const outbox = this.outbox;
    for (let i = 0; i < outbox.length; i++) this.host.post(outbox[i], sendTime);
    clearArray(outbox);
  }

  private rollback(before: unknown, timersBefore: TrackedTimer[]): void {
    if (this.actor.getSnapshot().status !== 'error') this.actor.stop();
    this.timers.clear();
    this.boot(this.logic.getPersistedSnapshot(before as any), timersBefore);
  }

  /** Creates the xstate actor (fresh, or from a persisted snapshot) and re-arms the given timers. */
  private boot(snapshot: unknown, timers: TrackedTimer[]): void {
    const cell = this;
    const clock = {
      setTimeout: (fn: () => void, ms: number) => {
        const tag = cell.taggingNext;
        const timerId: number = cell.host.clock.schedule(() => cell.fireTimer(timerId, fn), ms, cell.id);
        if (tag) cell.timers.set(timerId, { ...tag, dueAt: cell.host.clock.now() + Math.max(0, ms || 0) });
        return timerId;
      },
      clearTimeout: (timerId: number) => {
        cell.timers.delete(timerId);
        cell.host.clock.clearTimeout(timerId);
      },
    };
    const actor = createActor(this.logic, {
      id: this.id,
      clock,
      input: { ...this.input, io: this.io },
      ...(snapshot === undefined ? {} : { snapshot: snapshot as any }),
    });
    // Track xstate's delayed events so a rollback or a restart with state can re-arm them.
    const scheduler = actor.system.scheduler as SchedulerLike;
    const schedule = scheduler.schedule.bind(scheduler);
    scheduler.schedule = (source, target, event, delay, xstateId) => {
      cell.taggingNext = { source, target, event, xstateId: xstateId ?? event.type };
      try {
        schedule(source, target, event, delay, xstateId);
      } finally {
        cell.taggingNext = null;
      }
    };
    // Without an error observer xstate rethrows actor errors on a real timer; we handle them per turn.
    actor.subscribe({ error: () => {} });
    this.actor = actor;
    actor.start();
    const now = this.host.clock.now();
    for (const timer of timers) {
      const self = timer.source === timer.target;
      const source = self ? actor : timer.source;
      scheduler.schedule(source, self ? actor : timer.target, timer.event, Math.max(0, timer.dueAt - now), timer.xstateId);
    }
  }

  private fireTimer(timerId: number, fn: () => void): void {
    this.timers.delete(timerId);
    if (this.crashed) return;
    this.host.record({ ev: 'timer', actor: this.id, timer: timerId });
    this.turn(null, `timer:${timerId}`, fn);
  }
}
