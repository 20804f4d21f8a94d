/**
 * Seeded device profiles: constant, uniform, lognormal{median, sigma} and weighted tiers,
 * drawn per field from the run's `devices/profiles/<field>` streams in client-index order;
 * same seed ⇒ same profiles; a field's draws do not depend on another field's distribution.
 */
import test from 'ava';
import { DeviceProfiles, drawProfiles, PROFILE_FIELDS, type ProfileSpec, type RngSource, profileStreamName } from '../src/fl/devices/device-profiles.js';
import { devicePopulationFrom } from '../src/fl/devices/device-population.js';
import { DevicesSettingsSchema } from '../src/fl/devices/devices-settings.js';
import { distributionSchema, samplerOf } from '../src/fl/devices/distributions.js';
import { RngRegistry, createStream } from '../src/runtime/rng.js';
import { SimulationCore as Simulation } from '../src/runtime/simulation.js';
import { chiSquareQuantile } from './helpers/statistics.js';

const rngsOf = (seed: number): RngSource => {
  const registry = new RngRegistry(seed);
  return { rng: (name) => registry.stream(name) };
};

const SPEC: ProfileSpec = {
  samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 0.8 },
  uploadBytesPerSecond: { kind: 'tiers', tiers: [{ value: 125_000, weight: 3 }, { value: 2_500_000, weight: 1 }] },
  downloadBytesPerSecond: { kind: 'uniform', min: 1e6, max: 5e6 },
  latencyMs: 30,
};

const columns = (profiles: DeviceProfiles) => PROFILE_FIELDS.map((f) => Array.from(profiles.column(f)));

test('the same seed gives the same profiles, another seed other ones; profile(i) reads the arrays', (t) => {
  const a = drawProfiles(SPEC, 500, rngsOf(1));
  const b = drawProfiles(SPEC, 500, rngsOf(1));
  const c = drawProfiles(SPEC, 500, rngsOf(2));
  t.deepEqual(columns(a), columns(b));
  t.notDeepEqual(columns(a).slice(0, 3), columns(c).slice(0, 3));
  t.deepEqual(a.profile(7), {
    samplesPerSecond: a.column('samplesPerSecond')[7],
    uploadBytesPerSecond: a.column('uploadBytesPerSecond')[7],
    downloadBytesPerSecond: a.column('downloadBytesPerSecond')[7],
    latencyMs: 30,
  });
  t.is(a.byteLength, 500 * 4 * 8, 'four Float64Arrays, nothing else');
});

test('each value is the k-th draw of its field\'s own stream, in client-index order', (t) => {
  const profiles = drawProfiles(SPEC, 50, rngsOf(9));
  const stream = createStream(9, profileStreamName('samplesPerSecond'));
  const expected = Array.from({ length: 50 }, () => 50 * Math.exp(0.8 * stream.normal()));
  t.deepEqual(Array.from(profiles.column('samplesPerSecond')), expected);
});

test('changing one field\'s distribution never moves another field\'s draws', (t) => {
  const a = drawProfiles(SPEC, 200, rngsOf(4));
  const b = drawProfiles({ ...SPEC, latencyMs: { kind: 'uniform', min: 10, max: 500 }, uploadBytesPerSecond: 1e6 }, 200, rngsOf(4));
  t.deepEqual(Array.from(a.column('samplesPerSecond')), Array.from(b.column('samplesPerSecond')));
  t.deepEqual(Array.from(a.column('downloadBytesPerSecond')), Array.from(b.column('downloadBytesPerSecond')));
  t.notDeepEqual(Array.from(a.column('latencyMs')), Array.from(b.column('latencyMs')));
});

test('a constant (and a degenerate uniform or a σ = 0 lognormal) draws nothing from its stream', (t) => {
  for (const distribution of [42, { kind: 'uniform' as const, min: 42, max: 42 }, { kind: 'lognormal' as const, median: 42, sigma: 0 }, { kind: 'tiers' as const, tiers: [{ value: 42, weight: 1 }] }]) {
    const stream = createStream(3, 'x');
    const draw = samplerOf(distribution, stream);
    t.is(draw(), 42);
    t.is(stream.next(), createStream(3, 'x').next(), `${JSON.stringify(distribution)} left the stream untouched`);
  }
});

