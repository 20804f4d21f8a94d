/**
 * NatsActorHost: the actors a `fedsim worker` process hosts, on NATS.
 *
 * It listens on the subjects of the actors it was started with. When a driver places one
 * of them (a spawn frame), it starts that run's part in this process — a SimulationCore
 * with a NatsTransport, on the run's real clock — and creates the actor from the
 * placement's kind and JSON input. Envelopes of the run then go to that core, which
 * checks and delivers them exactly as the simulator would; envelopes it refuses (not for
 * an actor hosted here, or failing the transport's checks) are recorded as dropped with
 * the reason. At the end the driver collects the run's recording from here.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { AnyActorLogic } from 'xstate';
import { FedsimError } from '../../errors.js';
import type { ActorId } from '../../envelope.js';
import { parseFaultPlan } from '../../faults/fault-plan.js';
import { SimulationCore } from '../../simulation.js';
import type { WireCodec } from '../wire-codec.js';
import { decodeFrame, encodeJson, type FrameHeader, type SpawnHeader } from './frames.js';
import { NatsTransport } from './nats-transport.js';
import { actorSubject } from './subjects.js';

/** Characters of recorded log lines per chunk a driver collects (well under NATS's 1 MB default payload limit). */
const LOG_CHUNK_CHARS = 256 * 1024;

export interface ActorRoster {
  has(id: ActorId): boolean;
  isWorker(id: ActorId): boolean;
}

/** What a placement is built in: the run's roster, and this process's part of the run (its seed, its rng streams). */
export interface PlacementContext {
  roster: ActorRoster;
  core: SimulationCore;
}

export interface ActorHostOptions {
  connection: NatsConnection;
  run: string;
  /** The actor ids this process offers to host. */
  actors: string[];
  /** This process's name in recordings (e.g. `worker-1234@lab-2`). */
  name: string;
  codec: WireCodec;
  /** Builds an actor of a placed kind from its JSON input (src/pointers/placed-workers.ts, src/fl/experiments/placed-clients.ts). */
  build(kind: string, input: unknown, context: PlacementContext): { logic: AnyActorLogic; input: Record<string, unknown> };
  /** One line per notable thing that happens (placements, refusals, runs ending). */
  report?(line: string): void;
}

interface HostedRun {
  core: SimulationCore;
  transport: NatsTransport;
  /** The recording, cut into chunks once the driver asked for it. */
  chunks?: string[];
}

export class NatsActorHost {
  private readonly runs = new Map<string, HostedRun>();
  private readonly subscriptions: Subscription[] = [];
  /** The run that last placed an actor here: where frames that name no run are recorded as refused. */
  private latest: HostedRun | null = null;

  constructor(private readonly options: ActorHostOptions) {}

  start(): void {
    for (const actor of this.options.actors) {
      const subscription = this.options.connection.subscribe(actorSubject(this.options.run, actor), { callback: (error, msg) => (error ? this.report(`subscription error: ${error.message}`) : this.onMessage(msg)) });
      this.subscriptions.push(subscription);
    }
  }

  /** The runs whose part is still held here (for tests and the worker's status line). */
  get activeRuns(): number {
    return this.runs.size;
  }

  private onMessage(msg: Msg): void {
    let decoded;
    try {
      decoded = decodeFrame(msg.data);
    } catch (error) {
      const detail = `a frame on ${msg.subject}: ${(error as Error).message}`;
      if (this.latest) this.latest.transport.onFrame(msg); // recorded as refused in the run that is going on
      else this.report(`refused ${detail}`);
      if (msg.reply) msg.respond(encodeJson({ ok: false, error: detail }));
      return;
    }
    const { header, body } = decoded;
    if (header.kind === 'spawn') return this.spawn(header, msg);
    const run = this.runs.get(header.session);
    // Sent to every actor of a failed run, hosted here or not: nothing to give up when this process has no part in it.
    if (header.kind === 'abandon') return run ? this.abandon(header.session, run, header.reason) : undefined;
    if (!run) {
      const detail = `a '${header.kind}' frame of run session ${header.session}, which placed no actor here (it ended, or its driver never placed one)`;
      this.report(`refused ${detail}`);
      if (msg.reply) msg.respond(encodeJson({ ok: false, error: detail }));
      return;
    }
    if (header.kind === 'finish') return this.finish(header.session, run, msg);
    if (header.kind === 'log') return this.sendChunk(header.session, run, header.chunk, msg);
    run.transport.onHeader(header, body, msg);
  }

