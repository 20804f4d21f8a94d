/**
 * Everything a virtual worker keeps between messages: its objects, and the requests
 * it forwarded to other workers (move, remoteGet) whose answers it still awaits.
 */
import type { ActorIO, Envelope } from '../runtime/index.js';
import { ObjectStore, type StoreEntry } from './object-store.js';
import type { RequestRef, WorkerMail } from './worker-mail.js';
import { type FailureSite, reportable } from './privacy/redaction.js';
import { PartIds } from './privacy/label.js';
import type { WorkerBudget } from './compute/budget.js';

/** A request this worker passed on; keyed by the id of the message it sent. `asked`: the only actor whose answer counts. */
export type Forward =
  | { kind: 'move'; request: RequestRef; objectId: string; entry: StoreEntry; to: string; asked: string }
  | { kind: 'remoteGet'; request: RequestRef; objectId: string; entry: StoreEntry; reserved: number; asked: string };

export interface WorkerConfig {
  /** Whether an actor id names an actor that can receive messages (a move to nowhere is refused up front). */
  isPeer: (id: string) => boolean;
  /**
   * Whether an actor id names a worker of the federation, whose privacy labels this worker
   * believes (what a moved object or a share is a sum of). Anyone else's private data
   * counts as the sender's own contribution.
   */
  isWorker: (id: string) => boolean;
  /** How many tensor elements the worker may make and hold (compute/budget.ts). */
  budget: WorkerBudget;
}

/** A failure of a computation on private data, kept for the worker's owner (the requester got it without its cause). */
export interface PrivateFailure {
  op: string;
  objectId?: string;
  name: string;
  message: string;
}

/** How many private failures a worker keeps for inspection (the oldest go first). */
const PRIVATE_FAILURES_KEPT = 100;

export class WorkerState {
  readonly store = new ObjectStore();
  /** Mints the part ids of the values this worker makes (privacy/label.ts). */
  readonly parts: PartIds;
  readonly forwards = new Map<string, Forward>();
  /** Full causes of failures on private data, for `sim.inspect(worker).privateFailures`. */
  readonly privateFailures: PrivateFailure[] = [];
  /** Why the worker stopped serving (a kernel failure that broke the backend), or null while it serves. */
  failure: string | null = null;

  constructor(
    readonly id: string,
    readonly config: WorkerConfig,
    /** Names this incarnation of the worker's state in its part ids (see PartIds): a new one after a crash that loses memory. */
    incarnation: string,
  ) {
    this.parts = new PartIds(id, incarnation);
  }

  /** Stops serving: every later message is answered with a WorkerFailedError naming `reason`. */
  markFailed(reason: string): void {
    this.failure ??= reason;
  }

  /** Keeps the full cause of a failure whose report was redacted. */
  notePrivateFailure(failure: PrivateFailure): void {
    this.privateFailures.push(failure);
    if (this.privateFailures.length > PRIVATE_FAILURES_KEPT) this.privateFailures.shift();
  }

  /** Whether a move of this object is already waiting for its destination's answer. */
  moving(objectId: string): boolean {
    for (const forward of this.forwards.values()) if (forward.kind === 'move' && forward.objectId === objectId) return true;
    return false;
  }
}

/**
 * A failure of the work under way, as it may be reported to `asker` (default: the sender of
 * the message being handled): redacted when the work read private data the asker may not see.
 */
export function failureFor(turn: Turn, error: unknown, site: FailureSite, asker: string = turn.envelope.from): unknown {
  return reportable(turn.worker, error, turn.worker.store.trailLabel(), asker, site);
}

/** What a handler works with while it handles one message. */
export interface Turn {
  readonly worker: WorkerState;
  readonly mail: WorkerMail;
  readonly envelope: Envelope;
  /** The actor's runtime handle: its own random streams (`io.rng('shuffle')`) for handlers that draw. */
  readonly io: ActorIO;
}
