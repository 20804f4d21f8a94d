/**
 * Plans on a worker: accepting one (checked as a whole before anything is stored),
 * running it on stored tensors (`runPlan`: one message for all its ops) and training
 * with it (`runPlanLoop`: every minibatch of every epoch in one message).
 *
 * Both runs are transactional like the other handlers: everything is checked and
 * computed first, and the store (results, the plan's new state) changes last, so a
 * failing run leaves the plan and the worker's objects as they were.
 */
import type * as tf from '@tensorflow/tfjs';
import { toErrorPayload } from '../../runtime/index.js';
import {
  checkPlan,
  disposeTensorsIn,
  invalidMessage,
  invalidPlan,
  isPublicFacts,
  notAPlan,
  objectExists,
  type PayloadOf,
  planFailed,
  type PlanWire,
  splitPlan,
  tensorsIn,
  WorkerError,
} from '../../messages/index.js';
import { isTracked } from '../autograd.js';
import { FailedResult, PointerRecord, type StoreEntry } from '../object-store.js';
import { canSee, derivedFrom, isPrivate, PUBLIC_LABEL } from '../privacy/label.js';
import { workerRunner } from '../compute/op-runner.js';
import { checkWorkerAllocations } from '../compute/budget.js';
import { executePlan, PlanOpError } from '../plan-interpreter.js';
import { PlanLoopError, runPlanLoop } from '../plan-loop.js';
import { recordPlanRun } from '../plan-tape.js';
import { StoredPlan } from '../stored-plan.js';
import { failureFor, type Turn, type WorkerState } from '../worker-state.js';
import { failedInput, resolve } from './compute.js';
import { entryOrThrow } from './objects.js';

/**
 * A received plan, checked: every op allowed (with its arity), every name resolving.
 * A refused plan's state tensors are freed and nothing is stored.
 */
export function acceptPlan(worker: WorkerState, id: string, wire: PlanWire): StoredPlan {
  try {
    checkWorkerAllocations(worker, 'plan', `the state of plan ${id}`, tensorsIn(wire.state).map((t) => t.size), id);
  } catch (error) {
    disposeTensorsIn(wire.state);
    throw error;
  }
  const { definition, state } = splitPlan(wire);
  const problem = checkPlan(definition);
  if (problem) {
    disposeTensorsIn(wire.state);
    throw invalidPlan(worker.id, id, definition.name, problem.message, problem.opIndex);
  }
  return new StoredPlan(definition, state);
}

function planOrThrow(worker: WorkerState, id: string, op: string): { plan: StoredPlan; entry: StoreEntry } {
  const entry = entryOrThrow(worker, id, op);
  const { value } = entry;
  if (value instanceof StoredPlan) return { plan: value, entry };
  if (value instanceof FailedResult) throw failedInput(value, id, op);
  throw notAPlan(worker.id, id, op, value instanceof PointerRecord ? `a pointer to ${value.location}:${value.idAtLocation}` : `a tensor of shape [${value.shape}]`);
}

function failure(worker: WorkerState, id: string, plan: StoredPlan, error: unknown, during?: string): Error {
  if (error instanceof WorkerError) return error;
  // A refusal of one op (budget, argument kind, kernel): it says what and where already.
  if (error instanceof PlanOpError && isPublicFacts(error.reason)) return error.reason as Error;
  if (error instanceof PlanOpError) return planFailed(worker.id, id, plan.name, error.opIndex, error.opText, error.reason, during);
  return planFailed(worker.id, id, plan.name, undefined, undefined, error, during);
}

