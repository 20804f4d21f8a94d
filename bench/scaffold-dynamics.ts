/**
 * Why SCAFFOLD's global loss spikes on Synthetic(1,1) (BENCHMARKS.md): the float64
 * reference of test/helpers/scaffold-reference.ts — the same algorithm fedsim runs,
 * checked against it round by round in test/fl-scaffold-reference.test.ts — on
 * FedProx's Synthetic(1,1) devices, in plain JS (seconds a run instead of minutes), so
 * that the settings can be varied one at a time:
 *
 *   --epochs 1,2,5,20        E (the local work; K_i = E·⌈n_i/B⌉ ranges over 45× here)
 *   variants                 fedavg           FedAvg (c ≡ 0), n_i-weighted mean
 *                            scaffold         fedsim's SCAFFOLD: n_i-weighted mean of y_i
 *                            scaffold-uniform the paper's 1/|S| mean of y_i
 *                            scaffold-full    all 30 devices every round (no stale c_i)
 *                            scaffold-equalK  every device takes the same K (the mean K of E epochs)
 *
 * Prints the global training loss (all devices' training data) and the test accuracy at
 * a few rounds, and the largest local excursion max_i ‖y_i − x‖ seen. Sampling draws 10 of
 * 30 devices a round from its own seeded stream (not fedsim's server stream, so the
 * sampled sets differ from fedsim's run; the dynamics are what is compared).
 *
 *   npx tsx bench/scaffold-dynamics.ts [--rounds 30] [--epochs 1,2,5,20] [--variants …] [--seed 0]
 *
 * Wall-clock time is read here only (benchmarks may).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createStream } from '../src/runtime/rng.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { sampleClients } from '../src/fl/strategies/strategy.js';
import { type ReferenceClient, type ReferenceOptions, referenceLoss, scaffoldReference } from '../test/helpers/scaffold-reference.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    epochs: { type: 'string', default: '1,2,5,20' },
    variants: { type: 'string', default: 'fedavg,scaffold,scaffold-uniform,scaffold-full,scaffold-equalK' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '0.01' },
    batch: { type: 'string', default: '10' },
    every: { type: 'string', default: '5' },
  },
});
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const lr = Number(values.lr);
const batchSize = Number(values.batch);
const every = Number(values.every);

const devices = syntheticFedProx({ alpha: 1, beta: 1, devices: 30 }, { seed, name: 'data/synthetic(1,1)' });
const clients: ReferenceClient[] = devices.map((d) => ({ id: `d${String(d.id).padStart(2, '0')}`, x: d.trainX, y: d.trainY }));
const tests: ReferenceClient[] = devices.map((d) => ({ id: `d${d.id}`, x: d.testX, y: d.testY }));
const ids = clients.map((c) => c.id);
const problem = { loss: 'softmax-cross-entropy' as const, inputs: 60, outputs: 10 };

function accuracy(x: readonly Float64Array[]): number {
  const [W, b] = x;
  let right = 0;
  let all = 0;
  for (const t of tests) {
    for (let i = 0; i < t.y.length; i++) {
      let best = -Infinity;
      let arg = -1;
      for (let o = 0; o < 10; o++) {
        let s = b[o];
        for (let j = 0; j < 60; j++) s += t.x[i * 60 + j] * W[j * 10 + o];
        if (s > best) [best, arg] = [s, o];
      }
      right += arg === t.y[i] ? 1 : 0;
      all++;
    }
  }
  return right / all;
}

const norm = (a: readonly Float64Array[], b: readonly Float64Array[]) => Math.sqrt(a.reduce((s, w, l) => s + w.reduce((t, v, j) => t + (v - b[l][j]) ** 2, 0), 0));

function run(variant: string, epochs: number) {
  const full = variant === 'scaffold-full';
  const equalK = variant === 'scaffold-equalK';
  const meanK = Math.round(clients.reduce((s, c) => s + epochs * Math.ceil(c.y.length / batchSize), 0) / clients.length);
  const lossAt: Record<number, number> = {};
  const accAt: Record<number, number> = {};
  let maxExcursion = 0;
  let peak = { round: 0, loss: 0 };
  let previousX: Float64Array[] | undefined;
  const options: ReferenceOptions = {
    ...problem,
    clients,
    initial: [new Float64Array(600), new Float64Array(10)],
    rounds,
    epochs,
    batchSize,
    lr,
    modelMean: variant === 'scaffold-uniform' ? 'uniform' : 'weighted',
    controlVariates: variant !== 'fedavg',
    ...(equalK ? { localSteps: meanK } : {}),
    selection: (round) => (full ? ids : sampleClients(ids, 10, createStream(seed, `bench/sampling/round-${round}`))),
    shuffler: (id, round) => {
      const stream = createStream(seed, `bench/${id}/shuffle/round-${round}`);
      return (order) => stream.shuffle(order);
    },
    onRound: (round, state) => {
      const loss = referenceLoss(problem, clients, state.x);
      if (loss > peak.loss) peak = { round, loss };
      if (previousX) maxExcursion = Math.max(maxExcursion, norm(state.x, previousX));
      previousX = state.x.map((w) => Float64Array.from(w));
      if (round === 1 || round % every === 0) {
        lossAt[round] = loss;
        accAt[round] = accuracy(state.x);
      }
    },
  };
  const start = performance.now();
  scaffoldReference(options);
  return { lossAt, accAt, peak, maxExcursion, meanK, seconds: (performance.now() - start) / 1000 };
}

const checkpoints = [1, ...Array.from({ length: Math.floor(rounds / every) }, (_, i) => (i + 1) * every)];
console.log(`# SCAFFOLD dynamics on Synthetic(1,1), float64 reference: 30 devices (n_i ${Math.min(...clients.map((c) => c.y.length))}–${Math.max(...clients.map((c) => c.y.length))}), B = ${batchSize}, η = ${lr}, ${rounds} rounds, seed ${seed}\n`);
console.log(`| E | variant | ${checkpoints.map((r) => `loss r${r}`).join(' | ')} | peak loss (round) | max ‖Δx‖ a round | acc r${rounds} | s |`);
console.log(`|---|---|${checkpoints.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
for (const epochs of values.epochs.split(',').map(Number)) {
  for (const variant of values.variants.split(',')) {
    const r = run(variant.trim(), epochs);
    const label = variant === 'scaffold-equalK' ? `scaffold-equalK (K = ${r.meanK})` : variant;
    console.log(
      `| ${epochs} | ${label} | ${checkpoints.map((c) => r.lossAt[c].toFixed(3)).join(' | ')} | ${r.peak.loss.toFixed(2)} (${r.peak.round}) | ${r.maxExcursion.toFixed(2)} | ${r.accAt[rounds]?.toFixed(3) ?? '–'} | ${r.seconds.toFixed(0)} |`,
    );
  }
}
