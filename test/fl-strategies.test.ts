/**
 * Strategies against values worked out by hand on tiny vectors.
 */
import test from 'ava';
import { createStream } from '../src/runtime/rng.js';
import {
  type ClientUpdate,
  FedAvg,
  FedAvgM,
  FedMedian,
  FedOpt,
  FedProx,
  FedTrimmedAvg,
  Krum,
  clientsToSample,
  createStrategy,
  type Strategy,
  aggregateUpdates,
  krumScores,
  sampleClients,
} from '../src/fl/strategies/index.js';
import type { Weights } from '../src/fl/models/index.js';

const W = (...layers: number[][]) => layers.map((l) => Float32Array.from(l));
const update = (clientId: string, weights: number[][], numSamples = 1, loss = 0): ClientUpdate => ({ clientId, weights: W(...weights), numSamples, loss });
const close = (t: { true: (v: boolean, m?: string) => void }, actual: Float32Array[], expected: number[][], tol = 1e-6) => {
  expected.forEach((layer, l) =>
    layer.forEach((v, j) => t.true(Math.abs(actual[l][j] - v) <= tol, `layer ${l}[${j}]: got ${actual[l][j]}, expected ${v}`)),
  );
};

// Two clients, two layers: A = ([1, 2], [3]) with n = 1, B = ([3, 6], [5]) with n = 3; global = 0.
const A = update('a', [[1, 2], [3]], 1, 0.5);
const B = update('b', [[3, 6], [5]], 3, 1.5);
const zero = W([0, 0], [0]);

/** One stateless strategy step from these updates (the plaintext path of the round engine). */
const fit = (s: Strategy<any>, round: number, updates: ClientUpdate[], weights: Weights) => aggregateUpdates(s, round, updates, { weights }).weights;
const configure = (s: Strategy<any>, round: number, ids: string[], seed: number, name: string) => s.configure(round, ids, { rng: createStream(seed, name), state: undefined, weights: zero, clients: ids });

test('FedAvg is the sample-weighted mean: (1·1 + 3·3)/4 = 2.5, (1·2 + 3·6)/4 = 5, (1·3 + 3·5)/4 = 4.5', (t) => {
  const next = fit(new FedAvg(), 1, [B, A], zero);
  t.deepEqual(next.map((l) => Array.from(l)), [[2.5, 5], [4.5]]);
});

test('FedAvg sums in sorted client order, whatever order the results come in', (t) => {
  const ups = ['c', 'a', 'd', 'b'].map((id, i) => update(id, [[0.1 * (i + 1), 1 / (i + 3)]], i + 1));
  const a = fit(new FedAvg(), 1, ups, W([0, 0]));
  const b = fit(new FedAvg(), 1, [...ups].reverse(), W([0, 0]));
  t.deepEqual(a, b);
});

test('FedAvg rejects an update whose layout differs from the global model, naming the client', (t) => {
  const bad = update('mallory', [[1, 2, 3], [4]]);
  t.throws(() => fit(new FedAvg(), 1, [A, bad], zero), { message: /client 'mallory'.*weight array 0 has 3 values, expected 2/ });
});

test('FedProx aggregates like FedAvg and hands μ to the clients', (t) => {
  const s = new FedProx({ mu: 0.5, fraction: 0.5 });
  t.deepEqual(fit(s, 1, [A, B], zero), fit(new FedAvg(), 1, [A, B], zero));
  const plan = configure(s, 1, ['x', 'y', 'z', 'w'], 1, 's');
  t.is(plan.clients.length, 2);
  t.deepEqual(plan.config, { proxMu: 0.5 });
});

