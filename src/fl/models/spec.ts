/**
 * Model specifications: what a model *is*, as plain data.
 *
 * A spec plus a list of weight arrays is a complete, serialisable model (see
 * `ModelState`): it can cross a message, sit in a worker's object store, or be
 * written to a scenario file, and `createModel`/`restoreModel` rebuild identical
 * tensors from it. Specs never hold tensors or functions.
 *
 * The built-in kinds follow the models of the FL papers fedsim reproduces:
 *  - `linear`   y = xW + b, trained with MSE (seed 002's `nn.Linear(2, 1)`);
 *  - `logistic` multinomial logistic regression, logits = xW + b, softmax cross-entropy
 *               (FedProx's Synthetic and MNIST models);
 *  - `mlp`      McMahan et al. (2017)'s "2NN": dense layers with ReLU between them;
 *  - `cnn`      McMahan et al. (2017)'s CNN: 5×5 conv 32 'same' + ReLU + 2×2 max-pool,
 *               5×5 conv 64 + ReLU + 2×2 max-pool, dense 512 + ReLU, dense 10
 *               (1,663,370 parameters for 28×28×1 inputs, as in the paper);
 *  - `layers`   any tfjs-layers model, kept as its Keras topology JSON (see layers-model.ts).
 */
import { z } from 'zod';
import { FlConfigError } from '../errors.js';

export type LossName = 'softmax-cross-entropy' | 'cross-entropy' | 'mse';
export const LossNameSchema = z.enum(['softmax-cross-entropy', 'cross-entropy', 'mse']);

const positiveInt = z.number().int().positive();

export const LinearSpecSchema = z.object({ kind: z.literal('linear'), inputs: positiveInt, outputs: positiveInt }).strict();
export const LogisticSpecSchema = z.object({ kind: z.literal('logistic'), inputs: positiveInt, classes: z.number().int().min(2) }).strict();
export const MlpSpecSchema = z.object({
  kind: z.literal('mlp'),
  /** Widths from input to output, e.g. [784, 200, 200, 10]; the last is the number of classes. */
  layers: z.array(positiveInt).min(2),
}).strict();
export const CnnSpecSchema = z.object({
  kind: z.literal('cnn'),
  /** [height, width, channels], NHWC. */
  inputShape: z.tuple([positiveInt, positiveInt, positiveInt]),
  filters: z.tuple([positiveInt, positiveInt]),
  kernelSize: positiveInt,
  hidden: positiveInt,
  classes: z.number().int().min(2),
}).strict();
export const LayersSpecSchema = z.object({
  kind: z.literal('layers'),
  /** The model's Keras topology as `layersModel.toJSON(null, false)` returns it. */
  topology: z.record(z.string(), z.unknown()),
  /** Shape of one sample (the model's input shape without the batch dimension). */
  inputShape: z.array(positiveInt).min(1),
  loss: LossNameSchema,
}).strict();

// Strict: a misspelt or misplaced field (`hidden` on a logistic model) is refused, not ignored.
export const ModelSpecSchema = z.discriminatedUnion('kind', [LinearSpecSchema, LogisticSpecSchema, MlpSpecSchema, CnnSpecSchema, LayersSpecSchema]);

export type LinearSpec = z.infer<typeof LinearSpecSchema>;
export type LogisticSpec = z.infer<typeof LogisticSpecSchema>;
export type MlpSpec = z.infer<typeof MlpSpecSchema>;
export type CnnSpec = z.infer<typeof CnnSpecSchema>;
export type LayersSpec = z.infer<typeof LayersSpecSchema>;
export type ModelSpec = z.infer<typeof ModelSpecSchema>;
export type BuiltinSpec = Exclude<ModelSpec, LayersSpec>;

/** A complete model as data: what a worker stores and what crosses the wire. */
export interface ModelState {
  spec: ModelSpec;
  /** One array per parameter, in the model's parameter order, row-major. */
  weights: Float32Array[];
}

/** `value` checked against a builder's schema; a bad argument is an FlConfigError naming it. */
function built<T>(schema: z.ZodType<T>, value: unknown, builder: string, example: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join('.') || '(arguments)';
  throw new FlConfigError(`${builder}: ${field}: ${issue.message}; e.g. ${example}`, { op: builder, field });
}

/** Spec builders, named after their PyTorch counterparts (`nn.Linear(2, 1)` → `nn.linear(2, 1)`). */
export const nn = {
  linear: (inputs: number, outputs: number): LinearSpec => built(LinearSpecSchema, { kind: 'linear', inputs, outputs }, 'nn.linear', 'nn.linear(2, 1)'),
  logistic: (inputs: number, classes: number): LogisticSpec => built(LogisticSpecSchema, { kind: 'logistic', inputs, classes }, 'nn.logistic', 'nn.logistic(784, 10)'),
  /** McMahan's 2NN is `nn.mlp([784, 200, 200, 10])`. */
  mlp: (layers: number[]): MlpSpec => built(MlpSpecSchema, { kind: 'mlp', layers: [...layers] }, 'nn.mlp', 'nn.mlp([784, 200, 200, 10])'),
  /** McMahan's CNN; the defaults are the paper's (MNIST, 28×28×1, 10 classes). */
  cnn: (options: Partial<Omit<CnnSpec, 'kind'>> = {}): CnnSpec =>
    built(CnnSpecSchema, {
      kind: 'cnn',
      inputShape: options.inputShape ?? [28, 28, 1],
      filters: options.filters ?? [32, 64],
      kernelSize: options.kernelSize ?? 5,
      hidden: options.hidden ?? 512,
      classes: options.classes ?? 10,
    }, 'nn.cnn', 'nn.cnn({ inputShape: [28, 28, 1], classes: 10 })'),
};

/** Validates a spec that came from outside (a message, a file); the error names the bad field. */
export function parseModelSpec(value: unknown, where = 'model spec'): ModelSpec {
  const result = ModelSpecSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.join('.') || '(root)';
    throw new FlConfigError(
      `${where}: not a valid model spec (${field}: ${issue.message}). ` + `Build one with nn.linear / nn.logistic / nn.mlp / nn.cnn, or fromLayers(model).`,
      { at: where, field },
    );
  }
  return result.data;
}

/** Number of input features of one sample. */
export function inputSize(spec: ModelSpec): number {
  switch (spec.kind) {
    case 'linear':
    case 'logistic':
      return spec.inputs;
    case 'mlp':
      return spec.layers[0];
    case 'cnn':
      return spec.inputShape[0] * spec.inputShape[1] * spec.inputShape[2];
    case 'layers':
      return spec.inputShape.reduce((a, b) => a * b, 1);
  }
}

/** Outputs per sample of a built-in spec (classes, or regression targets). */
export function outputSize(spec: BuiltinSpec): number {
  switch (spec.kind) {
    case 'linear':
      return spec.outputs;
    case 'logistic':
    case 'cnn':
      return spec.classes;
    case 'mlp':
      return spec.layers[spec.layers.length - 1];
  }
}

/** The loss a model of this spec is trained with unless told otherwise. */
export function defaultLoss(spec: ModelSpec): LossName {
  if (spec.kind === 'linear') return 'mse';
  if (spec.kind === 'layers') return spec.loss;
  return 'softmax-cross-entropy';
}