test('uniform stays in [min, max); lognormal has the given median and σ of its log', (t) => {
  const n = 20_000;
  const uniform = samplerOf({ kind: 'uniform', min: 10, max: 20 }, createStream(5, 'u'));
  const u = Array.from({ length: n }, uniform);
  t.true(u.every((x) => x >= 10 && x < 20));
  t.true(Math.abs(u.reduce((s, x) => s + x, 0) / n - 15) < 0.1, 'mean 15 within 0.1 (σ of the mean ≈ 0.02)');

  const lognormal = samplerOf({ kind: 'lognormal', median: 50, sigma: 0.8 }, createStream(5, 'l'));
  const logs = Array.from({ length: n }, () => Math.log(lognormal())).sort((a, b) => a - b);
  const median = Math.exp(logs[n / 2]);
  t.true(Math.abs(median / 50 - 1) < 0.03, `median ${median} ≈ 50 (its log's standard error ≈ 0.8·1.25/√n ≈ 0.007)`);
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  t.true(Math.abs(sd - 0.8) < 0.02, `σ of the log ${sd} ≈ 0.8`);
});

test('tiers are drawn in proportion to their weights (χ² test at α = 1e-4)', (t) => {
  const tiers = [{ value: 1, weight: 1 }, { value: 2, weight: 2 }, { value: 3, weight: 5 }];
  const draw = samplerOf({ kind: 'tiers', tiers }, createStream(6, 't'));
  const n = 16_000;
  const seen = [0, 0, 0];
  for (let i = 0; i < n; i++) seen[draw() - 1]++;
  const expected = [n / 8, (2 * n) / 8, (5 * n) / 8];
  const chi2 = seen.reduce((s, o, k) => s + (o - expected[k]) ** 2 / expected[k], 0);
  t.true(chi2 < chiSquareQuantile(1e-4, 2) * 1.05, `χ² = ${chi2} (counts ${seen})`);
});

test('the settings refuse impossible distributions: a speed ≤ 0, max < min, empty tiers, unknown fields', (t) => {
  const speed = distributionSchema(true);
  t.false(speed.safeParse(0).success);
  t.false(speed.safeParse(-3).success);
  t.false(speed.safeParse({ kind: 'uniform', min: 0, max: 5 }).success);
  t.false(speed.safeParse({ kind: 'uniform', min: 5, max: 4 }).success);
  t.false(speed.safeParse({ kind: 'tiers', tiers: [] }).success);
  t.false(speed.safeParse({ kind: 'lognormal', median: 5, sigma: 1, mean: 3 }).success);
  t.true(distributionSchema(false).safeParse(0).success, 'a latency may be 0');
  t.false(DevicesSettingsSchema.safeParse({ profiles: { speed: 3 } }).success);
  t.false(DevicesSettingsSchema.safeParse({ profiles: { samplesPerSecond: 3 }, availability: {} }).success, 'availability needs file or diurnal');
});

test('devicePopulationFrom draws from the Simulation\'s streams: same seed, same population; a field given nowhere costs nothing', (t) => {
  const settings = DevicesSettingsSchema.parse({ profiles: { samplesPerSecond: { kind: 'lognormal', median: 50, sigma: 0.8 }, latencyMs: 20 } });
  const ids = Array.from({ length: 300 }, (_, i) => `client-${String(i).padStart(3, '0')}`);
  const a = devicePopulationFrom(settings, ids, new Simulation({ seed: 12 }), '.');
  const b = devicePopulationFrom(settings, ids, new Simulation({ seed: 12 }), '.');
  const c = devicePopulationFrom(settings, ids, new Simulation({ seed: 13 }), '.');
  t.deepEqual(columns(a.profiles), columns(b.profiles));
  t.notDeepEqual(a.profile(0).samplesPerSecond, c.profile(0).samplesPerSecond);
  t.is(a.profile(5).samplesPerSecond, 50 * Math.exp(0.8 * (() => {
    const s = createStream(12, 'devices/profiles/samplesPerSecond');
    for (let i = 0; i < 5; i++) s.normal();
    return s.normal();
  })()));
  t.deepEqual({ up: a.profile(5).uploadBytesPerSecond, down: a.profile(5).downloadBytesPerSecond, latency: a.profile(5).latencyMs }, { up: Infinity, down: Infinity, latency: 20 });
  t.is(a.availability, undefined, 'no availability block: always online');
});
