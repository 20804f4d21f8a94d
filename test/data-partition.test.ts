import test from 'ava';
import fc from 'fast-check';
import { createStream } from '../src/runtime/rng.js';
import { partitionDirichlet, partitionIid, partitionShards } from '../src/fl/data/partition.js';
import { sampleDirichlet, sampleGamma, sampleLogGamma } from '../src/fl/data/dirichlet.js';
import { formatPartitionSummary, histogramEntropy, labelHistogram, summarizePartition } from '../src/fl/data/dataset-stats.js';

/** Asserts that `parts` uses each of `expected` exactly once, and each list is sorted ascending. */
function coversExactlyOnce(parts: number[][], expected: number[]): boolean {
  for (const p of parts) for (let i = 1; i < p.length; i++) if (p[i - 1] >= p[i]) return false;
  const all = parts.flat().sort((a, b) => a - b);
  return all.length === expected.length && all.every((x, i) => x === expected[i]);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const labelsArb = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 300 });

test('IID: every index exactly once, sizes differ by at most one (property)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 60 }), fc.integer(), (n, c, seed) => {
      fc.pre(c <= n);
      const parts = partitionIid(n, c, createStream(seed, 'iid'));
      const sizes = parts.map((p) => p.length);
      return parts.length === c && coversExactlyOnce(parts, range(n)) && Math.max(...sizes) - Math.min(...sizes) <= 1;
    }),
  );
  t.pass();
});

test('IID: leftovers go one each to the first clients', (t) => {
  const parts = partitionIid(23, 5, createStream(1, 'iid'));
  t.deepEqual(parts.map((p) => p.length), [5, 5, 5, 4, 4]);
});

test('Dirichlet: every index exactly once (property)', (t) => {
  fc.assert(
    fc.property(
      labelsArb,
      fc.integer({ min: 1, max: 25 }),
      fc.double({ min: 0.001, max: 1000, noNaN: true }),
      fc.integer(),
      (labels, clients, alpha, seed) => {
        const parts = partitionDirichlet(labels, clients, { alpha }, createStream(seed, 'dir'));
        return parts.length === clients && coversExactlyOnce(parts, range(labels.length));
      },
    ),
  );
  t.pass();
});

test('shards: each client gets shardsPerClient whole shards, no index twice (property)', (t) => {
  fc.assert(
    fc.property(labelsArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 4 }), fc.integer(), (labels, clients, spc, seed) => {
      fc.pre(clients * spc <= labels.length);
      const parts = partitionShards(labels, clients, { shardsPerClient: spc }, createStream(seed, 'sh'));
      const size = Math.floor(labels.length / (clients * spc));
      // The dropped samples are the tail of the (label, index) order.
      const sorted = range(labels.length).sort((a, b) => labels[a] - labels[b] || a - b);
      const kept = sorted.slice(0, size * clients * spc).sort((a, b) => a - b);
      return parts.length === clients && parts.every((p) => p.length === size * spc) && coversExactlyOnce(parts, kept);
    }),
  );
  t.pass();
});

test('shards: MNIST-sized sorted labels give 100 clients 600 samples of at most 2 labels', (t) => {
  const labels = Int32Array.from({ length: 60000 }, (_, i) => Math.floor(i / 6000));
  const parts = partitionShards(labels, 100, {}, createStream(1, 'mnist'));
  t.is(parts.length, 100);
  t.true(coversExactlyOnce(parts, range(60000)));
  for (const p of parts) {
    t.is(p.length, 600);
    t.true(labelHistogram(labels, p, 10).filter((c) => c > 0).length <= 2);
  }
  // Unsorted labels (i % 10) give the same guarantee: the partitioner sorts.
  const mixed = Int32Array.from({ length: 60000 }, (_, i) => i % 10);
  for (const p of partitionShards(mixed, 100, { shardsPerClient: 2 }, createStream(2, 'mnist'))) {
    t.true(labelHistogram(mixed, p, 10).filter((c) => c > 0).length <= 2);
  }
});