test('FedAvgM: Δ = w − avg, v = βv + Δ, w ← w − ηv (hand values over two rounds)', (t) => {
  const s = new FedAvgM({ serverLr: 1, momentum: 0.5 });
  // Round 1: Δ = 0 − (2.5, 5, 4.5); v = Δ; w1 = 0 − Δ = (2.5, 5, 4.5).
  const r1 = aggregateUpdates(s, 1, [A, B], { weights: zero });
  close(t, r1.weights, [[2.5, 5], [4.5]]);
  // Round 2 from w1 with the same updates: Δ = 0; v = 0.5·v1 = (−1.25, −2.5, −2.25); w2 = w1 − v = (3.75, 7.5, 6.75).
  const r2 = aggregateUpdates(s, 2, [A, B], { weights: r1.weights, state: r1.state });
  close(t, r2.weights, [[3.75, 7.5], [6.75]]);
  // The state is a value: the same step from the same state gives the same model (nothing was mutated).
  t.deepEqual(aggregateUpdates(s, 2, [A, B], { weights: r1.weights, state: r1.state }).weights, r2.weights);
  // η = 0.5, first round: w1 = 0 − 0.5·(−2.5, −5, −4.5).
  close(t, fit(new FedAvgM({ serverLr: 0.5, momentum: 0.9 }), 1, [A, B], zero), [[1.25, 2.5], [2.25]]);
});

