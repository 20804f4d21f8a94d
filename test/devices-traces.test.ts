/**
 * Device trace files (JSON and CSV) through an experiment's `devices:` settings: a trace
 * makes a client unavailable exactly when it says, and every bad trace is refused naming
 * the file, the line and the field — unknown client, overlapping or unsorted intervals,
 * end ≤ start, a negative or zero speed, NaN, a duplicate id, a missing column, run
 * clients absent from the trace (unless a default is given).
 */
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { describeIssues } from '../src/scenario/document-errors.js';
import { devicePopulationFrom } from '../src/fl/devices/device-population.js';
import { DevicesSettingsSchema, type DevicesSettingsInput } from '../src/fl/devices/devices-settings.js';
import { DeviceTraceError } from '../src/fl/devices/trace-errors.js';
import { RngRegistry } from '../src/runtime/rng.js';
import { tempDir } from './helpers/fedsim-cli.js';

const IDS = ['client-0', 'client-1', 'client-2'];
const rngs = () => {
  const registry = new RngRegistry(5);
  return { rng: (name: string) => registry.stream(name) };
};

const JSON_TRACE = `{
  "format": "fedsim-devices",
  "version": 1,
  "clients": [
    { "id": "client-0", "samplesPerSecond": 100, "uploadBytesPerSecond": 1000, "downloadBytesPerSecond": 2000, "latencyMs": 10, "online": [[10, 20], [30, 40]] },
    { "id": "client-1", "samplesPerSecond": 50, "uploadBytesPerSecond": 1000, "downloadBytesPerSecond": 2000, "latencyMs": 0 },
    { "id": "client-2", "samplesPerSecond": 25, "uploadBytesPerSecond": 1000, "downloadBytesPerSecond": 2000, "latencyMs": 5, "online": [[0, null]] }
  ]
}
`;

