/**
 * The seeded synthetic diurnal generator: deterministic under its seed, well-formed
 * sessions, online mostly at night, and the same trace whether made by `fedsim trace
 * diurnal` into a file or by an experiment's `availability: { diurnal }` under the same seed.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { devicePopulationFrom } from '../src/fl/devices/device-population.js';
import { DevicesSettingsSchema } from '../src/fl/devices/devices-settings.js';
import { DiurnalSettingsSchema, generateDiurnal, type DiurnalInput } from '../src/fl/devices/diurnal.js';
import { createStream } from '../src/runtime/rng.js';
import { SimulationCore } from '../src/runtime/simulation.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const HOUR = 3600;

function sessions(input: DiurnalInput, clients: number, seed: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = Array.from({ length: clients }, () => []);
  generateDiurnal(DiurnalSettingsSchema.parse(input), clients, createStream(seed, 'devices/diurnal'), (i, s, e) => out[i].push([s, e]));
  return out;
}

test('the same seed and parameters give the same trace; another seed another one', (t) => {
  t.deepEqual(sessions({ days: 3 }, 50, 1), sessions({ days: 3 }, 50, 1));
  t.notDeepEqual(sessions({ days: 3 }, 50, 1), sessions({ days: 3 }, 50, 2));
});

test('sessions are whole seconds, sorted, disjoint and inside [0, days)', (t) => {
  const all = sessions({ days: 2.5, daySessions: 4, daySessionMinutes: 90 }, 300, 3);
  for (const client of all) {
    let previousEnd = -1;
    for (const [s, e] of client) {
      t.true(Number.isInteger(s) && Number.isInteger(e));
      t.true(s >= 0 && e <= 2.5 * 24 * HOUR && e > s);
      t.true(s > previousEnd, 'disjoint, and touching sessions merged');
      previousEnd = e;
    }
  }
});

test('one time zone, every night, no daytime sessions: over 90% online at 02:00 (≈ 95% expected: P(7·e^(0.3Z) h outlasts the ~4 h to 02:00)), under 1% at 14:00', (t) => {
  const all = sessions({ days: 3, timeZoneSpreadHours: 0, nightProbability: 1, daySessions: 0 }, 1000, 4);
  const onlineAt = (s: number) => all.filter((client) => client.some(([a, b]) => a <= s && s < b)).length;
  t.true(onlineAt(26 * HOUR) > 900, `02:00 of day 1: ${onlineAt(26 * HOUR)}`);
  t.true(onlineAt(38 * HOUR) < 10, `14:00 of day 1: ${onlineAt(38 * HOUR)}`);
  t.true(onlineAt(2 * HOUR) > 900, 'the night that began before day 0 counts');
  const spread = sessions({ days: 3, timeZoneSpreadHours: 12, nightProbability: 1, daySessions: 0 }, 1000, 4);
  const spreadAt = (s: number) => spread.filter((client) => client.some(([a, b]) => a <= s && s < b)).length;
  t.true(spreadAt(38 * HOUR) > 20, 'time zones spread the nights over the UTC day');
});

test('`fedsim trace diurnal` writes the trace an experiment\'s `availability: { diurnal }` generates under the same seed; bad flags exit 2', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'd.json');
  const [made, bad, missing] = await Promise.all([
    fedsim('trace', 'diurnal', '--clients', '30', '--days', '3', '--seed', '11', '--night-probability', '0.6', '--time-zone-spread-hours', '4', '-o', out),
    fedsim('trace', 'diurnal', '--clients', '30', '--days', '3', '--seed', '11', '--night-probability', '2'),
    fedsim('trace', 'diurnal', '--clients', '30', '--seed', '11'),
  ]);
  t.is(made.code, 0, made.stderr);
  t.regex(made.stderr, /^wrote .*d\.json: 30 clients, \d+ online intervals over 3 days \(seed 11\)\n$/);
  const ids = Array.from({ length: 30 }, (_, i) => `client-${String(i).padStart(2, '0')}`);
  const fromFile = devicePopulationFrom(DevicesSettingsSchema.parse({ availability: { file: out } }), ids, new SimulationCore({ seed: 999 }), dir);
  const generated = devicePopulationFrom(DevicesSettingsSchema.parse({ availability: { diurnal: { days: 3, nightProbability: 0.6, timeZoneSpreadHours: 4 } } }), ids, new SimulationCore({ seed: 11 }), dir);
  for (let i = 0; i < 30; i++) t.deepEqual(fromFile.availability!.intervalsOf(i), generated.availability!.intervalsOf(i));
  t.is(bad.code, 2);
  t.is(bad.stderr, 'error: --night-probability 2: give a number <=1.\n');
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^error: --days is required/);
});

test('the shipped trace is what its recorded command makes', async (t) => {
  const shipped = readFileSync('traces/diurnal-100x2d.json', 'utf8');
  const { source } = JSON.parse(shipped) as { source: string };
  t.regex(source, /^fedsim trace diurnal --clients 100 --seed 7 --days 2 /);
  const made = await fedsim(...source.replace(/^fedsim /, '').split(' '));
  t.is(made.code, 0, made.stderr);
  t.is(made.stdout, shipped);
});
