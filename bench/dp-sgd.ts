/**
 * Issue #15 benchmark: the cost of sample-level DP-SGD in local training, in samples/s
 * against plain training, and the gain of the vectorised per-example gradients over the
 * obvious one-backward-per-example loop.
 *
 * Models: McMahan's 2NN (784-200-200-10, 199,210 parameters) at B = 10 and 50, and his CNN
 * (conv 5×5×32, pool, conv 5×5×64, pool, dense 512, dense 10: 1,663,370 parameters) at
 * B = 10 and 50, on 28×28 seeded synthetic images, wasm backend. Three trainers per case:
 *
 *   plain       trainLocal without dpSgd (shuffled batches of B);
 *   clip only   trainLocal with dpSgd { clip: 1, noiseMultiplier: 0 }: the cost of Poisson
 *               batches and per-example clipping alone (vectorised), no noise;
 *   DP-SGD      trainLocal with dpSgd { clip: 1, noiseMultiplier: 1.1 }: clipping and noise;
 *   naive       the same DP-SGD step with the clipped sum from one tf.variableGrads per example
 *               (clippedGradientSumByLoop), the same Poisson batches and noise.
 *
 * The four are measured interleaved (plain, clip only, DP-SGD, naive, plain, …) so a change of machine
 * load hits all of them; each figure is the median of the repetitions, samples/s counting
 * the examples actually in the batches (Poisson batches vary around B).
 *
 *   npm run bench -- dp-sgd            (or FEDSIM_DP_SGD_BENCH_QUICK=1 for one repetition)
 */
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { createModel, type ModelSpec, nn } from '../src/fl/models/index.js';
import { type Dataset, trainLocal } from '../src/fl/training/index.js';
import { BatchMaker } from '../src/fl/training/batch-maker.js';
import { lossFunction } from '../src/fl/training/losses.js';
import { GaussianNoise } from '../src/fl/training/dp-sgd/gaussian-noise.js';
import { clippedGradientSumByLoop } from '../src/fl/training/dp-sgd/per-example-loop.js';
import { poissonBatch } from '../src/fl/training/dp-sgd/poisson-batches.js';
import { dpSgdSchedule } from '../src/fl/training/dp-sgd/train-dp-sgd.js';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { fmt, table } from './timing.js';
import { syntheticImages } from './synthetic-images.js';

const quick = process.env.FEDSIM_DP_SGD_BENCH_QUICK === '1';
const REPEATS = quick ? 1 : 9;
const LR = 0.05;
const DP = { clip: 1, noiseMultiplier: 1.1 };

interface Case {
  model: string;
  spec: ModelSpec;
  batch: number;
  /** Examples per timed block: one epoch of trainLocal. */
  examples: number;
}

const CASES: Case[] = [
  { model: '2NN 784-200-200-10', spec: nn.mlp([784, 200, 200, 10]), batch: 10, examples: 300 },
  { model: '2NN 784-200-200-10', spec: nn.mlp([784, 200, 200, 10]), batch: 50, examples: 600 },
  { model: 'CNN (McMahan et al.)', spec: nn.cnn(), batch: 10, examples: 60 },
  { model: 'CNN (McMahan et al.)', spec: nn.cnn(), batch: 50, examples: 150 },
];

const images = (n: number): Dataset => syntheticImages(n, 'bench/dp-sgd-data');

type Trainer = 'plain' | 'clip only' | 'DP-SGD' | 'naive';

/** One block: an epoch of `trainer` over `data`; returns [examples processed, seconds]. */
function block(trainer: Trainer, c: Case, data: Dataset, seed: number): [number, number] {
  const model = createModel(c.spec, createStream(1, 'model/init'));
  const rng = createStream(seed, 'bench/round');
  try {
    const start = performance.now();
    let seen: number;
    if (trainer === 'naive') seen = naiveDpSgdEpoch(model, data, c.batch, rng);
    else {
      const dpSgd = trainer === 'DP-SGD' ? DP : trainer === 'clip only' ? { ...DP, noiseMultiplier: 0 } : undefined;
      seen = trainLocal(model, data, { epochs: 1, batchSize: c.batch, lr: LR, ...(dpSgd ? { dpSgd } : {}) }, rng).samplesSeen;
    }
    return [seen, (performance.now() - start) / 1000];
  } finally {
    model.dispose();
  }
}

