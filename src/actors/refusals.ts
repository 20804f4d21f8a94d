/**
 * What a refused one-way message leaves behind: its failure, under every id it would have
 * created.
 *
 * One-way messages (`x.send(bob)`, `model.send(bob)`, `new RemoteSGD(…)`, a plan's send,
 * a permutation, an SMPC command) name the ids of what they create, and the sender holds
 * pointers to those ids at once. When the worker refuses such a message — over its budget,
 * an invalid plan or model, an optimiser rule it cannot run — the error reply reaches `me`
 * only as an unsolicited answer (`sim.remoteErrors`). So that the cause is not lost, the
 * refusal is also stored under the ids, as a failed command's is: the next await of
 * anything that uses them (get, an op, a forward, a step) rejects with the refusal, naming
 * the worker, the object and the cause, instead of "no object 1 … never stored there".
 *
 * Objects get a FailedResult in the store. Models and optimisers live in their own tables
 * (training-records.ts), so a refused one is remembered there, with the store ids of the
 * parameters it would have made.
 *
 * Left alone: ids already taken (the refusal may be "this id exists": the object there
 * stays), messages that are requests (their sender gets the error as the answer it awaits;
 * an `object` with `ack` is the destination's half of a move, whose refusal goes back to the
 * worker that moves), and commands, plans and forwards, whose handlers store their failures
 * themselves (compute.ts, plans.ts, models.ts), as does a share's delivery (smpc.ts).
 */
import { type ErrorPayload, toErrorPayload } from '../runtime/index.js';
import { type PayloadOf, publicFacts, WorkerError } from '../messages/index.js';
import { FailedResult } from './object-store.js';
import { PUBLIC_LABEL } from './privacy/label.js';
import { trainingRecordsOf } from './training-records.js';
import type { WorkerState } from './worker-state.js';

/** The ids a one-way message creates on the worker. */
interface Created {
  objects: string[];
  model?: string;
  optimizer?: string;
}

const NOTHING: Created = { objects: [] };

/** What each one-way message that creates something would have created (from its validated payload). */
const CREATED_BY: { [T in string]?: (payload: any) => Created } = {
  object: (p: PayloadOf<'object'>) => (p.ack ? NOTHING : { objects: [p.id] }),
  model: (p: PayloadOf<'model'>) => ({ model: p.id, objects: p.params.filter((param) => param.tensor !== undefined).map((param) => param.id) }),
  modelCopy: (p: PayloadOf<'modelCopy'>) => ({ model: p.newId, objects: [...p.paramIds] }),
  optimizer: (p: PayloadOf<'optimizer'>) => ({ optimizer: p.id, objects: [] }),
  permutation: (p: PayloadOf<'permutation'>) => ({ objects: [p.resultId] }),
  smpc: (p: PayloadOf<'smpc'>) => ('resultId' in p ? { objects: [p.resultId] } : NOTHING),
};

/** A model or optimiser that was refused: what its id answers with, and the parameter objects it would have made. */
export interface Refusal {
  readonly error: ErrorPayload;
  readonly objectIds: readonly string[];
}

/**
 * Stores `reported` (already made reportable to the sender) under every id that the refused
 * message `type` would have created and that is still free.
 */
export function leaveRefusal(worker: WorkerState, type: string, payload: unknown, reported: unknown): void {
  const created = CREATED_BY[type]?.(payload) ?? NOTHING;
  if (created.objects.length === 0 && created.model === undefined && created.optimizer === undefined) return;
  const error = toErrorPayload(reported);
  const free = created.objects.filter((id) => !worker.store.has(id));
  for (const id of new Set(free)) worker.store.add({ id, value: new FailedResult(error), requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
  const records = trainingRecordsOf(worker);
  if (created.model !== undefined && !records.models.has(created.model) && !records.refusedModels.has(created.model)) {
    records.refusedModels.set(created.model, { error, objectIds: free });
  }
  if (created.optimizer !== undefined && !records.optimizers.has(created.optimizer) && !records.refusedOptimizers.has(created.optimizer)) {
    records.refusedOptimizers.set(created.optimizer, { error, objectIds: [] });
  }
}

/**
 * The error a message that uses a refused model or optimiser gets: the refusal's own name
 * (ResourceLimitError, InvalidMessageError, …) and cause. The refusal was made reportable
 * when it was stored, so repeating it tells nothing new.
 */
export function refusedError(worker: string, kind: 'model' | 'optimiser', id: string, op: string, refusal: Refusal): WorkerError {
  const root = refusal.error;
  return publicFacts(
    new WorkerError(root.name as 'ResourceLimitError', `${kind} ${id} (needed by ${op}) was refused when it was sent to ${worker}: ${root.message}`, { worker, ...root.where, objectId: id, dependent: op }, root.data),
  );
}

/** Forgets a refused model or optimiser (its delete), with the failures left under its parameter ids. */
export function forgetRefusal(worker: WorkerState, table: Map<string, Refusal>, id: string, withObjects: boolean): boolean {
  const refusal = table.get(id);
  if (!refusal) return false;
  table.delete(id);
  if (withObjects) for (const objectId of refusal.objectIds) if (worker.store.get(objectId)?.value instanceof FailedResult) worker.store.delete(objectId);
  return true;
}