/** Writes `files` into a fresh directory and builds the population of IDS from `settings` there. */
function populate(t: ExecutionContext, files: Record<string, string>, settings: DevicesSettingsInput, ids: readonly string[] = IDS) {
  const dir = tempDir(t, 'fedsim-devices-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return devicePopulationFrom(DevicesSettingsSchema.parse(settings), ids, rngs(), dir);
}

/** The refusal of a population, as its message (with the temporary directory's path cut off). */
function refusal(t: ExecutionContext, files: Record<string, string>, settings: DevicesSettingsInput, ids: readonly string[] = IDS): string {
  const error = t.throws(() => populate(t, files, settings, ids), { instanceOf: DeviceTraceError });
  return error.message.replace(/\/[^\s:]*\/(?=[\w-]+\.(json|csv))/g, '');
}

const both = { profiles: { file: 'trace.json' }, availability: { file: 'trace.json' } };

test('a JSON trace gives profiles and availability: online exactly on [start, end) of its seconds', (t) => {
  const population = populate(t, { 'trace.json': JSON_TRACE }, both);
  t.deepEqual(population.profile(0), { samplesPerSecond: 100, uploadBytesPerSecond: 1000, downloadBytesPerSecond: 2000, latencyMs: 10 });
  t.is(population.profile(2).samplesPerSecond, 25);
  const a = population.availability!;
  t.deepEqual([0, 9_999, 10_000, 19_999, 20_000, 29_999, 30_000, 39_999, 40_000].map((ms) => a.isOnline(0, ms)), [false, false, true, true, false, false, true, true, false]);
  t.is(a.onlineUntil(0, 15_000), 20_000);
  t.true(a.isOnline(1, 1e9), 'no `online`: always online');
  t.is(a.onlineUntil(2, 5), Infinity, 'an end of null: online from its start on');
  t.deepEqual([0, 10_000, 20_000, 40_000].map((ms) => a.onlineCount(ms)), [2, 3, 2, 2]);
});

test('CSV profile and availability tables give the same population as the JSON trace', (t) => {
  const files = {
    'profiles.csv': '# phones\nid,samplesPerSecond,uploadBytesPerSecond,downloadBytesPerSecond,latencyMs\r\nclient-0,100,1000,2000,10\r\nclient-1,50,1000,2000,0\nclient-2,25,1e3,2000,5\n\n',
    'online.csv': 'id,start,end\nclient-0,10,20\nclient-2,0,inf\nclient-0,30,40\n',
  };
  const csv = populate(t, files, { profiles: { file: 'profiles.csv' }, availability: { file: 'online.csv', missing: 'always-online' } });
  const json = populate(t, { 'trace.json': JSON_TRACE }, both);
  for (let i = 0; i < 3; i++) {
    t.deepEqual(csv.profile(i), json.profile(i));
    t.deepEqual(csv.availability!.intervalsOf(i), json.availability!.intervalsOf(i));
  }
});

const edit = (from: string, to: string) => JSON_TRACE.replace(from, to);

test('a bad JSON trace is refused with file:line:col and the field', (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['negative speed', edit('"samplesPerSecond": 50', '"samplesPerSecond": -5'), /^ {2}- trace\.json:6:\d+: at clients\[1\]\.samplesPerSecond: expected a speed > 0 \(samples processed per second\), found -5 \(a number\)$/m],
    ['zero bandwidth', edit('"uploadBytesPerSecond": 1000, "downloadBytesPerSecond": 2000, "latencyMs": 5', '"uploadBytesPerSecond": 0, "downloadBytesPerSecond": 2000, "latencyMs": 5'), /^ {2}- trace\.json:7:\d+: at clients\[2\]\.uploadBytesPerSecond: expected a speed > 0 \(bytes per second\), found 0 \(a number\)$/m],
    ['overlapping intervals', edit('[[10, 20], [30, 40]]', '[[10, 20], [15, 40]]'), /^ {2}- trace\.json:5:\d+: at clients\[0\]\.online\[1\]\[0\]: expected intervals sorted by start and disjoint: this one starts before the previous one ends \(20\), found 15 \(a number\)$/m],
    ['unsorted intervals', edit('[[10, 20], [30, 40]]', '[[30, 40], [10, 20]]'), /^ {2}- trace\.json:5:\d+: at clients\[0\]\.online\[1\]\[0\]: expected intervals sorted by start and disjoint: this one starts before the previous one ends \(40\), found 10/m],
    ['end ≤ start', edit('[[10, 20], [30, 40]]', '[[10, 20], [30, 30]]'), /^ {2}- trace\.json:5:\d+: at clients\[0\]\.online\[1\]\[1\]: expected an end after the start \(30\): an online interval \[start, end\) needs end > start, found 30 \(a number\)$/m],
    ['duplicate id', edit('"id": "client-2"', '"id": "client-1"'), /^ {2}- trace\.json:7:\d+: at clients\[2\]\.id: expected a unique client id: 'client-1' is also clients\[1\], found "client-1" \(a string\)$/m],
    ['NaN', edit('"latencyMs": 0', '"latencyMs": NaN'), /^trace\.json is not valid JSON:\n {2}- trace\.json:6:\d+: /],
    ['unknown field', edit('"latencyMs": 0', '"latency": 0'), /^ {2}- trace\.json:6:\d+: at clients\[1\]: unknown field 'latency': did you mean 'latencyMs'\?$/m],
    ['negative time', edit('[[10, 20], [30, 40]]', '[[-10, 20]]'), /^ {2}- trace\.json:5:\d+: at clients\[0\]\.online\[0\]\[0\]: expected a time in seconds ≥ 0/m],
    ['wrong format', edit('"fedsim-devices"', '"fedscale"'), /^ {2}- trace\.json:2:13: at format: expected "fedsim-devices", found "fedscale" \(a string\): a fedsim device trace starts with "format": "fedsim-devices" \(a FedScale trace is converted first: fedsim trace from-fedscale\)$/m],
  ];
  for (const [what, text, expected] of cases) {
    const message = refusal(t, { 'trace.json': text }, both);
    t.regex(message, expected, what);
  }
});

test('a trace client the run does not have is refused at its line, unless extraClients: ignore', (t) => {
  const message = refusal(t, { 'trace.json': JSON_TRACE }, both, ['client-0', 'client-2']);
  t.regex(message, /^trace\.json lists clients this run does not have \(remove them, or set devices\.profiles\.extraClients: ignore\):/);
  t.regex(message, /^ {2}- trace\.json:6:\d+: at clients\[1\]\.id: expected a client of this run \('client-0', 'client-2'\), found 'client-1', which the run does not have$/m);
  const population = populate(t, { 'trace.json': JSON_TRACE }, { profiles: { file: 'trace.json', extraClients: 'ignore' }, availability: { file: 'trace.json', extraClients: 'ignore' } }, ['client-0', 'client-2']);
  t.is(population.profile(1).samplesPerSecond, 25, 'client-2 is index 1 of this run');
  t.true(population.availability!.isOnline(1, 0));
});

