/**
 * Messages of remote training: models on workers, optimisers on workers, and the
 * shuffled indices a federated data loader batches with (issue #4).
 *
 * All are one-way (pipelined, answered only when they fail): object ids are chosen
 * by the sender, as for `command`, so `modelPtr.forward(x)` returns its result
 * pointer at once and `opt.step()` is a statement.
 *
 * A model on a worker is its parameters — ordinary objects of the store, kept as
 * trainable variables that track gradients — plus a record (its forward program and
 * which objects are its parameters). So `modelPtr.parameters()` are plain pointers,
 * `get`/`move` of a model are gets and moves of those objects, and the autograd tape
 * needs nothing new.
 */
import { z } from 'zod';
import { ForwardProgramSchema } from './forward-program.js';
import { OptimizerRuleSchema } from './optimizer-rule.js';
import { ActorIdSchema, IdSchema, TensorSchema } from './schema-primitives.js';

const ParamIdsSchema = z.array(IdSchema).min(1).max(4096);

export const MODEL_MESSAGE_SCHEMAS = {
  /**
   * Store a model under `id`: one parameter per entry of `program.params`. A parameter
   * with a `tensor` is stored as a new trainable variable under its id; one without
   * names an object already on the worker (after a move).
   */
  model: z.strictObject({
    id: IdSchema,
    program: ForwardProgramSchema,
    params: z.array(z.strictObject({ id: IdSchema, tensor: TensorSchema.optional() })).max(4096),
    /** Who may get the new parameters (and what is computed from them); absent: anyone. */
    allowedUsers: z.array(ActorIdSchema).max(1024).optional(),
  }),
  /** Run the model on the tensor `input`; the output (tracked for backward) goes under `resultId`. */
  modelForward: z.strictObject({ id: IdSchema, input: IdSchema, resultId: IdSchema }),
  /** A copy of the model under `newId`, its parameters new variables (same values, no gradients) under `paramIds`. */
  modelCopy: z.strictObject({ id: IdSchema, newId: IdSchema, paramIds: ParamIdsSchema }),
  /** Forget the model; with `params`, delete its parameters too. Unknown ids are ignored. */
  modelDelete: z.strictObject({ id: IdSchema, params: z.boolean() }),
  /** Create an optimiser with this update rule (its state is kept per parameter slot). */
  optimizer: z.strictObject({ id: IdSchema, rule: OptimizerRuleSchema }),
  /** Update the parameters `params` (slot i = params[i]) from their gradients. */
  optimizerStep: z.strictObject({ id: IdSchema, params: ParamIdsSchema }),
  /** Forget the parameters' gradients (PyTorch's zero_grad with set_to_none). */
  optimizerZeroGrad: z.strictObject({ id: IdSchema, params: ParamIdsSchema }),
  /** Forget the optimiser and delete its state. Unknown ids are ignored. */
  optimizerDelete: z.strictObject({ id: IdSchema }),
  /** Store a permutation of 0…n−1 (int32) drawn from the worker's own `shuffle` stream under `resultId`. */
  permutation: z.strictObject({ n: z.number().int().min(0).max(100_000_000), resultId: IdSchema }),
} as const;

export type ModelMessageType = keyof typeof MODEL_MESSAGE_SCHEMAS;

/** Every model message is one-way: answered only when it fails. */
export const MODEL_ONE_WAY_TYPES: readonly ModelMessageType[] = Object.keys(MODEL_MESSAGE_SCHEMAS) as ModelMessageType[];