export function handleRunPlan(turn: Turn, payload: PayloadOf<'runPlan'>): void {
  const { worker, mail, envelope } = turn;
  const { planId, args, resultIds } = payload;
  const { store } = worker;
  try {
    const { plan, entry: planEntry } = planOrThrow(worker, planId, 'runPlan');
    const def = plan.definition;
    const signature = `${def.name}(${def.args.map((a) => a.name).join(', ')})`;
    if (args.length !== def.args.length) throw invalidMessage(worker.id, 'runPlan', `plan ${signature} takes ${def.args.length} argument(s), got ${args.length}`, planId);
    if (resultIds.length !== def.outputs.length) {
      throw invalidMessage(worker.id, 'runPlan', `plan ${signature} returns ${def.outputs.length} result(s), but the message names ${resultIds.length} result id(s)`, planId);
    }
    if (new Set(resultIds).size !== resultIds.length) throw invalidMessage(worker.id, 'runPlan', `result ids repeat: [${resultIds.join(', ')}]`);
    for (const id of resultIds) if (store.has(id)) throw objectExists(worker.id, id, 'runPlan');
    const { values, entries } = resolve(worker, 'runPlan', args);
    const label = derivedFrom([planEntry.label, ...entries.map((e) => e.label)], worker.parts);
    let result;
    try {
      result = executePlan(plan.compiled, plan.state, values as tf.Tensor[], workerRunner(worker, isPrivate(label)));
    } catch (error) {
      throw failure(worker, planId, plan, error);
    }
    // Everything computed: now change the store.
    const tapes = plan.compiled.pure && entries.some(isTracked) ? recordPlanRun(plan.compiled, entries, plan.state) : undefined;
    if (result.assigned.size > 0) {
      plan.commit(result.assigned);
      planEntry.label = label; // its state now depends on the arguments: no more visible than they are
    }
    result.outputs.forEach((value, i) => store.add({ id: resultIds[i], value, requiresGrad: false, tape: tapes?.[i], label, tags: [] }));
  } catch (error) {
    // As with commands: dependents of the results fail with this cause, not with "not found".
    const reported = failureFor(turn, error, { op: 'runPlan', objectId: planId });
    const failed = new FailedResult(toErrorPayload(reported));
    for (const id of new Set(resultIds)) if (!store.has(id)) store.add({ id, value: failed, requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
    mail.fail(envelope, reported);
  }
}

export function handleRunPlanLoop(turn: Turn, payload: PayloadOf<'runPlanLoop'>): void {
  const { worker, mail, envelope } = turn;
  const { planId, epochs, batchSize } = payload;
  const { plan, entry: planEntry } = planOrThrow(worker, planId, 'runPlanLoop');
  const def = plan.definition;
  if (def.args.length !== 2) {
    throw invalidMessage(worker.id, 'runPlanLoop', `plan '${def.name}' takes ${def.args.length} argument(s); a training loop runs a plan of two, (x, y), on minibatches of data and target`, planId);
  }
  const { values, entries } = resolve(worker, 'runPlanLoop', [{ ref: payload.data }, { ref: payload.target }]);
  const [data, target] = values as tf.Tensor[];
  if (data.rank === 0 || target.rank === 0 || data.shape[0] !== target.shape[0]) {
    throw invalidMessage(worker.id, 'runPlanLoop', `data [${data.shape}] and target [${target.shape}] must both have one row per sample (the same first dimension)`, planId);
  }
  const label = derivedFrom([planEntry.label, ...entries.map((e) => e.label)], worker.parts);
  let result;
  try {
    const rng = payload.shuffle === false ? undefined : turn.io.rng(payload.shuffleStream ?? 'shuffle');
    result = runPlanLoop(plan.compiled, plan.state, data, target, { epochs, batchSize, dropLast: payload.dropLast, rng, runner: workerRunner(worker, isPrivate(label)) });
  } catch (error) {
    if (!(error instanceof PlanLoopError)) throw failure(worker, planId, plan, error, 'runPlanLoop');
    throw failure(worker, planId, plan, error.reason, error.during);
  }
  // Every batch succeeded: the plan takes its new state.
  plan.commit(result.changed);
  const { meanLoss, steps, samples } = result;
  // Its state now depends on the data: no more visible than the data is.
  if (steps > 0) planEntry.label = label;
  // The mean loss is computed from the data: it goes back only to someone who may see the data.
  const loss = canSee(label, envelope.from) && Number.isFinite(meanLoss) ? meanLoss : null;
  mail.reply(envelope, { kind: 'planLoop', meanLoss: loss, steps, samples });
}
