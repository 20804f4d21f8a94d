/**
 * Everything a virtual worker keeps between messages: its objects, and the requests
 * it forwarded to other workers (move, remoteGet) whose answers it still awaits.
 */
import type { ActorIO, Envelope } from '../runtime/index.js';
import { ObjectStore, type StoreEntry } from './object-store.js';
import type { RequestRef, WorkerMail } from './worker-mail.js';

/** A request this worker passed on; keyed by the id of the message it sent. */
export type Forward =
  | { kind: 'move'; request: RequestRef; objectId: string; entry: StoreEntry; to: string }
  | { kind: 'remoteGet'; request: RequestRef; objectId: string; entry: StoreEntry };

export interface WorkerConfig {
  /** Whether an actor id names an actor that can receive messages (a move to nowhere is refused up front). */
  isPeer: (id: string) => boolean;
}

export class WorkerState {
  readonly store = new ObjectStore();
  readonly forwards = new Map<string, Forward>();

  constructor(
    readonly id: string,
    readonly config: WorkerConfig,
  ) {}

  /** Whether a move of this object is already waiting for its destination's answer. */
  moving(objectId: string): boolean {
    for (const forward of this.forwards.values()) if (forward.kind === 'move' && forward.objectId === objectId) return true;
    return false;
  }
}

/** What a handler works with while it handles one message. */
export interface Turn {
  readonly worker: WorkerState;
  readonly mail: WorkerMail;
  readonly envelope: Envelope;
  /** The actor's runtime handle: its own random streams (`io.rng('shuffle')`) for handlers that draw. */
  readonly io: ActorIO;
}
