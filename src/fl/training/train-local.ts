/**
 * Local training: E epochs of minibatch gradient descent on one client's data.
 *
 * The built-in models (dense and cnn) train in fedsim's fused wasm kernels where they can
 * (fused-dense-train.ts: same batches and update rule, ~10 calls a step instead of ~60 tfjs ops).
 *
 * Deterministic by construction: the only randomness is the per-epoch shuffle,
 * drawn from the RandomStream passed in (one Fisher–Yates permutation per
 * epoch); no tfjs random op and no `model.fit` (both draw from Math.random).
 * Under `dpSgd` the loop is dp-sgd/train-dp-sgd.ts's instead: Poisson-sampled
 * batches and Gaussian noise, both drawn from the same stream.
 *
 * FedProx (Li et al. 2020) adds μ/2 ‖w − w_global‖² to the local objective. Its
 * gradient μ(w − w_global) is added to each step's gradient in closed form rather
 * than differentiated, which is exact and costs two ops per parameter. The loss
 * reported is the data loss alone, so μ = 0 and μ > 0 runs report comparable numbers.
 *
 * Memory: every step runs in tf.tidy and optimiser state is swapped, not
 * accumulated, so `tf.memory().numTensors` is the same after any number of steps;
 * everything trainLocal creates is disposed before it returns, even when it throws.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';
import type { Model } from '../models/model.js';
import { type LossName, LossNameSchema } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import { trainableTensors } from './trainable-tensors.js';
import { type AffineGradientTerm, affineTermTensors } from './affine-terms.js';
import { type Dataset, datasetSize } from './dataset.js';
import { lossFunction } from './losses.js';
import { OptimizerConfigSchema, createOptimizer } from './optimizers.js';
import { BatchMaker } from './batch-maker.js';
import { forEachMinibatch } from './minibatches.js';
import { DpSgdConfigSchema } from './dp-sgd/config.js';
import { type DpSgdSpend, trainDpSgd } from './dp-sgd/train-dp-sgd.js';
import { type FusedDenseCall, fusedDenseRefusal, trainFusedDense } from './fused-dense-train.js';

/** The serialisable part of the options: what a server sends a client as its fit config. */
export const TrainConfigSchema = z.object({
  epochs: z.number().int().min(1),
  batchSize: z.number().int().min(1),
  lr: z.number().positive(),
  optimizer: OptimizerConfigSchema.optional(),
  /** FedProx's μ; 0 or absent is plain local SGD. */
  proxMu: z.number().min(0).optional(),
  /** Skip each epoch's last batch when it is smaller than batchSize (default false). */
  dropLast: z.boolean().optional(),
  /** The model's default loss when absent. */
  loss: LossNameSchema.optional(),
  /** Sample-level DP-SGD (dp-sgd/config.ts): Poisson-sampled batches, per-example clipping, Gaussian noise. */
  dpSgd: DpSgdConfigSchema.optional(),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/**
 * Extra terms added, in closed form, to each trainable parameter's gradient at every step
 * (a proximal pull, a control-variate correction …). Called inside the step's tf.tidy with
 * the trainable variables; returns one tensor per variable (or null for none this step).
 */
export type GradientTerms = (params: readonly tf.Variable[]) => (tf.Tensor | null)[];

export interface TrainOptions extends TrainConfig {
  /** FedProx's anchor w_global (all weights, in weight order); default: the model's weights when training starts. */
  globalWeights?: readonly Float32Array[];
  /** An algorithm's gradient term affine in the weights (affine-terms.ts); added after FedProx's proxMu. */
  affineTerm?: AffineGradientTerm;
  /** Any other algorithm-specific gradient terms (see GradientTerms); added last. They keep training on tfjs ops. */
  gradientTerms?: GradientTerms;
}

export interface TrainResult {
  /** The trained weights (a copy; the model holds them too). */
  weights: Weights;
  /** Size of the local data set: FedAvg's n_k. */
  numSamples: number;
  /** Sample-weighted mean of the data loss over every step of every epoch (0 when there was no step). */
  meanLoss: number;
  steps: number;
  /** Samples processed over all epochs (what a cost model charges for). */
  samplesSeen: number;
  /** Under dpSgd: what the training spent, for the client's privacy accountant (absent when no step ran). */
  dpSgd?: DpSgdSpend;
  /**
   * Whether every trained weight is finite, when the thread that trained them checked already
   * (parallel/result-checks.ts); absent when nobody did (localUpdate then checks).
   */
  weightsFinite?: boolean;
}

export function parseTrainConfig(value: unknown, where: string): TrainConfig {
  const result = TrainConfigSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.join('.') || '(root)';
    throw new FlConfigError(`${where}: invalid training options (${field}: ${issue.message}); e.g. { epochs: 1, batchSize: 10, lr: 0.1 }`, { at: where, field });
  }
  return result.data;
}

/** Samples one trainLocal call over n samples processes, all epochs together (what a cost model charges for). */
export function samplesPerRun(n: number, config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'dropLast'>): number {
  const perEpoch = config.dropLast ? Math.floor(n / config.batchSize) * config.batchSize : n;
  return perEpoch * config.epochs;
}

/** Trains `model` in place on `data` and returns the new weights and statistics. */
export function trainLocal(model: Model, data: Dataset, options: TrainOptions, rng: RandomStream): TrainResult {
  const config = parseTrainConfig(options, 'trainLocal');
  if (config.dpSgd && config.dropLast) {
    throw new FlConfigError('trainLocal: dropLast cannot be combined with dpSgd: DP-SGD samples every batch by Poisson sampling, so there is no last, smaller batch to drop; remove dropLast', { at: 'trainLocal', field: 'dropLast' });
  }
  const loss: LossName = config.loss ?? model.loss;
  const n = datasetSize(data, model, loss, 'trainLocal');
  const mu = config.proxMu ?? 0;
  const B = config.batchSize;
  if (n === 0) return { weights: model.getWeights(), numSamples: 0, meanLoss: 0, steps: 0, samplesSeen: 0 };

  const fused: FusedDenseCall = { ...config, loss, proxMu: mu, globalWeights: options.globalWeights, affineTerm: options.affineTerm, needsTfjs: !!(config.dpSgd || options.gradientTerms) };
  if (fusedDenseRefusal(model, fused) === null) {
    const { lossSum, seen, steps } = trainFusedDense(model, data, n, fused, rng);
    return { weights: model.getWeights(), numSamples: n, meanLoss: seen > 0 ? lossSum / seen : 0, steps, samplesSeen: seen };
  }

  const lossFn = lossFunction(loss);
  const params = model.trainable;
  const owned: tf.Tensor[] = [];
  const optimizer = createOptimizer(config.optimizer, config.lr);
  try {
    const terms: GradientTerms[] = [];
    if (mu > 0) {
      const anchors = anchorTensors(model, options.globalWeights);
      owned.push(...anchors);
      terms.push(proximalTerms(mu, anchors, owned));
    }
    if (options.affineTerm) {
      const affine = affineTermTensors(model, options.affineTerm, 'trainLocal: affineTerm');
      owned.push(...affine.owned);
      terms.push(affine.terms);
    }
    if (options.gradientTerms) terms.push(options.gradientTerms);
    const addTerms = (grads: tf.Tensor[]): tf.Tensor[] => {
      let g = grads;
      for (const term of terms) {
        const extra = term(params as tf.Variable[]);
        g = g.map((gi, i) => (extra[i] ? tf.add(gi, extra[i]!) : gi));
      }
      return g;
    };
    const batches = new BatchMaker(data, model.inputSize, model.outputSize, loss);
    if (config.dpSgd) {
      const dp = trainDpSgd({ model, n, epochs: config.epochs, batchSize: B, dpSgd: config.dpSgd, batches, lossFn, optimizer, addTerms, rng });
      return { weights: model.getWeights(), numSamples: n, meanLoss: dp.seen > 0 ? dp.lossSum / dp.seen : 0, steps: dp.steps, samplesSeen: dp.seen, dpSgd: dp.spend };
    }
    let lossSum = 0;
    let seen = 0;
    let steps = 0;
    forEachMinibatch(n, config, rng, {
      batch: (order, start, end) => {
        const value = tf.tidy(() => {
          const [xb, yb] = batches.make(order, start, end);
          const { value: batchLoss, grads } = tf.variableGrads(() => lossFn(yb, model.forward(xb, { training: true })), params as tf.Variable[]);
          optimizer.step(params, addTerms(params.map((p) => grads[p.name])));
          return batchLoss;
        });
        const batchLoss = value.dataSync()[0];
        value.dispose();
        lossSum += batchLoss * (end - start);
        seen += end - start;
        steps++;
      },
    });
    return { weights: model.getWeights(), numSamples: n, meanLoss: seen > 0 ? lossSum / seen : 0, steps, samplesSeen: seen };
  } finally {
    optimizer.dispose();
    tf.dispose(owned);
  }
}

/** FedProx's μ(w − w_global) for each trainable parameter (its tensors are kept in `owned`). */
function proximalTerms(mu: number, anchors: readonly tf.Tensor[], owned: tf.Tensor[]): GradientTerms {
  const muScalar = tf.scalar(mu);
  owned.push(muScalar);
  return (params) => params.map((p, i) => tf.mul(tf.sub(p, anchors[i]), muScalar));
}

/** w_global for each trainable parameter, as tensors. */
function anchorTensors(model: Model, globalWeights: readonly Float32Array[] | undefined): tf.Tensor[] {
  if (!globalWeights) return model.trainable.map((v) => tf.clone(v));
  return trainableTensors(model, globalWeights, 'trainLocal: globalWeights');
}
