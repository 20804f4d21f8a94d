/**
 * Errors a worker reports about remote models, optimisers and data batching. Like
 * WorkerError they cross the wire as an ErrorPayload (`name`, `message`, `where`,
 * `data`) and say what happened, where, and what to do. They are a class of their own
 * (rather than more WorkerError names) so this protocol extension stays in its files.
 */
import { publicFacts, ReportedError } from './errors.js';

export const TRAINING_ERROR_NAMES = ['ModelNotFoundError', 'InvalidModelError', 'ForwardShapeError', 'ForwardFailedError', 'OptimizerNotFoundError', 'OptimizerStepError'] as const;
export type TrainingErrorName = (typeof TRAINING_ERROR_NAMES)[number];

export class TrainingWorkerError extends ReportedError<TrainingErrorName> {}

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, '');

/** The worker has no model `id`, or the model's parameters are no longer there. */
export const modelNotFound = (worker: string, id: string, op: string, why?: string) =>
  publicFacts(new TrainingWorkerError(
    'ModelNotFoundError',
    why
      ? `${worker} no longer has model ${id} (needed by ${op}): ${why}. Send the model again (model.send(${worker})), or use the pointer that get(), move() or copy() returned.`
      : `${worker} has no model ${id} (needed by ${op}). It was never sent there, or get(), move(), dispose() or clearObjects() removed it; send it with model.send(${worker}).`,
    { worker, objectId: id, op },
  ));

/** A `model` or `modelCopy` message that cannot be carried out; nothing was stored. */
export const invalidModel = (worker: string, id: string, op: string, detail: string) =>
  publicFacts(new TrainingWorkerError('InvalidModelError', `${worker} refused model ${id} (${op}): ${detail}. The model was not stored (its id holds this refusal).`, { worker, objectId: id, op }));

export const forwardShapeMismatch = (worker: string, id: string, model: string, input: string, detail: string) =>
  publicFacts(new TrainingWorkerError(
    'ForwardShapeError',
    `forward of model ${id} (${model}) on ${worker}: ${detail} (input object ${input}). Reshape the data on the worker (ptr.reshape([n, …])) or send a model built for this input.`,
    { worker, objectId: id, op: 'forward', input },
  ));

export const forwardFailed = (worker: string, id: string, model: string, step: number, stepText: string, cause: unknown) =>
  new TrainingWorkerError(
    'ForwardFailedError',
    `forward of model ${id} (${model}) failed on ${worker} at step ${step} \`${stepText}\`: ${reasonOf(cause)}. Check the input's shape and dtype (ptr.getShape()).`,
    { worker, objectId: id, op: 'forward', step },
    { cause: reasonOf(cause) },
  );

export const optimizerNotFound = (worker: string, id: string, op: string) =>
  publicFacts(new TrainingWorkerError(
    'OptimizerNotFoundError',
    `${worker} has no optimiser ${id} (needed by ${op}). It was created on another worker, disposed, or the worker restarted without its state; create it with new RemoteSGD(params, …) where the parameters are.`,
    { worker, objectId: id, op },
  ));

export const optimizerStepFailed = (worker: string, id: string, op: string, detail: string, slot?: number) =>
  publicFacts(new TrainingWorkerError('OptimizerStepError', `${op} of optimiser ${id} on ${worker} failed${slot === undefined ? '' : ` at parameter slot ${slot}`}: ${detail}. Nothing was changed.`, {
    worker,
    objectId: id,
    op,
    ...(slot === undefined ? {} : { slot }),
  }));

export const forwardInputNotATensor = (worker: string, id: string, model: string, input: string, what: string) =>
  publicFacts(new TrainingWorkerError(
    'ForwardFailedError',
    `forward of model ${id} (${model}) on ${worker}: input object ${input} is ${what}, not a tensor. Pass a pointer to data on ${worker} (e.g. tf.tensor(…).send(${worker})).`,
    { worker, objectId: id, op: 'forward', input },
  ));
