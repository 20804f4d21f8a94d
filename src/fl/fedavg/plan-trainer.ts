/**
 * FedAvg's `localTrainer: 'plan'`: a client's "train E epochs with batch B" run as a
 * training Plan (forward, loss, gradients, SGD update recorded once as an op list),
 * looped over every minibatch of every epoch by `plan.train(...)` — the same loop a
 * worker runs for one `runPlanLoop` message, so a fit costs the same messages for
 * any number of batches.
 *
 * The plan is the spec's network written with plan layers: `nn.linear(in, out)` per
 * dense layer (ReLU between them for an mlp). Its parameters, in namedParameters()
 * order (`layers.0.weight`, `layers.0.bias`, `layers.1.weight`, …), have the same
 * order and layout ([in, out] kernels, row-major) as the built-in model's weights
 * (`dense0/kernel`, `dense0/bias`, …), so the global weights load as they are and the
 * trained parameters are the update as they are.
 *
 * Scope: linear / logistic / mlp specs, each with its own loss (MSE; softmax
 * cross-entropy), plain SGD. Momentum, Nesterov, Adam and FedProx's proximal term
 * are the direct trainer's (`localTrainer: 'direct'`, trainLocal).
 *
 * Plans are built lazily, once per (spec, lr) for the whole run, and kept in the
 * run's ModelWorkspace (every fit sets the parameters first, as with the scratch
 * models), so memory does not grow with the number of clients.
 */
import * as tf from '@tensorflow/tfjs';
import { createStream } from '../../runtime/rng.js';
import { F, Plan, nn, trainingPlan, type Linear } from '../../pointers/plans/index.js';
import { FlConfigError, FlInvariantError } from '../errors.js';
import { builtinParams } from '../models/builtin-model.js';
import { type ModelSpec, defaultLoss, inputSize, outputSize } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import { type Dataset, datasetSize, targetTensor } from '../training/dataset.js';
import type { OptimizerConfig } from '../training/optimizers.js';
import type { TrainConfig } from '../training/train-local.js';
import type { RandomStream } from '../../runtime/rng.js';

export type LocalTrainerKind = 'direct' | 'plan';

const PLAN_KINDS = ['linear', 'logistic', 'mlp'] as const;

/** Why `localTrainer: 'plan'` cannot run these settings (undefined: it can). */
export function planTrainerProblem(
  spec: ModelSpec,
  settings: { optimizer?: OptimizerConfig; loss?: string; proxMu?: number },
): string | undefined {
  const use = "or use localTrainer: 'direct'";
  if (!(PLAN_KINDS as readonly string[]).includes(spec.kind)) {
    return `model kind '${spec.kind}' is not supported (it supports ${PLAN_KINDS.join(', ')}); use one of those, ${use}`;
  }
  const o = settings.optimizer;
  if (o !== undefined && o !== 'sgd' && (o.name !== 'sgd' || (o.momentum ?? 0) > 0 || o.nesterov)) {
    return `optimizer ${JSON.stringify(o)} is not supported (plans train with plain SGD, w ← w − lr·g); use optimizer 'sgd' without momentum, ${use}`;
  }
  const loss = defaultLoss(spec);
  if (settings.loss !== undefined && settings.loss !== loss) {
    return `loss '${settings.loss}' is not supported for a '${spec.kind}' model (the plan trains with its spec's loss, '${loss}'); drop the loss setting, ${use}`;
  }
  if ((settings.proxMu ?? 0) > 0) {
    return `FedProx's proximal term (mu = ${settings.proxMu}) is not supported; use strategy 'fedavg' (or fedprox with mu 0), ${use}`;
  }
  return undefined;
}

/** The spec's network as a Plan: dense layers, ReLU between them. */
class SpecNet extends Plan {
  layers: Linear[];

