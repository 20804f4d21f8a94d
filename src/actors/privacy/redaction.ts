/**
 * Error reports that cannot carry private data.
 *
 * A worker's error texts come from two kinds of source. Some are built by fedsim from facts
 * the asker already has — ids, op names, shapes and dtypes (every shape on a worker follows
 * from shapes and literal arguments `me` chose; see argumentKind), permission refusals —
 * and are marked as such (`publicFacts`). The others carry a cause from a computation: a
 * tfjs error text, an encoding overflow, a kernel's complaint; those may quote the values
 * computed on (`GatherV2: the index value 4817263 is not in [0, 2]`).
 *
 * When the work that failed read private data the asker may not see (the store's read
 * trail, object-store.ts), a computed error is replaced by a redacted one: same name,
 * where it happened, that the cause is withheld — nothing else. The full error stays on the
 * worker, for its owner (`sim.inspect(worker).privateFailures`). Every failure a worker
 * reports — error replies, failures stored for dependents, warnings to SMPC peers — goes
 * through `reportable`.
 */
import { isPublicFacts, publicFacts, ReportedError } from '../../messages/index.js';
import type { WorkerState } from '../worker-state.js';
import { canSee, type Label } from './label.js';

export { isPublicFacts, publicFacts };

export interface FailureSite {
  op: string;
  objectId?: string;
}

/** `error`, or — when it may carry values of private data `asker` may not see — its redacted form (the full one is kept on the worker). */
export function reportable(worker: WorkerState, error: unknown, read: Label, asker: string, site: FailureSite): unknown {
  if (canSee(read, asker) || isPublicFacts(error)) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  worker.notePrivateFailure({ op: site.op, objectId: site.objectId, name, message });
  const where = { worker: worker.id, op: site.op, ...(site.objectId === undefined ? {} : { objectId: site.objectId }) };
  return publicFacts(
    new ReportedError(
      name === 'Error' || name === 'RangeError' || name === 'TypeError' ? 'OpFailedError' : name,
      `${site.op} failed on ${worker.id}${site.objectId === undefined ? '' : ` (object ${site.objectId})`}: it read data private to [${(read.allowedUsers ?? []).join(', ')}], ` +
        `so the cause is not reported to ${asker} (an error text can quote the values it failed on). ` +
        `The worker's owner can read it: sim.inspect(${worker.id}).privateFailures.`,
      where,
      { redacted: true },
    ),
  );
}