test('run clients absent from the trace are refused, naming the first few, unless the settings give a default', (t) => {
  const ids = ['client-0', 'client-1', 'client-2', 'client-3', 'client-4', 'client-5', 'client-6', 'client-7', 'client-8'];
  const profiles = refusal(t, { 'trace.json': JSON_TRACE }, both, ids);
  t.is(
    profiles,
    "trace.json has no profile for 6 clients of this run: 'client-3', 'client-4', 'client-5', 'client-6', 'client-7', … (6 in all). " +
      'Add them to the file, or give defaults beside `file` in devices.profiles for samplesPerSecond, uploadBytesPerSecond, downloadBytesPerSecond, latencyMs.',
  );
  const defaults = { file: 'trace.json', samplesPerSecond: 7, uploadBytesPerSecond: 8, downloadBytesPerSecond: 9, latencyMs: 1 };
  const availability = refusal(t, { 'trace.json': JSON_TRACE }, { profiles: defaults, availability: { file: 'trace.json' } }, ids);
  t.regex(availability, /^trace\.json does not say when 6 clients of this run are online: 'client-3', .*\. Add them to the file, or set devices\.availability\.missing: always-online \(or never-online\)\.$/);

  const never = populate(t, { 'trace.json': JSON_TRACE }, { profiles: defaults, availability: { file: 'trace.json', missing: 'never-online' } }, ids);
  t.deepEqual(never.profile(4), { samplesPerSecond: 7, uploadBytesPerSecond: 8, downloadBytesPerSecond: 9, latencyMs: 1 });
  t.deepEqual(never.profile(0).samplesPerSecond, 100, 'the file wins over the default');
  t.false(never.availability!.isOnline(4, 0));
  const always = populate(t, { 'trace.json': JSON_TRACE }, { profiles: defaults, availability: { file: 'trace.json', missing: 'always-online' } }, ids);
  t.true(always.availability!.isOnline(4, 123));
});

const PROFILE_CSV = 'id,samplesPerSecond,uploadBytesPerSecond,downloadBytesPerSecond,latencyMs\nclient-0,100,1000,2000,10\nclient-1,50,1000,2000,0\nclient-2,25,1000,2000,5\n';
const csvProfiles = { profiles: { file: 'p.csv' } };

test('a bad CSV is refused with file:line:col and the column', (t) => {
  const cases: Array<[string, Record<string, string>, DevicesSettingsInput, RegExp]> = [
    ['negative speed', { 'p.csv': PROFILE_CSV.replace('client-1,50', 'client-1,-50') }, csvProfiles, /^ {2}- p\.csv:3:10: at column 'samplesPerSecond' \(client 'client-1'\): expected a speed > 0, found '-50'$/m],
    ['zero speed', { 'p.csv': PROFILE_CSV.replace('client-2,25', 'client-2,0') }, csvProfiles, /^ {2}- p\.csv:4:10: at column 'samplesPerSecond' \(client 'client-2'\): expected a speed > 0, found '0'$/m],
    ['NaN', { 'p.csv': PROFILE_CSV.replace(',2000,0', ',NaN,0') }, csvProfiles, /^ {2}- p\.csv:3:18: at column 'downloadBytesPerSecond' \(client 'client-1'\): expected a speed > 0, found 'NaN'$/m],
    ['duplicate id', { 'p.csv': PROFILE_CSV.replace('client-2', 'client-0') }, csvProfiles, /^ {2}- p\.csv:4:1: at column 'id': expected a unique client id: 'client-0' is also on line 2, found 'client-0' again$/m],
    ['missing cell', { 'p.csv': PROFILE_CSV.replace('client-1,50,1000,2000,0', 'client-1,50,1000,2000') }, csvProfiles, /^ {2}- p\.csv:3:\d+: at column 'latencyMs': expected 5 cells \(id,samplesPerSecond,uploadBytesPerSecond,downloadBytesPerSecond,latencyMs\), found 4: a missing column$/m],
    ['unknown column', { 'p.csv': PROFILE_CSV.replace('latencyMs', 'latency') }, csvProfiles, /^ {2}- p\.csv:1:\d+: at column 5 of the header: expected one of id, samplesPerSecond, uploadBytesPerSecond, downloadBytesPerSecond, latencyMs \(a profile table\), found 'latency'$/m],
    ['missing column', { 'p.csv': 'id,samplesPerSecond\nclient-0,1\nclient-1,2\nclient-2,3\n' }, csvProfiles, /^p\.csv has no column 'uploadBytesPerSecond' \(missing column\): add it, or give devices\.profiles\.uploadBytesPerSecond as the default\.$/],
    ['missing end column', { 'a.csv': 'id,start\nclient-0,1\n' }, { availability: { file: 'a.csv' } }, /^ {2}- a\.csv:1: at the header: expected a column 'end' \(the header of an availability table is id,start,end\), found missing column 'end'$/m],
    ['overlapping rows', { 'a.csv': 'id,start,end\nclient-0,0,100\nclient-1,0,5\nclient-0,50,200\n' }, { availability: { file: 'a.csv', missing: 'always-online' } }, /^ {2}- a\.csv:4:10: at column 'start' \(client 'client-0'\): expected intervals sorted by start and disjoint: this one starts before the previous one ends \(100\), found 50 \(a number\)$/m],
    ['end ≤ start', { 'a.csv': 'id,start,end\nclient-0,100,100\n' }, { availability: { file: 'a.csv', missing: 'always-online' } }, /^ {2}- a\.csv:2:14: at column 'end' \(client 'client-0'\): expected an end after the start \(100\)/m],
    ['unknown client', { 'a.csv': 'id,start,end\nclient-0,1,2\nclient-9,1,2\n' }, { availability: { file: 'a.csv', missing: 'always-online' } }, /^ {2}- a\.csv:3:1: at column 'id': expected a client of this run \('client-0', 'client-1', 'client-2'\), found 'client-9', which the run does not have$/m],
    ['quotes', { 'p.csv': PROFILE_CSV.replace('client-1', '"client-1"') }, csvProfiles, /^ {2}- p\.csv:3:1: at the row: expected plain comma-separated cells/m],
    ['a profile table as availability', { 'p.csv': PROFILE_CSV }, { availability: { file: 'p.csv' } }, /^p\.csv is a profile table: it says nothing of when clients are online/],
  ];
  for (const [what, files, settings, expected] of cases) t.regex(refusal(t, files, settings), expected, what);
});