  constructor(widths: readonly number[]) {
    // The initial values are overwritten by every fit: a fixed stream, no draw from the simulation's.
    super({ name: 'fedavg_client', rng: createStream(0, 'fedavg/plan-trainer/init') });
    this.layers = widths.slice(1).map((out, i) => nn.linear(widths[i], out));
  }

  override forward(x: any): any {
    return this.layers.reduce((h, layer, i) => {
      const z = layer(h);
      return i + 1 < this.layers.length ? F.relu(z) : z;
    }, x);
  }
}

export interface SpecTrainingPlan {
  model: Plan;
  plan: Plan;
  dispose(): void;
}

function widthsOf(spec: ModelSpec): number[] {
  switch (spec.kind) {
    case 'linear':
      return [spec.inputs, spec.outputs];
    case 'logistic':
      return [spec.inputs, spec.classes];
    case 'mlp':
      return [...spec.layers];
    default:
      throw new FlConfigError(`localTrainer 'plan': ${planTrainerProblem(spec, {})}`, { field: 'localTrainer', model: spec.kind });
  }
}

/** Builds the training plan of `spec` (one SGD step with learning rate `lr`). */
export function buildSpecTrainingPlan(spec: ModelSpec, lr: number): SpecTrainingPlan {
  const widths = widthsOf(spec);
  const model = new SpecNet(widths);
  // Same parameter order and shapes as the built-in model: the weights need no reordering.
  const shapes = model.namedParameters().map(([, v]) => v.shape);
  const expected = builtinParams(spec as Exclude<ModelSpec, { kind: 'layers' }>).map((p) => p.shape);
  if (JSON.stringify(shapes) !== JSON.stringify(expected)) {
    model.dispose();
    throw new FlInvariantError(`localTrainer 'plan': plan parameters ${JSON.stringify(shapes)} do not match the '${spec.kind}' model's ${JSON.stringify(expected)}`, {
      op: 'buildSpecTrainingPlan',
      model: spec.kind,
    });
  }
  const loss = defaultLoss(spec) === 'mse' ? 'mse' : 'softmaxCrossEntropy';
  const plan = trainingPlan(model, { loss, optimizer: { lr }, argsShape: [[-1, widths[0]], [-1, widths[widths.length - 1]]] });
  return {
    model,
    plan,
    dispose: () => {
      plan.dispose();
      model.dispose();
    },
  };
}

export interface PlanFitResult {
  weights: Weights;
  numSamples: number;
  meanLoss: number;
  samplesSeen: number;
}

/** One fit with the plan trainer: load `globalWeights`, run E epochs of batch B through `plan.train`, read the parameters back. */
export function planFit(
  trainer: SpecTrainingPlan,
  spec: ModelSpec,
  data: Dataset,
  globalWeights: readonly Float32Array[],
  config: TrainConfig,
  rng: RandomStream,
  where: string,
): PlanFitResult {
  const problem = planTrainerProblem(spec, config);
  if (problem) throw new FlConfigError(`${where}: localTrainer 'plan': ${problem}`, { at: where, field: 'localTrainer' });
  const loss = defaultLoss(spec);
  const d = inputSize(spec);
  const k = outputSize(spec as Exclude<ModelSpec, { kind: 'layers' }>);
  const n = datasetSize(data, { inputSize: d, outputSize: k }, loss, where);
  trainer.model.setParameters(globalWeights);
  if (n === 0) return { weights: trainer.model.getParameters(), numSamples: 0, meanLoss: 0, samplesSeen: 0 };
  const x = tf.tensor2d(data.x, [n, d], 'float32');
  const y = targetTensor(data, n, k, loss);
  try {
    const result = trainer.plan.train(x, y, { epochs: config.epochs, batchSize: config.batchSize, dropLast: config.dropLast, rng });
    return { weights: trainer.model.getParameters(), numSamples: n, meanLoss: result.meanLoss, samplesSeen: result.samples };
  } finally {
    tf.dispose([x, y]);
  }
}