// FedOpt (Reddi et al. Alg. 2) with η = 0.1, β1 = 0.9, β2 = 0.99, τ = 1e-3, m₋₁ = 0, v₋₁ = τ², global 0, avg = (2.5, 5, 4.5).
// FedAdagrad round 1, coordinate 0: Δ = 2.5, m = 0.1·2.5 = 0.25, v = 1e-6 + 6.25 = 6.250001,
//   w = 0 + 0.1·0.25 / (√6.250001 + 0.001) = 0.025 / 2.5010002 = 0.009996001.
// FedAdam round 1, coordinate 0: v = 0.99e-6 + 0.01·6.25 = 0.06250099, w = 0.025 / (0.2500020 + 0.001) = 0.099600808.
// FedYogi round 1, coordinate 0: v = 1e-6 − 0.01·6.25·sign(1e-6 − 6.25) = 0.062501, w = 0.025 / (0.2500020 + 0.001) = 0.0996008.
// Round 2 repeats with the same updates from the round-1 model (values from the same formulas).
const fedOptCases: Array<[rule: 'adagrad' | 'adam' | 'yogi', round1: number[], round2: number[]]> = [
  ['adagrad', [0.009996001, 0.009998, 0.009997778], [0.02342578, 0.023430413, 0.023429899]],
  ['adam', [0.099600808, 0.099800202, 0.099778027], [0.23374151, 0.234223514, 0.234170863]],
  ['yogi', [0.0996008, 0.0998002, 0.099778025], [0.233393066, 0.233880728, 0.233827449]],
];
for (const [rule, round1, round2] of fedOptCases) {
  test(`Fed${rule} matches hand values over two rounds`, (t) => {
    const s = new FedOpt(rule, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    const r1 = aggregateUpdates(s, 1, [A, B], { weights: zero });
    close(t, r1.weights, [round1.slice(0, 2), round1.slice(2)]);
    const r2 = aggregateUpdates(s, 2, [A, B], { weights: r1.weights, state: r1.state });
    close(t, r2.weights, [round2.slice(0, 2), round2.slice(2)]);
  });
}

// Four updates; coordinate columns: (1, 2, 100, 3), (5, −1, 2, 4), (0, 10, 3, 4).
const robust = [update('c1', [[1, 5], [0]]), update('c2', [[2, -1], [10]]), update('c3', [[100, 2], [3]]), update('c4', [[3, 4], [4]])];

test('FedMedian: coordinate-wise median, the mean of the middle two for an even count', (t) => {
  // sorted: (1, 2, 3, 100) → 2.5; (−1, 2, 4, 5) → 3; (0, 3, 4, 10) → 3.5
  const next = fit(new FedMedian(), 1, robust, zero);
  t.deepEqual(next.map((l) => Array.from(l)), [[2.5, 3], [3.5]]);
  // the outlier 100 moves the mean, not the median
  t.true(fit(new FedAvg(), 1, robust, zero)[0][0] > 20);
});

test('Trimmed mean cuts ⌊β·n⌋ values from each end of each coordinate', (t) => {
  const five = [...robust, update('c5', [[4, 0], [1]])];
  // β = 0.2, n = 5 → cut 1 each side: (1, 2, 3, 4, 100) → mean(2, 3, 4) = 3; (−1, 0, 2, 4, 5) → 2; (0, 1, 3, 4, 10) → 8/3
  const next = fit(new FedTrimmedAvg({ beta: 0.2 }), 1, five, zero);
  close(t, next, [[3, 2], [8 / 3]]);
  // β = 0: the plain mean
  close(t, fit(new FedTrimmedAvg({ beta: 0 }), 1, five, zero), [[22, 2], [18 / 5]]);
});

// Points a = (0, 0), b = (1, 0), c = (0, 1), d = (10, 10), e = (0.5, 0.5); n = 5, f = 1 → 2 nearest neighbours each.
const points = [update('a', [[0, 0]]), update('b', [[1, 0]]), update('c', [[0, 1]]), update('d', [[10, 10]]), update('e', [[0.5, 0.5]])];

test('Krum scores are sums of squared distances to the n − f − 2 nearest neighbours', (t) => {
  // a: {b 1, c 1, d 200, e 0.5} → 0.5 + 1; b: {a 1, c 2, d 181, e 0.5} → 1.5; c: same as b; d: {200, 181, 181, 180.5} → 361.5; e: {0.5, 0.5, 0.5, 180.5} → 1
  t.deepEqual(krumScores(points, 1), [1.5, 1.5, 1.5, 361.5, 1]);
});

test('Krum picks the lowest score; Multi-Krum averages the m best, ties to the smaller id', (t) => {
  t.deepEqual(Array.from(fit(new Krum({ byzantine: 1 }), 1, points, W([0, 0]))[0]), [0.5, 0.5]);
  // m = 3: e (1), then a and b (1.5, ties broken by id) → ((0.5 + 0 + 1)/3, (0.5 + 0 + 0)/3)
  close(t, fit(new Krum({ byzantine: 1, keep: 3 }), 1, points, W([0, 0])), [[0.5, 1 / 6]]);
});

test('Krum refuses too few updates with an explanation', (t) => {
  t.throws(() => fit(new Krum({ byzantine: 2 }), 1, points.slice(0, 4), W([0, 0])), { message: /Krum needs n ≥ f \+ 3/ });
});

test('sampling takes ⌈C·K⌉ clients (at least minClients), distinct and sorted', (t) => {
  t.is(clientsToSample(0.1, 30), 3); // 0.1·30 = 3.0000000000000004 in floating point
  t.is(clientsToSample(0.25, 10), 3);
  t.is(clientsToSample(0.1, 30, 5), 5);
  t.is(clientsToSample(1, 7), 7);
  t.is(clientsToSample(0.01, 7), 1);
  t.throws(() => clientsToSample(0, 7), { message: /fraction C must be in \(0, 1\]/ });
  const ids = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  const picked = sampleClients(ids, 3, createStream(7, 'sampling'));
  t.is(picked.length, 3);
  t.is(new Set(picked).size, 3);
  t.deepEqual(picked, [...picked].sort());
  t.deepEqual(sampleClients([...ids].reverse(), 3, createStream(7, 'sampling')), picked, 'input order does not matter');
  const plan = configure(new FedAvg({ fraction: 0.1 }), 1, ids, 1, 'x');
  t.is(plan.clients.length, 3);
});

test('sampling is uniform enough: every client is picked over many rounds', (t) => {
  const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const rng = createStream(3, 'sampling');
  const counts = new Map<string, number>();
  for (let r = 0; r < 500; r++) for (const c of sampleClients(ids, 3, rng)) counts.set(c, (counts.get(c) ?? 0) + 1);
  for (const id of ids) t.true(Math.abs((counts.get(id) ?? 0) - 150) < 45, `${id}: ${counts.get(id)}`);
});

test('createStrategy builds every strategy from its config and explains a bad one', (t) => {
  t.is(createStrategy({ name: 'fedavg' }).name, 'fedavg');
  t.is(createStrategy({ name: 'fedprox', mu: 1 }).name, 'fedprox');
  t.is(createStrategy({ name: 'fedyogi' }).name, 'fedyogi');
  t.is(createStrategy({ name: 'krum', byzantine: 1, keep: 2 }).name, 'multikrum');
  t.is(createStrategy({ name: 'fedmedian' }).needs, 'individual');
  t.is(createStrategy({ name: 'fedadam' }).needs, 'sum');
  t.throws(() => createStrategy({ name: 'fedsgd' } as never), { message: /Known strategies: fedavg, fedprox/ });
});
