/**
 * Host: what actors, pointers and worker handles need from the world they run in.
 *
 * A host sends and replies (the driver's one-way messages and requests; actors reply
 * through their ActorIO), keeps time and timers, and knows which actor ids it hosts
 * itself. The one thing that differs between hosts is how an awaited answer makes
 * progress: the simulator pumps its scheduler until the reply is delivered (nothing
 * else runs meanwhile, so the run is deterministic); a live host returns at once and
 * the reply arrives through real I/O.
 *
 * SimulationCore is the host of every run. Where actors that are not hosted here live
 * is a Transport's business (transport.ts): none for the in-process simulator, NATS for
 * live runs across processes. Code that holds a Host never needs to know which.
 */
import type { Reply } from '../driver.js';
import type { ActorId } from '../envelope.js';

export interface HostSendOptions {
  /** Digest of the payload, computed by the sender while its tensors are alive. */
  digest?: string;
  /** Would-be wire size of the payload (for link metrics). */
  bytes?: number;
}

export interface HostRequestOptions<T> extends HostSendOptions {
  /** Reject the reply with a RequestTimeoutError after this many ms of the host's clock. */
  timeout?: number;
  /** Turns the reply envelope into the answer (default: its payload). */
  unwrap?: (reply: import('../envelope.js').Envelope) => T;
}

export interface Host {
  /** 'simulation' for the in-process simulator, else the live transport's name ('nats'). */
  readonly transportName: string;
  /** The id of the local worker that scenario code acts as (`me`). */
  readonly driverId: ActorId;
  /** Encode and decode every payload the driver sends (strict mode). */
  readonly strict: boolean;
  /** The host's clock, in ms: virtual in the simulator, real (since the run began) live. */
  now(): number;
  /** A one-way message from the driver; returns its id (`me:n`). */
  send<P>(to: ActorId, type: string, payload: P, options?: HostSendOptions): string;
  /** A request from the driver; awaiting the reply makes the run progress until it arrives. */
  request<T = unknown>(to: ActorId, type: string, payload: unknown, options?: HostRequestOptions<T>): Reply<T>;
  /** Runs `fn` after `ms` of the host's clock (a runtime timer, owned by no actor). */
  setTimer(fn: () => void, ms: number): number;
  clearTimer(id: number): void;
  /** True for every actor of the run, wherever it is hosted. */
  hasActor(id: ActorId): boolean;
  /** True when `id` runs in this process (the driver counts); false for actors hosted elsewhere. */
  isLocal(id: ActorId): boolean;
  /** The ids of the actors hosted in this process, in spawn order (the driver not included). */
  localActorIds(): ActorId[];
  /**
   * How an awaited answer makes progress: called by a Reply that is awaited before it has
   * arrived. The simulator runs steps until `done()` holds (or throws DeadlockError); a live
   * host runs what is due now and returns, leaving the rest to real I/O.
   */
  pumpUntil(done: () => boolean, awaited: string): void;
  /**
   * The awaitable form of pumpUntil, for a wait that is not a reply (the round engine's
   * result): the simulator pumps synchronously, as pumpUntil; a live host resolves when an
   * arrival makes `done()` hold. Either rejects with a DeadlockError when it never can.
   */
  waitUntil(done: () => boolean, awaited: string): Promise<void>;
  /** Records a free-form mark in the event log. */
  mark(label: string, data?: unknown): void;
}