test('shards: explicit shardSize', (t) => {
  const labels = range(100).map((i) => i % 4);
  const parts = partitionShards(labels, 3, { shardsPerClient: 2, shardSize: 10 }, createStream(1, 's'));
  t.deepEqual(parts.map((p) => p.length), [20, 20, 20]);
  t.throws(() => partitionShards(labels, 3, { shardSize: 20 }, createStream(1, 's')), {
    message: /6 shards of 20 need 120 samples, but there are only 100/,
  });
});

test('Dirichlet: small alpha is more skewed than large alpha', (t) => {
  const labels = Int32Array.from({ length: 6000 }, (_, i) => i % 10);
  for (const seed of [1, 2, 3]) {
    const entropy = (alpha: number) =>
      summarizePartition(labels, partitionDirichlet(labels, 20, { alpha }, createStream(seed, 'skew')), 10).meanLabelEntropy;
    const skewed = entropy(0.1);
    const mild = entropy(1);
    const flat = entropy(100);
    // Measured ≈ 1.4, 2.8 and 3.32 bits (log2 10 = 3.32 is the IID ceiling).
    t.true(skewed < mild && mild < flat, `${skewed} < ${mild} < ${flat}`);
    t.true(skewed < 2.2, `alpha 0.1: ${skewed}`);
    t.true(flat > 3.2, `alpha 100: ${flat}`);
  }
});

test('Dirichlet: minSize resamples until every client has enough', (t) => {
  const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 10);
  const parts = partitionDirichlet(labels, 20, { alpha: 0.1, minSize: 20 }, createStream(1, 'min'));
  t.true(coversExactlyOnce(parts, range(2000)));
  t.true(parts.every((p) => p.length >= 20));
  t.throws(() => partitionDirichlet(labels, 20, { alpha: 0.01, minSize: 99, maxAttempts: 3 }, createStream(1, 'min')), {
    message: /no draw in 3 attempts gave every one of 20 clients ≥ 99 samples \(the last draw's smallest client had \d+\); raise alpha/,
  });
  t.throws(() => partitionDirichlet(labels, 20, { alpha: 1, minSize: 101 }, createStream(1, 'min')), {
    message: /20 clients × minSize 101 = 2020 samples needed, but there are only 2000/,
  });
});

test('Dirichlet: more clients than samples is allowed without minSize (some clients are empty)', (t) => {
  const parts = partitionDirichlet([0, 1, 1], 5, { alpha: 1 }, createStream(1, 'tiny'));
  t.is(parts.length, 5);
  t.true(coversExactlyOnce(parts, [0, 1, 2]));
});

test('every partitioner is deterministic per seed and varies with it', (t) => {
  const labels = Int32Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);
  const runs = {
    iid: (s: number) => partitionIid(1000, 10, createStream(s, 'p')),
    shards: (s: number) => partitionShards(labels, 10, {}, createStream(s, 'p')),
    dirichlet: (s: number) => partitionDirichlet(labels, 10, { alpha: 0.5, minSize: 5 }, createStream(s, 'p')),
  };
  for (const [name, run] of Object.entries(runs)) {
    t.deepEqual(run(1), run(1), name);
    t.notDeepEqual(run(1), run(2), name);
  }
});

