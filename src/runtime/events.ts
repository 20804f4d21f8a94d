/**
 * Simulation events: everything that happens in a run, in the order it happens.
 *
 * Each event is one line of the canonical log. Events refer to messages by id and
 * carry the payload only as a type and a digest, so logs stay small and comparable.
 */
import type { ActorId, Envelope } from './envelope.js';

interface EventBase {
  /** Contiguous from 0 within a run. */
  seq: number;
  /** Virtual time (ms). Non-decreasing along the log. */
  t: number;
}

interface MessageEventBase extends EventBase {
  msg: string;
  from: ActorId;
  to: ActorId;
  type: string;
  cause: string | null;
  /** The envelope itself (kept in memory only; never written to the log). */
  envelope: Envelope;
}

export interface SentEvent extends MessageEventBase {
  ev: 'sent';
  deliverAt: number;
}
export interface DeliveredEvent extends MessageEventBase {
  ev: 'delivered';
}
export interface DroppedEvent extends MessageEventBase {
  ev: 'dropped';
  /**
   * 'invalid': a live host refused an envelope that failed the transport's validation.
   * 'host-gone': live, the receiver's process is gone (`goneHost` names it; transport.ts HostLossPolicy).
   */
  reason: 'fault' | 'crashed' | 'partition' | 'unknown-actor' | 'stopped' | 'invalid' | 'host-gone';
  goneHost?: string;
}
export interface DuplicatedEvent extends MessageEventBase {
  ev: 'duplicated';
  deliverAt: number;
  /** The copy's delay after the original (what a scripted fault's `duplicateAfter` reproduces). */
  after: number;
}
export interface DelayedEvent extends MessageEventBase {
  ev: 'delayed';
  by: number;
}
export interface ReorderedEvent extends MessageEventBase {
  ev: 'reordered';
}
export interface HandlerErrorEvent extends EventBase {
  ev: 'error';
  actor: ActorId;
  msg: string | null;
  error: string;
  message: string;
}
export interface CrashedEvent extends EventBase {
  ev: 'crashed';
  actor: ActorId;
  reason: 'fault-plan' | 'api';
}
export interface RestartedEvent extends EventBase {
  ev: 'restarted';
  actor: ActorId;
  stateKept: boolean;
  /** Present (false) only when the restart also lost the actor's durable storage. */
  storageKept?: false;
}
export interface SpawnedEvent extends EventBase {
  ev: 'spawned';
  actor: ActorId;
}
export interface TimerEvent extends EventBase {
  ev: 'timer';
  actor: ActorId | null;
  timer: number;
}
export interface PartitionEvent extends EventBase {
  ev: 'partition-start' | 'partition-end';
  groups: ActorId[][];
}
/** A free-form mark from scenario code (`sim.mark('round 3 done', {...})`). */
export interface MarkEvent extends EventBase {
  ev: 'mark';
  label: string;
  data?: unknown;
}

export type MessageEvent = SentEvent | DeliveredEvent | DroppedEvent | DuplicatedEvent | DelayedEvent | ReorderedEvent;

export type SimEvent =
  | MessageEvent
  | HandlerErrorEvent
  | CrashedEvent
  | RestartedEvent
  | SpawnedEvent
  | TimerEvent
  | PartitionEvent
  | MarkEvent;

export type SimEventKind = SimEvent['ev'];

/** Events distributed over a union, without the fields the recorder fills in. */
export type SimEventInit = SimEvent extends infer E ? (E extends SimEvent ? Omit<E, 'seq' | 't'> : never) : never;

/** The fields every message event takes from its envelope. */
export function messageFields(envelope: Envelope): Pick<MessageEventBase, 'msg' | 'from' | 'to' | 'type' | 'cause' | 'envelope'> {
  return { msg: envelope.id, from: envelope.from, to: envelope.to, type: envelope.type, cause: envelope.cause, envelope };
}

export function isMessageEvent(e: SimEvent): e is MessageEvent {
  return 'envelope' in e;
}

/**
 * The `sent` and `delivered` events — two per message, the bulk of every log — as slim
 * records: four fields of their own, the rest read from the envelope. A long run keeps
 * hundreds of thousands of them in memory, and half the fields halves the garbage
 * collector's work. They read exactly like the plain-object events.
 */
export class MessageEventRecord {
  constructor(
    public seq: number,
    public t: number,
    readonly ev: 'sent' | 'delivered',
    readonly envelope: Envelope,
  ) {}
  get msg(): string {
    return this.envelope.id;
  }
  get from(): ActorId {
    return this.envelope.from;
  }
  get to(): ActorId {
    return this.envelope.to;
  }
  get type(): string {
    return this.envelope.type;
  }
  get cause(): string | null {
    return this.envelope.cause;
  }
  get deliverAt(): number {
    return this.envelope.deliverAt;
  }
}
