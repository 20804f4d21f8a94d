/**
 * Transport: how a host reaches actors it does not host itself.
 *
 * The in-process simulator has none: every actor is a cell of one SimulationCore and
 * the scheduler delivers every message. A live transport (NATS) carries envelopes to
 * actors hosted by other processes and hands the core the envelopes that arrive for its
 * own actors; time is then real. The core keeps everything else — fault decisions at
 * send time, recording, the receivers' checks — so a message goes through the same
 * code whichever transport carries it.
 *
 * A new transport is one file implementing this interface plus a line in registry.ts.
 * `announce` and `goneHostOf` are optional: a transport whose hosts never place actors
 * that outlive their process, nor receive from actors the driver spawns, leaves them out.
 */
import type { ActorId, PostedEnvelope } from '../envelope.js';

/** A JSON description of an actor to create on a remote host (functions cannot cross a wire). */
export interface PlacedActorSpec {
  /** What the remote host builds: a name in its actor-kind table (e.g. 'virtual-worker'). */
  kind: string;
  /** JSON-only input for that kind. */
  input: Record<string, unknown>;
  /** The `fedsim worker` flags that offer this actor, for the error when none does (default `--actors <id>`); not sent. */
  workerFlags?: string;
}

/**
 * What becomes of an actor when the process that hosts it is gone (killed, its machine down).
 *
 *   fail-run        the run fails at once, naming the process (a pointer worker: the scenario
 *                   awaits its answers, and nothing else could give them)
 *   lose-messages   the actor is lost as a crashed one is in simulation: what is sent to it from
 *                   then on is recorded as dropped (reason `host-gone`, naming the process) and
 *                   the run goes on (an FL client: the round engine's deadline drops it)
 */
export type HostLossPolicy = 'fail-run' | 'lose-messages';

/** What a transport calls back on the core it serves. */
export interface TransportSink {
  /** An envelope arrived for an actor hosted here (already decoded and validated). */
  accept(envelope: PostedEnvelope): void;
  /** An envelope arrived that this host refuses (not one of its actors, or it failed validation). */
  refuse(envelope: PostedEnvelope | null, reason: 'unknown-actor' | 'invalid', detail: string): void;
  /** The transport cannot go on (connection lost, a placement refused): the run fails with `error`. */
  fail(error: Error): void;
  /** The process `host` that hosted `actors` (placed with HostLossPolicy 'lose-messages') is gone: they are lost. */
  hostGone(host: string, actors: ActorId[]): void;
  /** Local work may be due (an arrival, a timer): run it soon. */
  wake(): void;
  /** True when this host has nothing due or in flight locally. */
  readonly idle: boolean;
}

/**
 * Message counts a host reports when asked whether the whole run is quiet, by sending
 * actor: a frame from a sender that is no actor of the run (a stray or forged one) then
 * cannot make the counts look balanced while a real message is still in flight.
 */
export interface TrafficCount {
  /** Envelopes this host put on the transport, by sender. */
  published: Record<string, number>;
  /** Envelopes it took off the transport (accepted or refused), by sender. */
  received: Record<string, number>;
  /**
   * Envelopes it put on the transport, by receiver and then sender: lets the balance leave out
   * what went to actors whose process is gone (HostLossPolicy 'lose-messages'). Optional: a
   * transport that never loses a host need not count it.
   */
  publishedTo?: Record<string, Record<string, number>>;
}

export interface Transport {
  /** The name the log header and `--transport` use. */
  readonly name: string;
  /** Real ms since the run began (the same origin in every process of the run). */
  now(): number;
  /** Connects the transport to the core it serves (once, when the core is made). */
  attach(sink: TransportSink): void;
  /** True when `id` is hosted by another process of the run. */
  isRemote(id: ActorId): boolean;
  /**
   * Creates actor `id` on the remote host that offers it; a refusal fails the run
   * (TransportSink.fail). `whenHostIsGone` says what losing that host later means (default 'fail-run').
   */
  place(id: ActorId, spec: PlacedActorSpec, whenHostIsGone?: HostLossPolicy): void;
  /** An actor spawned in this process: the run's other processes may now send to it (the driver's FL server, say). */
  announce?(id: ActorId): void;
  /** The process that hosted `id` and is gone (its messages are lost), or undefined while it is there. */
  goneHostOf?(id: ActorId): string | undefined;
  /** Carries an envelope to its remote receiver (fault decisions were made by the core). */
  publish(envelope: PostedEnvelope): void;
  /** Resolves once nothing is in flight anywhere in the run and every host is idle. */
  quiesce(): Promise<void>;
  /** This host's counts (for quiescence). */
  traffic(): TrafficCount;
}
