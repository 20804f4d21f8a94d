import test from 'ava';
import fc from 'fast-check';
import { createStream } from '../src/runtime/rng.js';
import {
  RING_2_64,
  addShares,
  decodeFixed,
  encodeFixed,
  fixedScale,
  randomElements,
  reconstructAdditive,
  reducer,
  shareAdditive,
  subShares,
  toSigned,
} from '../src/fl/secure/crypto/additive.js';
import {
  beaverMaskShares,
  beaverMultiply,
  beaverProductShare,
  beaverTriple,
  floorDiv,
  truncateShares,
  truncateSharesLocal,
  truncationPair,
} from '../src/fl/secure/crypto/beaver.js';

const MERSENNE_61 = (1n << 61n) - 1n; // a prime field
const FIELDS = [RING_2_64, MERSENNE_61, 1n << 32n, 1_000_003n];

const fieldArb = fc.constantFrom(...FIELDS);

/** Documented error bound of one fixed-point Beaver product (see beaver.ts). */
function productBound(x: number, y: number, S: number): number {
  return 2 / S + (Math.abs(x) + Math.abs(y)) / (2 * S) + 1 / (4 * S * S) + 1e-12;
}

test('additive shares reconstruct to the value mod Q (property)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), { maxLength: 40 }),
      fc.integer({ min: 2, max: 7 }),
      fieldArb,
      fc.integer(),
      (values, parties, field, seed) => {
        const shares = shareAdditive(values, parties, createStream(seed, 'share'), field);
        const mod = reducer(field);
        return shares.length === parties && reconstructAdditive(shares, field).every((v, i) => v === mod(values[i]));
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('same seed gives the same shares; BigInt64Array input works', (t) => {
  const values = BigInt64Array.of(-5n, 0n, 7n, -(1n << 62n));
  const a = shareAdditive(values, 3, createStream(1, 's'));
  t.deepEqual(a, shareAdditive(values, 3, createStream(1, 's')));
  t.notDeepEqual(a, shareAdditive(values, 3, createStream(2, 's')));
  t.deepEqual(reconstructAdditive(a).map((v) => toSigned(v, RING_2_64)), [...values]);
  t.true(a.flat().every((v) => v >= 0n && v < RING_2_64));
  t.throws(() => shareAdditive(values, 1, createStream(1, 's')), { instanceOf: RangeError });
  t.throws(() => reconstructAdditive([[1n], [1n, 2n]]), { instanceOf: RangeError });
});

test('local share arithmetic is homomorphic', (t) => {
  const rng = createStream(3, 'hom');
  const x = [5n, -3n, 100n];
  const y = [7n, 9n, -100n];
  for (const field of FIELDS) {
    const mod = reducer(field);
    const X = shareAdditive(x, 3, rng, field);
    const Y = shareAdditive(y, 3, rng, field);
    t.deepEqual(reconstructAdditive(X.map((s, p) => addShares(s, Y[p], field)), field), x.map((v, i) => mod(v + y[i])));
    t.deepEqual(reconstructAdditive(X.map((s, p) => subShares(s, Y[p], field)), field), x.map((v, i) => mod(v - y[i])));
  }
});

test('fixed precision encode/decode: error ≤ 0.5 / scale, negatives as Q − |x|', (t) => {
  t.deepEqual(encodeFixed([1.5, -1.5, 0]), [1500n, RING_2_64 - 1500n, 0n]);
  t.deepEqual(encodeFixed([-0.25], { base: 2, precisionFractional: 4, field: 97n }), [97n - 4n]);
  t.is(fixedScale(), 1000n);
  t.is(fixedScale({ base: 2, precisionFractional: 16 }), 65536n);
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 50 }),
      fc.constantFrom({ base: 10, precisionFractional: 3 }, { base: 2, precisionFractional: 16 }, { base: 10, precisionFractional: 0 }),
      fc.constantFrom(RING_2_64, MERSENNE_61),
      (xs, opts, field) => {
        const o = { ...opts, field };
        const back = decodeFixed(encodeFixed(xs, o), o);
        const scale = opts.base ** opts.precisionFractional;
        return xs.every((x, i) => Math.abs(back[i] - x) <= 0.5 / scale + Math.abs(x) * 1e-15);
      },
    ),
  );
  t.throws(() => encodeFixed([1e6], { field: 1000n }), { instanceOf: RangeError, message: /overflows/ });
  t.throws(() => encodeFixed([Infinity]), { instanceOf: RangeError, message: /not finite/ });
  t.throws(() => encodeFixed([1], { base: 1 }), { instanceOf: RangeError });
});