test('argument validation', (t) => {
  const rng = createStream(1, 'bad');
  t.throws(() => partitionIid(5, 6, rng), { message: /more clients \(6\) than samples \(5\)/ });
  t.throws(() => partitionIid(5.5, 2, rng), { message: /the sample count must be an integer ≥ 0, got 5.5/ });
  t.throws(() => partitionIid(5, 0, rng), { message: /the client count must be an integer ≥ 1, got 0/ });
  t.throws(() => partitionShards([0, 1, 2], 2, {}, rng), { message: /4 shards \(2 clients × 2\) but only 3 samples: more shards than samples/ });
  t.throws(() => partitionShards([0, 1, 2, 3], 1, { shardsPerClient: 1.5 }, rng), { message: /shardsPerClient must be an integer ≥ 1/ });
  t.throws(() => partitionShards([0, 1, 2, 3], 1, { shardSize: 0 }, rng), { message: /shardSize must be an integer ≥ 1/ });
  t.throws(() => partitionShards([0, 0.5, 1, 2], 1, {}, rng), { message: /labels must be non-negative integers, but labels\[1\] is 0.5/ });
  t.throws(() => partitionDirichlet([0, -1], 1, { alpha: 1 }, rng), { message: /labels\[1\] is -1/ });
  t.throws(() => partitionDirichlet([0, 1], 1, { alpha: 0 }, rng), { message: /alpha must be a finite number > 0, got 0/ });
  t.throws(() => partitionDirichlet([0, 1], 1, { alpha: -2 }, rng), { message: /alpha must be a finite number > 0, got -2/ });
  t.throws(() => partitionDirichlet([0, 1], 1, { alpha: NaN }, rng), { message: /alpha must be a finite number > 0, got NaN/ });
  t.throws(() => partitionDirichlet([0, 1], 1, { alpha: 1, minSize: 0.5 }, rng), { message: /minSize must be an integer ≥ 0/ });
  t.throws(() => partitionDirichlet([0, 1], 1.5, { alpha: 1 }, rng), { message: /the client count must be an integer ≥ 1, got 1.5/ });
});

test('Gamma sampling (Marsaglia–Tsang) has the right mean and variance', (t) => {
  const rng = createStream(1, 'gamma');
  for (const shape of [0.3, 1, 2.5, 10]) {
    const xs = Array.from({ length: 40000 }, () => sampleGamma(shape, rng));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
    t.true(Math.abs(mean / shape - 1) < 0.04, `shape ${shape}: mean ${mean}`);
    t.true(Math.abs(variance / shape - 1) < 0.1, `shape ${shape}: variance ${variance}`);
  }
  t.throws(() => sampleLogGamma(0, rng), { message: /shape must be a finite number > 0, got 0/ });
});

test('Dirichlet sampling stays a probability vector even for tiny alpha', (t) => {
  const rng = createStream(2, 'dir');
  for (const alpha of [1e-4, 0.01, 1, 50]) {
    for (let r = 0; r < 50; r++) {
      const p = sampleDirichlet(alpha, 8, rng);
      t.is(p.length, 8);
      t.true(p.every((x) => Number.isFinite(x) && x >= 0));
      t.true(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    }
  }
  // The mean of Dir(a) is a / Σa.
  const sum = [0, 0, 0];
  for (let r = 0; r < 20000; r++) sampleDirichlet([1, 2, 7], 0, rng).forEach((x, i) => (sum[i] += x / 20000));
  sum.forEach((m, i) => t.true(Math.abs(m - [0.1, 0.2, 0.7][i]) < 0.01, `component ${i}: ${m}`));
  t.throws(() => sampleDirichlet(1, 0, rng), { message: /dimension must be a positive integer/ });
  t.throws(() => sampleDirichlet([], 0, rng), { message: /empty/ });
});

test('label histogram, entropy and summary', (t) => {
  const labels = [0, 1, 1, 2, 2, 2];
  t.deepEqual(labelHistogram(labels, undefined, 4), [1, 2, 3, 0]);
  t.deepEqual(labelHistogram(labels, [3, 4, 0], 3), [1, 0, 2]);
  t.throws(() => labelHistogram(labels, [6], 3), { message: /index 6 is outside 0..5/ });
  t.throws(() => labelHistogram(labels, undefined, 2), { message: /labels\[3\] = 2 is outside 0..1/ });
  t.is(histogramEntropy([5, 5]), 1);
  t.is(histogramEntropy([0, 0]), 0);
  const s = summarizePartition(labels, [[0, 1], [2, 3, 4, 5], []], 3);
  t.is(s.assigned, 6);
  t.is(s.minSize, 0);
  t.is(s.maxSize, 4);
  t.is(s.meanDistinctLabels, (2 + 2 + 0) / 3);
  t.deepEqual(s.histograms, [[1, 1, 0], [0, 1, 3], [0, 0, 0]]);
  t.is(formatPartitionSummary(s).split(',')[0], '3 clients');
  t.regex(formatPartitionSummary(s), /^3 clients, 6 samples, size 0\.\.4 \(mean 2\.0\), 1\.33 labels\/client, entropy 0\.91 bits$/);
});
