/**
 * Devices in experiment files: a `devices:` block (profiles, availability from a trace file
 * or a seeded diurnal generator) and a `roundPolicy:` run reproducibly, sync and async alike;
 * a trace file that cannot serve the run is refused before the run with the experiment's
 * line and field and the trace's own file, line and field; contradictory cost settings too.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const base = `kind: fedavg
seed: 3
data: { source: synthetic, alpha: 1, beta: 1, devices: 6, features: 10 }
model: { kind: logistic, inputs: 10, classes: 10 }
localEpochs: 1
batchSize: 10
lr: 0.05
clientEvaluation: none
`;

const TRACE = {
  format: 'fedsim-devices',
  version: 1,
  clients: Array.from({ length: 6 }, (_, i) => ({
    id: `client-${i}`,
    samplesPerSecond: 5 + 10 * i,
    uploadBytesPerSecond: 100_000,
    downloadBytesPerSecond: 1_000_000,
    latencyMs: 50,
    // Client i is online for its first 2 + i virtual hours.
    online: [[0, (2 + i) * 3600]],
  })),
};

function files(experiment: string, trace: unknown = TRACE): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-devices-'));
  writeFileSync(join(dir, 'trace.json'), typeof trace === 'string' ? trace : JSON.stringify(trace, null, 1));
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, experiment);
  return file;
}

const withTrace = `${base}rounds: 4
fraction: 0.5
roundDeadlineMs: 600000
roundPolicy: { overSelection: 1.5 }
devices:
  profiles: { file: trace.json }
  availability: { file: trace.json }
`;

test('a sync experiment on a device trace runs twice to one event log; rows report drops, straggler wait and virtual hours', async (t) => {
  const scenario = await loadScenario(files(withTrace));
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.failures));
  t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
  t.is(a.result!.weightsSha256, b.result!.weightsSha256);
  const rows = a.result!.perRound;
  t.is(rows.length, 4);
  // Round 1: six clients online and idle, K = 0.5 · 6 = 3, over-selected to ⌈1.5 · 3⌉ = 5. Later rounds leave out the
  // clients still training a fit an earlier round gave up on, so they select from fewer.
  t.like(rows[0], { selected: 5, finished: 3, drops: { 'over-selected': 2 } });
  for (const r of rows) {
    t.is(r.finished + r.drops['over-selected'], r.selected, 'over-selection keeps the first K and drops the rest');
    t.true(r.selected === Math.ceil(1.5 * r.finished - 1e-9), `K = ${r.finished}, selected ${r.selected}`);
    t.true(r.stragglerWaitMs! >= 0 && r.durationMs > 0);
    t.is(r.virtualHours, r.endedAt / 3_600_000);
    t.is(r.drops.refused + r.drops.fault + r.drops.bug, 0, 'an over-selected client did not fail');
  }
  t.true(a.result!.metrics.some((m) => m.chart === 'accuracy vs virtual time' && m.points.length === 4));
});

test('a generated diurnal trace is drawn from the run seed: same seed, same run; another seed, another trace', async (t) => {
  const experiment = `${base}rounds: 3
fraction: 0.5
devices:
  profiles: { samplesPerSecond: { kind: lognormal, median: 20, sigma: 1 }, latencyMs: 100 }
  availability: { diurnal: { days: 1, timeZoneSpreadHours: 0, nightProbability: 1 } }
`;
  const scenario = await loadScenario(files(experiment));
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.failures));
  t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
  const other = await runScenario<FedAvgExperimentResult>(scenario, { seed: 4 });
  t.not(other.sim.log.toJSONL(), a.sim.log.toJSONL());
});

test('FedBuff on a device trace: dispatches only to online clients, the same log twice', async (t) => {
  const experiment = `${base}async: { algorithm: fedbuff, concurrency: 2, bufferSize: 2, maxServerUpdates: 4 }
devices:
  profiles: { file: trace.json }
  availability: { file: trace.json }
`;
  const scenario = await loadScenario(files(experiment));
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.failures));
  t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
  t.is(a.result!.perRound.length, 4);
  // Each fit leaves the server at a time its client is online ([0, (2 + i) h)).
  const fits = a.sim.log.events.filter((e) => e.ev === 'sent' && (e as { type?: string }).type === 'fl/fit') as Array<{ t: number; to: string }>;
  t.true(fits.length > 0);
  for (const fit of fits) t.true(fit.t < (2 + Number(fit.to.split('-')[1])) * 3_600_000, `${fit.to} at ${fit.t}`);
});

const refusals: Array<[string, (trace: typeof TRACE) => unknown, RegExp]> = [
  ['an unknown client', (tr) => ({ ...tr, clients: [...tr.clients, { ...tr.clients[0], id: 'client-9' }] }), /trace\.json:\d+:\d+: at clients\[6\]\.id: .*client-9/],
  ['overlapping intervals', (tr) => ({ ...tr, clients: tr.clients.map((c, i) => (i === 2 ? { ...c, online: [[0, 100], [50, 200]] } : c)) }), /trace\.json:\d+:\d+: at clients\[2\]\.online\[1\]\[0\]: .*disjoint/],
  ['a negative speed', (tr) => ({ ...tr, clients: tr.clients.map((c, i) => (i === 4 ? { ...c, samplesPerSecond: -3 } : c)) }), /trace\.json:\d+:\d+: at clients\[4\]\.samplesPerSecond: expected a speed > 0.*found -3/],
];

for (const [what, edit, message] of refusals) {
  test(`an experiment whose trace has ${what} is refused before the run, with both files' line and field`, async (t) => {
    const error = await t.throwsAsync(loadScenario(files(withTrace, edit(structuredClone(TRACE)))));
    t.regex(error!.message, /experiment\.yaml:\d+:\d+: at devices\.profiles\.file/);
    t.regex(error!.message, message);
  });
}

test('cost or slowdown beside devices, and a round policy the aggregation cannot keep, are refused at their fields', async (t) => {
  const error = await t.throwsAsync(loadScenario(files(`${withTrace}cost: { perSampleMs: 1 }\nslowdown: { client-1: 3 }\naggregation: secure-worker\n`)));
  t.regex(error!.message, /at cost: expected no cost model/);
  t.regex(error!.message, /at slowdown: expected no slowdown/);
  t.regex(error!.message, /at roundPolicy\.overSelection: expected no over-selection with aggregation 'secure-worker'/);
});

test('a trace path that does not exist or is a directory is refused before the run, at its field; so is a round policy under async', async (t) => {
  const missing = await t.throwsAsync(loadScenario(files(withTrace.replaceAll('trace.json', 'no/such.json'))));
  t.regex(missing!.message, /experiment\.yaml:\d+:\d+: at devices\.profiles\.file: .*no\/such\.json does not exist/);
  const inDir = files(withTrace.replaceAll('trace.json', 'folder.json'));
  mkdirSync(join(dirname(inDir), 'folder.json'));
  const dir = await t.throwsAsync(loadScenario(inDir));
  t.regex(dir!.message, /at devices\.profiles\.file: .* is a directory/);
  const asyncPolicy = await t.throwsAsync(loadScenario(files(`${base}async: { algorithm: fedbuff, concurrency: 2, bufferSize: 2, maxServerUpdates: 2 }\nroundPolicy: { overSelection: 1.3 }\n`)));
  t.regex(asyncPolicy!.message, /at roundPolicy: expected no 'roundPolicy' field under async/);
});

test('async on a trace: a dispatch lost because its device went offline is counted as offline, as in sync rounds', async (t) => {
  // Clients 0–2 are fast and always online; 3–5 are slow and offline after 0.5 s, so their dispatches never answer
  // and are given up at 1 s, while the fast ones make thirty updates.
  const trace = {
    ...TRACE,
    clients: TRACE.clients.map((c, i) => ({ ...c, samplesPerSecond: i < 3 ? 1000 : 1, online: i < 3 ? [[0, 1e6]] : [[0, 0.5]] })),
  };
  const experiment = `${base}async: { algorithm: fedbuff, concurrency: 6, bufferSize: 3, maxServerUpdates: 30, dispatchTimeoutMs: 1000 }
devices:
  profiles: { file: trace.json }
  availability: { file: trace.json }
`;
  const outcome = await runScenario<FedAvgExperimentResult>(await loadScenario(files(experiment, trace)));
  t.true(outcome.ok, JSON.stringify(outcome.failures));
  const drops = outcome.result!.perRound.reduce((sum, r) => ({ offline: sum.offline + r.drops.offline, fault: sum.fault + r.drops.fault }), { offline: 0, fault: 0 });
  t.deepEqual(drops, { offline: 3, fault: 0 });
});