test('integer Beaver multiplication is exact (property)', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 5 }), fieldArb, fc.integer(), (parties, field, seed) => {
      const rng = createStream(seed, 'beaver-int');
      const mod = reducer(field);
      const x = randomElements(20, rng, field);
      const y = randomElements(20, rng, field);
      const z = beaverMultiply(shareAdditive(x, parties, rng, field), shareAdditive(y, parties, rng, field), beaverTriple(20, parties, rng, field), field);
      return reconstructAdditive(z, field).every((v, i) => v === mod(x[i] * y[i]));
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('Beaver step by step: triple is consistent, party 0 alone adds d·e', (t) => {
  const rng = createStream(4, 'steps');
  const field = MERSENNE_61;
  const parties = 3;
  const triple = beaverTriple(10, parties, rng, field);
  const mod = reducer(field);
  const [a, b, c] = [triple.a, triple.b, triple.c].map((s) => reconstructAdditive(s, field));
  t.deepEqual(c, a.map((v, i) => mod(v * b[i])));
  const x = [3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n];
  const y = x.map((v) => v + 100n);
  const X = shareAdditive(x, parties, rng, field);
  const Y = shareAdditive(y, parties, rng, field);
  const masks = X.map((xs, p) => beaverMaskShares(xs, Y[p], { a: triple.a[p], b: triple.b[p] }, field));
  const d = reconstructAdditive(masks.map((m) => m.d), field);
  const e = reconstructAdditive(masks.map((m) => m.e), field);
  t.deepEqual(d, x.map((v, i) => mod(v - a[i])));
  const z = X.map((_, p) => beaverProductShare(p, d, e, { a: triple.a[p], b: triple.b[p], c: triple.c[p] }, field));
  t.deepEqual(reconstructAdditive(z, field), x.map((v, i) => v * y[i]));
  t.deepEqual(z, beaverMultiply(X, Y, triple, field));
  // If every party added d·e, the result would be off by (parties − 1)·d·e.
  const wrong = X.map((_, p) => beaverProductShare(0, d, e, { a: triple.a[p], b: triple.b[p], c: triple.c[p] }, field));
  t.notDeepEqual(reconstructAdditive(wrong, field), reconstructAdditive(z, field));
});

test('fixed-point Beaver product matches the float product within the documented bound (property)', (t) => {
  const S = 1000;
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true })), { minLength: 1, maxLength: 40 }),
      fc.constantFrom(RING_2_64, MERSENNE_61),
      fc.integer(),
      (parties, pairs, field, seed) => {
        const rng = createStream(seed, 'fixmul');
        const opts = { field };
        const xs = pairs.map((p) => p[0]);
        const ys = pairs.map((p) => p[1]);
        const X = shareAdditive(encodeFixed(xs, opts), parties, rng, field);
        const Y = shareAdditive(encodeFixed(ys, opts), parties, rng, field);
        const Z = beaverMultiply(X, Y, beaverTriple(xs.length, parties, rng, field), field);
        const divisor = fixedScale(opts);
        const truncated = truncateShares(Z, truncationPair(xs.length, parties, divisor, rng, field), divisor, field);
        const got = decodeFixed(reconstructAdditive(truncated, field), opts);
        // Before truncation the product decodes exactly at scale S² (no truncation error).
        const untruncated = decodeFixed(reconstructAdditive(Z, field), { ...opts, precisionFractional: 6 });
        return xs.every(
          (x, i) =>
            Math.abs(got[i] - x * ys[i]) <= productBound(x, ys[i], S) &&
            Math.abs(untruncated[i] - x * ys[i]) <= (Math.abs(x) + Math.abs(ys[i])) / (2 * S) + 1 / (4 * S * S) + 1e-9,
        );
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('PySyft-style local truncation works for 2 parties and refuses more', (t) => {
  const rng = createStream(6, 'local');
  const n = 2000;
  const xs = Array.from({ length: n }, () => rng.uniform(-10, 10));
  const ys = Array.from({ length: n }, () => rng.uniform(-10, 10));
  const X = shareAdditive(encodeFixed(xs), 2, rng);
  const Y = shareAdditive(encodeFixed(ys), 2, rng);
  const Z = beaverMultiply(X, Y, beaverTriple(n, 2, rng));
  const got = decodeFixed(reconstructAdditive(truncateSharesLocal(Z, 1000n)));
  xs.forEach((x, i) => {
    if (Math.abs(got[i] - x * ys[i]) > productBound(x, ys[i], 1000)) t.fail(`element ${i}: ${got[i]} vs ${x * ys[i]}`);
  });
  t.throws(() => truncateSharesLocal([[1n], [2n], [3n]], 1000n), { instanceOf: RangeError, message: /only correct for 2 parties/ });
  t.pass();
});

// Its speed is measured in bench/ (tests never assert wall-clock time).
test('10k-element fixed-point multiplication: every product within its error bound', (t) => {
  const rng = createStream(7, 'perf');
  const n = 10_000;
  const parties = 3;
  const xs = Array.from({ length: n }, () => rng.uniform(-10, 10));
  const ys = Array.from({ length: n }, () => rng.uniform(-10, 10));
  const X = shareAdditive(encodeFixed(xs), parties, rng);
  const Y = shareAdditive(encodeFixed(ys), parties, rng);
  const triple = beaverTriple(n, parties, rng);
  const pair = truncationPair(n, parties, 1000n, rng);
  const Z = truncateShares(beaverMultiply(X, Y, triple), pair, 1000n);
  const got = decodeFixed(reconstructAdditive(Z));
  t.true(xs.every((x, i) => Math.abs(got[i] - x * ys[i]) <= productBound(x, ys[i], 1000)));
});

test('a single additive share is uniform-looking and uncorrelated with the secret', (t) => {
  const trials = 4000;
  const buckets = 16;
  for (const field of [RING_2_64, MERSENNE_61]) {
    const rng = createStream(8, 'uniform');
    const secrets: number[] = [];
    const firstShares: number[] = [];
    const counts = [new Array(buckets).fill(0), new Array(buckets).fill(0)];
    for (let i = 0; i < trials; i++) {
      // Secrets alternate between tiny and huge, to give any leak a strong signal.
      const secret = i % 2 === 0 ? BigInt(i) : field - 1n - BigInt(i);
      const shares = shareAdditive([secret], 3, rng, field);
      secrets.push(i % 2);
      const s0 = Number((shares[0][0] * BigInt(buckets)) / field);
      const sLast = Number((shares[2][0] * BigInt(buckets)) / field);
      counts[0][s0]++;
      counts[1][sLast]++;
      firstShares.push(Number((shares[2][0] * 1000n) / field) / 1000);
    }
    for (const c of counts) {
      const expected = trials / buckets;
      const chi2 = c.reduce((s, v) => s + (v - expected) ** 2 / expected, 0);
      t.true(chi2 < 50, `chi2 ${chi2.toFixed(1)} (df 15)`);
    }
    // Pearson correlation between "secret is huge" and the (remainder) share value.
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const ms = mean(secrets);
    const mf = mean(firstShares);
    let cov = 0;
    let vs = 0;
    let vf = 0;
    for (let i = 0; i < trials; i++) {
      cov += (secrets[i] - ms) * (firstShares[i] - mf);
      vs += (secrets[i] - ms) ** 2;
      vf += (firstShares[i] - mf) ** 2;
    }
    const r = cov / Math.sqrt(vs * vf);
    t.true(Math.abs(r) < 0.08, `correlation ${r.toFixed(3)}`); // ~5 sd for 4000 trials
  }
});

test('floorDiv floors toward −∞', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), (a, d) => floorDiv(BigInt(a), BigInt(d)) === BigInt(Math.floor(a / d))),
  );
  t.is(floorDiv(-1000n, 1000n), -1n);
  t.is(floorDiv(-1001n, 1000n), -2n);
  t.throws(() => truncationPair(1, 2, 0n, createStream(0, 'x')), { instanceOf: RangeError });
});