  private spawn(header: SpawnHeader, msg: Msg): void {
    const answer = (value: Record<string, unknown>) => msg.reply && msg.respond(encodeJson(value));
    try {
      if (!this.options.actors.includes(header.actor)) {
        throw new FedsimError(`this worker hosts ${this.options.actors.join(', ')}, not '${header.actor}'`);
      }
      const run = this.runs.get(header.session) ?? this.startRun(header);
      const { logic, input } = this.options.build(header.spec.kind, header.spec.input, { roster: { has: (id) => run.core.hasActor(id), isWorker: (id) => run.transport.isWorker(id) }, core: run.core });
      run.transport.claim(header.actor);
      run.core.spawn(logic, header.actor, { input });
      this.report(`hosting ${header.actor} for run session ${header.session}`);
      answer({ ok: true, host: this.options.name });
    } catch (error) {
      this.report(`refused to create ${header.actor}: ${(error as Error).message}`);
      answer({ ok: false, error: (error as Error).message });
    }
  }

  private startRun(header: SpawnHeader): HostedRun {
    const plan = parseFaultPlan(header.faults, 'the placement of ' + header.actor);
    if (plan.crashes.length > 0) throw new FedsimError('a live run cannot inject crashes from its fault plan (stop a worker process instead)');
    const transport = new NatsTransport({
      connection: this.options.connection,
      run: this.options.run,
      session: header.session,
      origin: header.origin,
      codec: this.options.codec,
      local: [],
      roster: header.roster,
    });
    const core = new SimulationCore({ seed: header.seed, faults: plan, transport, driverId: `~${this.options.name}`, keepLog: true });
    const run: HostedRun = { core, transport };
    this.runs.set(header.session, run);
    this.latest = run;
    return run;
  }

  private finish(session: string, run: HostedRun, msg: Msg): void {
    const lines = run.core.log.eventLines();
    const chunks: string[] = [];
    let chunk: string[] = [];
    let size = 0;
    for (const line of lines) {
      if (size + line.length > LOG_CHUNK_CHARS && chunk.length > 0) {
        chunks.push(chunk.join('\n'));
        chunk = [];
        size = 0;
      }
      chunk.push(line);
      size += line.length + 1;
    }
    if (chunk.length > 0) chunks.push(chunk.join('\n'));
    run.chunks = chunks;
    run.core.failLive(new FedsimError(`run session ${session} ended`));
    run.transport.close();
    msg.respond(encodeJson({ ok: true, events: lines.length, chunks: chunks.length }));
    if (chunks.length === 0) this.forget(session, run);
  }

  private sendChunk(session: string, run: HostedRun, index: number, msg: Msg): void {
    const chunks = run.chunks;
    if (!chunks || index >= chunks.length) {
      msg.respond(encodeJson({ ok: false, error: `no recording chunk ${index} (ask 'finish' first; it has ${chunks?.length ?? 0})` }));
      return;
    }
    msg.respond(encodeJson({ ok: true, text: chunks[index] }));
    if (index === chunks.length - 1) this.forget(session, run);
  }

  /** The driver gave the run up: its part here ends at once and is not kept for a collection that will not come. */
  private abandon(session: string, run: HostedRun, reason: string): void {
    run.core.failLive(new FedsimError(`run session ${session} was given up by its driver: ${reason}`));
    run.transport.close();
    this.forget(session, run, `its driver gave it up (${reason}); its part here is dropped`);
  }

  private forget(session: string, run: HostedRun, why = 'its recording was collected'): void {
    this.runs.delete(session);
    if (this.latest === run) this.latest = null;
    this.report(`run session ${session} ended; ${why}`);
  }

  private report(line: string): void {
    this.options.report?.(line);
  }

  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const run of this.runs.values()) run.core.failLive(new FedsimError('the worker stopped'));
  }
}

export type { FrameHeader };