test('a profile CSV may leave cells empty for the settings\' defaults; without a default the client is named', (t) => {
  const text = PROFILE_CSV.replace('client-1,50,1000,2000,0', 'client-1,50,1000,2000,');
  t.is(populate(t, { 'p.csv': text }, { profiles: { file: 'p.csv', latencyMs: 99 } }).profile(1).latencyMs, 99);
  t.is(populate(t, { 'p.csv': text }, { profiles: { file: 'p.csv', latencyMs: 99 } }).profile(0).latencyMs, 10);
  t.regex(refusal(t, { 'p.csv': text }, csvProfiles), /^ {2}- p\.csv:3:\d+: at column 'latencyMs' \(client 'client-1'\): expected a value of 'latencyMs' for this client \(or devices\.profiles\.latencyMs as the default\), found none$/m);
});

test('the shipped diurnal trace fits a 100-client run as it is', (t) => {
  const ids = Array.from({ length: 100 }, (_, i) => `client-${String(i).padStart(2, '0')}`);
  const population = devicePopulationFrom(DevicesSettingsSchema.parse({ availability: { file: 'traces/diurnal-100x2d.json' } }), ids, rngs(), process.cwd());
  const a = population.availability!;
  t.is(a.size, 100);
  t.true(a.intervalCount > 100);
  // Night (03:00 UTC) against afternoon (15:00 UTC) of day 1.
  t.true(a.onlineCount((24 + 3) * 3_600_000) > 3 * a.onlineCount((24 + 15) * 3_600_000));
  t.is(a.onlineCount(2 * 86_400_000), 0, 'offline after the trace\'s two days');
});

test('a bad `devices:` block of an experiment file is refused at its line through the loader\'s describeIssues', (t) => {
  const text = 'kind: fedavg\ndevices:\n  profiles:\n    samplesPerSecond: -3\n    latencyMs: { kind: uniform, min: 50, max: 10 }\n  availability: { file: a.csv, diurnal: { days: 2 } }\n';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const data = doc.toJS() as { devices: unknown };
  const parsed = DevicesSettingsSchema.safeParse(data.devices);
  t.false(parsed.success);
  const described = describeIssues(parsed.error!, data.devices, { file: 'x.yaml', doc, lines, basePath: ['devices'], schema: DevicesSettingsSchema });
  t.deepEqual(described, [
    'x.yaml:4:23: at devices.profiles.samplesPerSecond: expected a speed > 0, found -3 (a number)',
    'x.yaml:5:47: at devices.profiles.latencyMs.max: expected max ≥ min, found 10 (a number)',
    'x.yaml:6:17: at devices.availability: expected either `file` (a trace) or `diurnal` (a generated trace), exactly one, found an object with keys file, diurnal',
  ]);
});