/** DP-SGD with the per-example loop: Poisson batches, Σ clip(∇ℓ_i) one example at a time, noise, SGD. */
function naiveDpSgdEpoch(model: ReturnType<typeof createModel>, data: Dataset, batch: number, rng: ReturnType<typeof createStream>): number {
  const n = data.y.length;
  const { samplingRate, steps, expectedBatchSize } = dpSgdSchedule(n, batch, 1);
  const batches = new BatchMaker(data, model.inputSize, model.outputSize, model.loss);
  const lossFn = lossFunction(model.loss);
  const noise = GaussianNoise.from(rng);
  let seen = 0;
  for (let step = 0; step < steps; step++) {
    const indices = poissonBatch(n, samplingRate, rng);
    tf.tidy(() => {
      const sums = indices.length > 0 ? clippedGradientSumByLoop(model, ...batches.make(indices, 0, indices.length), lossFn, DP.clip).sums : model.trainable.map((v) => tf.zerosLike(v));
      model.trainable.forEach((v, i) => {
        const noised = tf.add(sums[i], tf.tensor(noise.fill(new Float32Array(v.size), DP.noiseMultiplier * DP.clip), v.shape));
        v.assign(tf.sub(v, tf.mul(tf.div(noised, expectedBatchSize), LR)));
      });
    });
    seen += indices.length;
  }
  model.trainable[0].dataSync(); // wait for the last step
  return seen;
}

/** ms to draw one step's noise (one normal per parameter), median of 5. */
function noiseDrawMs(spec: ModelSpec): number {
  const model = createModel(spec, createStream(1, 'model/init'));
  const buffer = new Float32Array(model.countParams());
  model.dispose();
  const noise = new GaussianNoise([1, 2, 3, 4]);
  noise.fill(buffer, 1);
  const times = Array.from({ length: 5 }, () => {
    const start = performance.now();
    noise.fill(buffer, 1);
    return performance.now() - start;
  });
  return median(times);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export const benchmark = {
  name: 'dp-sgd',
  title: 'DP-SGD in local training: samples/s against plain training, vectorised vs per-example loop (issue #15)',
  async run(): Promise<string> {
    await initBackend('wasm');
    const rows: Array<Record<string, string>> = [];
    for (const c of CASES) {
      const data = images(c.examples);
      const rates: Record<Trainer, number[]> = { plain: [], 'clip only': [], 'DP-SGD': [], naive: [] };
      const trainers: Trainer[] = ['plain', 'clip only', 'DP-SGD', 'naive'];
      for (const trainer of trainers) block(trainer, c, data, 0); // warm-up: JIT, kernel set-up, first allocations
      for (let r = 1; r <= REPEATS; r++) {
        for (const trainer of trainers) {
          const [seen, seconds] = block(trainer, c, data, r);
          rates[trainer].push(seen / seconds);
        }
      }
      const [plain, clipOnly, dp, naive] = trainers.map((trainer) => median(rates[trainer]));
      rows.push({
        model: c.model,
        B: String(c.batch),
        'plain samples/s': fmt(plain),
        'clip only (σ = 0) / plain': (clipOnly / plain).toFixed(2),
        'DP-SGD / plain': (dp / plain).toFixed(2),
        'naive loop / plain': (naive / plain).toFixed(2),
        'vectorised gain (DP-SGD / naive)': `${(dp / naive).toFixed(1)}×`,
        'plain ms/step': ((1000 * c.batch) / plain).toFixed(1),
        'DP-SGD ms/step': ((1000 * c.batch) / dp).toFixed(1),
        'noise draw ms/step': noiseDrawMs(c.spec).toFixed(1),
      });
    }
    return `${table(rows)}\n\nMedian of ${REPEATS} interleaved repetitions of one epoch each (after a warm-up), wasm backend; DP-SGD: clip 1, σ = 1.1. ms/step at the expected batch B; noise draw: one normal per parameter, timed alone.`;
  },
};
