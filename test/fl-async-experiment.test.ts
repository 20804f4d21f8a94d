/**
 * The `async:` block of a `kind: fedavg` experiment file: an asynchronous run from YAML,
 * reproducible, with per-update rows in virtual hours and the accuracy-against-virtual-time
 * chart (which sync runs get too); the sync settings that cannot apply are refused by field.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadScenario, normalizeMetrics, runScenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { renderHtmlReport } from '../src/cli/report/html-report.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const asyncYaml = `
kind: fedavg
name: fedbuff on a small synthetic problem
seed: 4
data: { source: synthetic, alpha: 0.5, beta: 0.5, devices: 6, features: 10, classes: 3, maxSamplesPerDevice: 60 }
model: { kind: logistic, inputs: 10, classes: 3 }
localEpochs: 1
batchSize: 10
lr: 0.1
slowdown: { client-2: 20, client-4: 8 }
async: { algorithm: fedbuff, concurrency: 4, bufferSize: 2, serverLr: 1, maxServerUpdates: 5 }
`;

async function runFile(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-async-'));
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, text);
  const scenario = await loadScenario(file);
  return { scenario, outcome: await runScenario<FedAvgExperimentResult>(scenario) };
}

test('an async experiment file runs FedBuff reproducibly; rows are server updates with their virtual hours, charted against them', async (t) => {
  const { scenario, outcome: a } = await runFile(asyncYaml);
  t.true(a.ok, JSON.stringify(a.checks) + String(a.error));
  const r = a.result!;
  t.is(r.rounds, 5);
  t.deepEqual(r.perRound.map((row) => row.round), [1, 2, 3, 4, 5]);
  for (const row of r.perRound) t.is(row.virtualHours, row.endedAt / 3_600_000);
  t.true(r.perRound.every((row) => row.updates === 2 && row.participants <= 2), 'K = 2 updates per server update, from at most 2 clients');
  const byTime = r.metrics.find((m) => m.chart === 'accuracy vs virtual time')!;
  t.is(byTime.x, 'virtual hours');
  t.deepEqual(byTime.points, r.perRound.map((row) => [row.virtualHours, row.testAccuracy!]));
  t.is(r.metrics.find((m) => m.chart === 'accuracy')!.x, 'model version');
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.is(b.result!.weightsSha256, r.weightsSha256);
  t.is(b.sim.log.toJSONL(), a.sim.log.toJSONL());
  // report.html draws the chart from result.metrics.
  const html = renderHtmlReport({ title: 't', ok: true, summary: [], checks: [], metrics: normalizeMetrics(r.metrics), events: [], totalEvents: 0, faultPlan: null, result: null, files: [] });
  t.regex(html, /aria-label="accuracy vs virtual time"/);
  t.regex(html, />virtual hours</);
});

test('a sync experiment reports virtual hours and the accuracy-against-virtual-time chart too', async (t) => {
  const sync = asyncYaml.replace(/async: .*\n/, 'rounds: 3\nfraction: 0.5\n');
  const { outcome } = await runFile(sync);
  t.true(outcome.ok, JSON.stringify(outcome.checks));
  const r = outcome.result!;
  t.is(r.rounds, 3);
  for (const row of r.perRound) t.is(row.virtualHours, row.endedAt / 3_600_000);
  const byTime = r.metrics.find((m) => m.chart === 'accuracy vs virtual time')!;
  t.deepEqual(byTime.points, r.perRound.map((row) => [row.virtualHours, row.testAccuracy!]));
  t.is(r.metrics.find((m) => m.chart === 'accuracy')!.x, 'round');
});

test('async rows count what they say: updates applied, distinct clients, fits dispatched and dispatches given up', async (t) => {
  // Three clients, two training at once, three updates per server update: one client brings two updates to a buffer.
  // client-2's every message to the server is lost, so its dispatches are given up after 20 virtual ms.
  const yaml = `kind: fedavg
name: async counts
seed: 4
data: { source: synthetic, alpha: 0.5, beta: 0.5, devices: 3, features: 4, classes: 2, maxSamplesPerDevice: 10 }
model: { kind: logistic, inputs: 4, classes: 2 }
localEpochs: 1
batchSize: 5
lr: 0.1
faults: { links: [{ from: client-2, to: server, drop: 1 }] }
async: { algorithm: fedbuff, concurrency: 2, bufferSize: 3, serverLr: 1, maxServerUpdates: 3, retryMs: 5, dispatchTimeoutMs: 20 }
`;
  const { scenario, outcome } = await runFile(yaml);
  t.true(outcome.ok, JSON.stringify(outcome.checks) + String(outcome.error));
  const rows = outcome.result!.perRound;
  // The oracle, from the log: distinct dispatch numbers of the fits the server sent before each fl/round-end, and the
  // clients of the updates each server update applied (its note).
  const dispatchedPerUpdate: number[] = [];
  let since = new Set<number>();
  const seen = new Set<number>();
  for (const e of outcome.sim.log.events) {
    if (e.ev !== 'sent' || e.from !== 'server') continue;
    const payload = e.envelope.payload as { round?: number };
    if (e.type === 'fl/fit' && !seen.has(payload.round!)) seen.add(payload.round!), since.add(payload.round!);
    if (e.type === 'fl/round-end') dispatchedPerUpdate.push(since.size), (since = new Set());
  }
  t.deepEqual(rows.map((row) => row.selected), dispatchedPerUpdate, 'selected: fits dispatched since the previous server update');
  t.true(rows.every((row) => row.updates === 3), 'updates: the buffer applied');
  t.true(rows.some((row) => row.participants < row.updates), 'a client brought two updates to one buffer: counted as one participant, two updates');
  for (const row of rows) {
    t.is(row.finished, row.participants);
    t.is(row.dropped, Object.values(row.drops).reduce((n, c) => n + c, 0), 'dropped: the given-up dispatches, each once by why');
  }
  t.true(rows.some((row) => row.drops.fault > 0), "client-2's dispatches were given up (lost messages: a fault)");
  // Every dispatch is applied, given up, or still out at the end (at most `concurrency` of them; the buffer was just emptied).
  const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((n, row) => n + pick(row), 0);
  const stillOut = sum((row) => row.selected) - sum((row) => row.updates) - sum((row) => row.dropped);
  t.true(stillOut >= 0 && stillOut <= 2, `${stillOut} dispatches still out at the last server update`);
  const again = await runScenario<FedAvgExperimentResult>(scenario);
  t.is(again.sim.log.toJSONL(), outcome.sim.log.toJSONL());
  t.deepEqual(again.result!.perRound, rows);
});

test('settings of synchronous rounds under async are refused by field; a sync file without rounds is too', async (t) => {
  const asyncBlock = 'async: { algorithm: fedasync, concurrency: 2, mixing: 0.5, maxServerUpdates: 3 }\n';
  const check = async (extra: string, pattern: RegExp) => {
    const text = await tinyProblemsWithout('rounds', extra);
    t.regex(text, pattern);
  };
  await check(asyncBlock + 'rounds: 4\n', /rounds.*no 'rounds' field under async/);
  await check(asyncBlock + 'aggregation: secagg+\nsecagg: { numShares: 4, reconstructionThreshold: 3 }\n', /aggregation.*'plain' under async/);
  await check(asyncBlock + 'algorithm: { name: fedprox, mu: 0.1 }\n', /algorithm\.name.*'fedavg' under async/);
  await check(asyncBlock + 'fraction: 0.5\n', /fraction.*no 'fraction' field under async/);
  await check('async: { algorithm: fedasync, concurrency: 9, mixing: 0.5, maxServerUpdates: 3 }\n', /async\.concurrency.*at most 4/);
  await check('async: { algorithm: fedbuff, concurrency: 2, bufferSize: 2 }\n', /maxServerUpdates/);
  await check('', /rounds.*the number of rounds \(an integer ≥ 1\), or an async: block/);
  t.is(await tinyProblemsWithout('rounds', asyncBlock), '', 'the same file with an async block and no rounds loads');
});

/** The problems of the tiny experiment file without `field`, plus `extra` lines. */
async function tinyProblemsWithout(field: string, extra: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-async-bad-'));
  const file = join(dir, 'experiment.yaml');
  const { [field]: _gone, ...fields } = TINY_FEDAVG_FIELDS;
  writeFileSync(file, yamlLines(fields) + extra);
  try {
    await loadScenario(file);
    return '';
  } catch (error) {
    return (error as { problems?: string[] }).problems?.join('\n') ?? String(error);
  }
}
