/**
 * The compact availability: [start, end) edges exactly, O(log) queries agreeing with a
 * brute-force scan on random populations (onlineCount from the sorted transitions), the
 * builder's refusals, and the memory of a large population (typed arrays only).
 */
import test from 'ava';
import fc from 'fast-check';
import { AvailabilityBuilder, type IntervalAvailability } from '../src/fl/devices/availability.js';
import { ArrayDevicePopulation } from '../src/fl/devices/device-population.js';
import { drawProfiles } from '../src/fl/devices/device-profiles.js';
import { FlConfigError } from '../src/fl/errors.js';
import { RngRegistry } from '../src/runtime/rng.js';

/** Clients' intervals (ms) → availability; `null`: always online. */
function build(clients: Array<Array<[number, number]> | null>): IntervalAvailability {
  const builder = new AvailabilityBuilder(clients.length);
  clients.forEach((intervals, i) => {
    if (intervals === null) return builder.alwaysOnline(i);
    builder.startClient(i);
    for (const [s, e] of intervals) builder.add(s, e);
  });
  return builder.build();
}

test('a client is online exactly on its [start, end) intervals: at the start yes, at the end no', (t) => {
  const a = build([[[1000, 2000], [3000, 5000]], null, [], [[0, Infinity]]]);
  const online = (t0: number) => [0, 1, 2, 3].map((i) => a.isOnline(i, t0));
  t.deepEqual(online(0), [false, true, false, true]);
  t.deepEqual(online(999.999), [false, true, false, true]);
  t.deepEqual(online(1000), [true, true, false, true]);
  t.deepEqual(online(1999.999), [true, true, false, true]);
  t.deepEqual(online(2000), [false, true, false, true]);
  t.deepEqual(online(3000), [true, true, false, true]);
  t.deepEqual(online(5000), [false, true, false, true]);
  t.deepEqual(online(1e12), [false, true, false, true]);
  t.is(a.onlineUntil(0, 1500), 2000);
  t.is(a.onlineUntil(0, 3000), 5000);
  t.is(a.onlineUntil(0, 2500), undefined);
  t.is(a.onlineUntil(1, 7), Infinity);
  t.is(a.onlineUntil(2, 7), undefined);
  t.deepEqual([0, 1000, 2000, 4999, 5000, 6000].map((t0) => a.onlineCount(t0)), [2, 3, 2, 3, 2, 2]);
  t.deepEqual([0, 1500, 2000, 5000].map((t0) => a.nextOnlineAt(0, t0)), [1000, 1500, 3000, undefined]);
  t.is(a.nextOnlineAt(2, 0), undefined, 'a client with no interval is never online');
  t.deepEqual(a.intervalsOf(0), [[1000, 2000], [3000, 5000]]);
  t.is(a.intervalCount, 4);
});

test('clients skipped by the builder have no interval; indexes out of range are refused', (t) => {
  const builder = new AvailabilityBuilder(4);
  builder.startClient(2);
  builder.add(10, 20);
  const a = builder.build();
  t.deepEqual([0, 1, 2, 3].map((i) => a.isOnline(i, 15)), [false, false, true, false]);
  t.throws(() => a.isOnline(4, 0), { message: /no client at index 4/ });
  t.throws(() => a.isOnline(-1, 0));
});

test('the builder refuses an empty or reversed interval, one before the previous end, and NaN', (t) => {
  const cases: Array<[Array<[number, number]>, RegExp]> = [
    [[[10, 10]], /end after the start \(10\), found 10/],
    [[[10, 5]], /end after the start/],
    [[[0, 100], [50, 200]], /start \(50\) before the previous interval ends \(100\)/],
    [[[100, 200], [0, 50]], /start \(0\) before the previous interval ends \(200\)/],
    [[[NaN, 5]], /NaN/],
  ];
  for (const [intervals, message] of cases) {
    t.throws(() => build([intervals]), { instanceOf: FlConfigError, message }, JSON.stringify(intervals));
  }
  t.notThrows(() => build([[[0, 100], [100, 200]]]), 'touching intervals are fine: [0, 100) then [100, 200)');
});

test('on random populations every query agrees with a scan of the intervals', (t) => {
  const client = fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    {
      weight: 6,
      arbitrary: fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 30 })), { maxLength: 6 }).map((gaps) => {
        // Gaps and lengths → sorted, disjoint intervals.
        let at = 0;
        return gaps.map(([gap, length]) => {
          const start = at + gap;
          at = start + length;
          return [start, at] as [number, number];
        });
      }),
    },
  );
  fc.assert(
    fc.property(fc.array(client, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: -5, max: 500 }), { minLength: 1, maxLength: 20 }), (clients, times) => {
      const a = build(clients);
      for (const t0 of times) {
        let count = 0;
        clients.forEach((intervals, i) => {
          const holding = intervals === null ? [-Infinity, Infinity] : intervals.find(([s, e]) => s <= t0 && t0 < e);
          const expected = holding !== undefined;
          if (a.isOnline(i, t0) !== expected) throw new Error(`isOnline(${i}, ${t0})`);
          if (a.onlineUntil(i, t0) !== (holding ? holding[1] : undefined)) throw new Error(`onlineUntil(${i}, ${t0})`);
          if (expected) count++;
        });
        if (a.onlineCount(t0) !== count) throw new Error(`onlineCount(${t0}) = ${a.onlineCount(t0)}, scan ${count}`);
      }
    }),
    { seed: 16, numRuns: 300 },
  );
  t.pass();
});

test('memory: 100,000 clients with profiles and 4 intervals each hold 164 bytes a client in typed arrays (well under 1 KB)', (t) => {
  const n = 100_000;
  const registry = new RngRegistry(1);
  const profiles = drawProfiles(
    { samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 }, uploadBytesPerSecond: 1e5, downloadBytesPerSecond: 1e6, latencyMs: 50 },
    n,
    { rng: (name) => registry.stream(name) },
  );
  const builder = new AvailabilityBuilder(n);
  for (let i = 0; i < n; i++) {
    builder.startClient(i);
    for (let k = 0; k < 4; k++) builder.add(k * 86_400_000 + (i % 3600) * 1000, k * 86_400_000 + 8 * 3_600_000);
  }
  const population = new ArrayDevicePopulation(profiles, builder.build());
  // 4 fields × 8 B + offsets 4 B + 4 intervals × (start, end, sorted start, sorted end) × 8 B = 164 B (+ 4 B once).
  t.is(population.byteLength, n * 164 + 4);
  t.true(population.byteLength / n < 1024);
  // Every day-0 interval starts by 00:59:59 and ends at 08:00.
  t.is(population.availability!.onlineCount(3_600_000), n);
  t.is(population.availability!.onlineCount(9 * 3_600_000), 0);
});
