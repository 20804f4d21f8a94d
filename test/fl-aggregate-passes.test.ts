/**
 * The aggregation's sum adds several reports per pass over the accumulator
 * (round-aggregate.ts addScaledReports): the same float64 additions in the same order as
 * adding one report at a time, so the same bits — checked here against that one-at-a-time
 * sum on random reports, scales and layer shapes (any report count, so every mix of four-report
 * passes and single ones is met).
 */
import test from 'ava';
import fc from 'fast-check';
import { addScaledReports } from '../src/fl/rounds/round-aggregate.js';

/** The sum as it was written before: one report at a time, acc[j] += c·v[j]. */
function oneAtATime(acc: Float64Array[], reports: ReadonlyArray<readonly Float32Array[]>, scales: readonly number[]): void {
  reports.forEach((report, k) => {
    for (let l = 0; l < acc.length; l++) for (let j = 0; j < acc[l].length; j++) acc[l][j] += scales[k] * report[l][j];
  });
}

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((x, j) => Object.is(x, b[j]));

const layerLengths = fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 });
// Values of every magnitude (and -0), so any reordering of the additions would show in the last bits.
const value = fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ min: -1, max: 1, noNaN: true }), fc.constant(-0));
const scale = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(1));

const world = layerLengths.chain((lengths) =>
  fc.record({
    lengths: fc.constant(lengths),
    start: fc.tuple(...lengths.map((n) => fc.array(fc.double({ noNaN: true, min: -1e3, max: 1e3 }), { minLength: n, maxLength: n }))),
    reports: fc.array(
      fc.record({
        layers: fc.tuple(...lengths.map((n) => fc.array(value, { minLength: n, maxLength: n }).map((a) => Float32Array.from(a)))),
        scale,
      }),
      { minLength: 0, maxLength: 11 },
    ),
  }),
);

test('addScaledReports gives the one-at-a-time sum bit for bit, for any number of reports, scales and layer shapes', (t) => {
  fc.assert(
    fc.property(world, ({ start, reports }) => {
      const expected = start.map((a) => Float64Array.from(a));
      const got = start.map((a) => Float64Array.from(a));
      oneAtATime(expected, reports.map((r) => r.layers), reports.map((r) => r.scale));
      addScaledReports(got, reports.map((r) => r.layers), reports.map((r) => r.scale));
      return got.every((layer, l) => sameBits(layer, expected[l]));
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a sum whose order matters: adding the same four reports in another order gives other bits, and addScaledReports keeps the given order', (t) => {
  // 1e16 + 1 + 1 - 1e16 is 0 when added left to right in float64 (each +1 is lost), 2 when the ones come first.
  const report = (v: number) => [Float32Array.of(v)];
  const reports = [report(1e16), report(1), report(1), report(-1e16)];
  const acc = [new Float64Array(1)];
  addScaledReports(acc, reports, [1, 1, 1, 1]);
  const reordered = [new Float64Array(1)];
  addScaledReports(reordered, [reports[1], reports[2], reports[0], reports[3]], [1, 1, 1, 1]);
  t.is(acc[0][0], Math.fround(1e16) + 1 + 1 + -Math.fround(1e16));
  t.not(acc[0][0], reordered[0][0]);
});
