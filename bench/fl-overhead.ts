/**
 * Issue #4 benchmark: wall time of FedAvg rounds run as actors in the simulator, against
 * the same SGD steps run in plain tfjs in the same process, on the same backend.
 *
 * Workload: McMahan's 2NN (784-200-200-10), 100 clients × 100 seeded synthetic
 * samples, C = 0.1 (10 clients a round), E = 1, B = 10 → 100 SGD steps a round, 5 rounds.
 *  - simulated: `runFederated` — server and client actors, model download/upload as
 *    messages with the event log on, sample-weighted aggregation, virtual-time cost model;
 *  - plain FedAvg loop: for each round and each of 10 clients, load the global weights,
 *    run `trainLocal` on that client's data, average the results — no simulator;
 *  - central SGD: one model, the same 500 steps of batch 10 in one plain loop.
 * Target: simulated / plain ≤ 1.10.
 *
 *   npm run bench -- fl
 */
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { createModel, nn, runFederated, trainLocal, type ClientData } from '../src/fl/index.js';
import { initBackend } from '../src/runtime/backend.js';
import { createStream, SimulationCore } from '../src/runtime/index.js';
import { fmt, table } from './timing.js';

const CLIENTS = 100;
const PER_CLIENT = 100;
const FEATURES = 784;
const CLASSES = 10;
const ROUNDS = 5;
const PER_ROUND = 10;
const BATCH = 10;
const LR = 0.05;
const spec = nn.mlp([FEATURES, 200, 200, CLASSES]);

/** Seeded synthetic "images": each class has its own mean pattern plus noise. */
function makeClients(): ClientData[] {
  const rng = createStream(7, 'bench/fl-data');
  const means = Array.from({ length: CLASSES }, () => Float32Array.from({ length: FEATURES }, () => rng.next()));
  return Array.from({ length: CLIENTS }, () => {
    const x = new Float32Array(PER_CLIENT * FEATURES);
    const y = new Int32Array(PER_CLIENT);
    for (let i = 0; i < PER_CLIENT; i++) {
      const label = rng.int(CLASSES);
      y[i] = label;
      for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = means[label][j] * 0.5 + rng.next() * 0.5;
    }
    return { x, y };
  });
}

function weightedAverage(updates: Float32Array[][], counts: number[]): Float32Array[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return updates[0].map((layer, l) => {
    const out = new Float32Array(layer.length);
    updates.forEach((update, k) => {
      const w = counts[k] / total;
      const src = update[l];
      for (let i = 0; i < out.length; i++) out[i] += w * src[i];
    });
    return out;
  });
}

async function simulated(clients: ClientData[]): Promise<number> {
  const sim = new SimulationCore({ seed: 1 });
  const start = performance.now();
  const result = await runFederated(sim, {
    model: spec,
    clients,
    rounds: ROUNDS,
    fraction: PER_ROUND / CLIENTS,
    localEpochs: 1,
    batchSize: BATCH,
    lr: LR,
    clientEvaluation: 'none',
  });
  const seconds = (performance.now() - start) / 1000;
  if (result.rounds.length !== ROUNDS) throw new Error('rounds missing');
  return seconds;
}

function plainFedAvg(clients: ClientData[]): number {
  const model = createModel(spec, createStream(1, 'model/init'));
  const rng = createStream(1, 'bench/plain');
  const start = performance.now();
  let global = model.getWeights();
  for (let round = 0; round < ROUNDS; round++) {
    const updates: Float32Array[][] = [];
    const counts: number[] = [];
    for (let k = 0; k < PER_ROUND; k++) {
      model.setWeights(global);
      const result = trainLocal(model, clients[(round * PER_ROUND + k) % CLIENTS], { epochs: 1, batchSize: BATCH, lr: LR }, rng);
      updates.push(result.weights);
      counts.push(result.numSamples);
    }
    global = weightedAverage(updates, counts);
  }
  model.setWeights(global);
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  return seconds;
}

function centralSgd(clients: ClientData[]): number {
  const model = createModel(spec, createStream(1, 'model/init'));
  const rng = createStream(1, 'bench/central');
  const start = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < PER_ROUND; k++) trainLocal(model, clients[(round * PER_ROUND + k) % CLIENTS], { epochs: 1, batchSize: BATCH, lr: LR }, rng);
  }
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  return seconds;
}

/** Median of `repeats` runs after one warm-up. */
async function median(fn: () => number | Promise<number>, repeats = 3): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await fn());
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

export const benchmark = {
  name: 'fl',
  title: 'FedAvg rounds in the simulator vs the same SGD steps in plain tfjs (issue #4; target ratio ≤ 1.10)',
  async run(): Promise<string> {
    const backend = await initBackend();
    const clients = makeClients();
    const steps = ROUNDS * PER_ROUND * (PER_CLIENT / BATCH);
    const samples = steps * BATCH;
    const sim = await median(() => simulated(clients));
    const plain = await median(() => plainFedAvg(clients));
    const central = await median(() => centralSgd(clients));
    if (tf.memory().numTensors > 1000) throw new Error(`tensor leak: ${tf.memory().numTensors} tensors alive`);
    const row = (name: string, seconds: number) => ({
      [`${backend}: ${ROUNDS} rounds × ${PER_ROUND} clients × ${PER_CLIENT / BATCH} steps (2NN, B=${BATCH})`]: name,
      'wall s (median of 3)': seconds.toFixed(3),
      'samples/s': fmt(samples / seconds),
      'ratio to plain FedAvg loop': (seconds / plain).toFixed(3),
      'ratio to central SGD': (seconds / central).toFixed(3),
    });
    return table([row('simulated FedAvg (actors, messages, log)', sim), row('plain FedAvg loop (no simulator)', plain), row('central SGD, same steps', central)]);
  },
};
