/**
 * More of what an experiment file is refused for before the run (see also
 * scenario-preflight.test.ts): sizes over a limit are refused before anything is built
 * per client; settings that can never run together (the run's own rules, shared with
 * runFederated); unknown fields inside algorithm, model, optimizer and cost; settings of
 * an aggregation the run does not use; messages that point at the safe fix.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../src/fl/experiments/register.js';
import { type FedAvgExperiment, FedAvgExperimentSchema } from '../src/fl/experiments/fedavg-experiment.js';
import { FEDAVG_LIMITS, fedAvgPreflight } from '../src/fl/experiments/preflight.js';
import { FaultPlanError, parseFaultPlan } from '../src/runtime/index.js';
import { effectiveLimits, loadScenario, ScenarioLoadError } from '../src/scenario/index.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

const dir = mkdtempSync(join(tmpdir(), 'fedsim-preflight-more-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A tiny fedavg experiment file: TINY_FEDAVG_FIELDS with `fields` replacing or adding top-level fields. */
function experiment(fields: Record<string, string> = {}): string {
  const path = join(dir, `x-${files++}.yaml`);
  writeFileSync(path, yamlLines({ ...TINY_FEDAVG_FIELDS, ...fields }));
  return path;
}

/** The load error's problem lines ([] when the file loads). */
async function problems(fields: Record<string, string>, params?: Record<string, unknown>): Promise<string[]> {
  try {
    await loadScenario(experiment(fields), { params });
  } catch (error) {
    if (error instanceof ScenarioLoadError) return error.problems.length ? [...error.problems] : [error.message];
    throw error;
  }
  return [];
}

const LINE = /\.yaml:\d+:\d+: /;

// The huge client counts are 1e15, not 1e9: should the limit stop being checked first, a list of 1e15 client ids
// fails at once (invalid array length) where 1e9 would take a minute and gigabytes before the heap gives out.
test('a client count over its limit is refused alone, before any check that builds per-client lists', async (t) => {
  // minClients and slowdown would each be checked against a list of the clients.
  const others = { minClients: '20000', slowdown: '{ client-9: 2 }' };
  const found = await problems({ ...others, data: '{ source: synthetic, alpha: 1, beta: 1, devices: 1e15, features: 6, classes: 3 }' });
  t.is(found.length, 1, found.join('\n'));
  t.regex(found[0], /\.yaml:\d+:\d+: at data\.devices: expected at most 10000 \(limit clients/);
  // --param reaches the same check (devices=1e8 used to run preflight for a minute, then crash the heap).
  const viaParam = await problems(others, { 'data.devices': 1e15 });
  t.is(viaParam.length, 1, viaParam.join('\n'));
  t.regex(viaParam[0], /--param data\.devices.*at data\.devices: expected at most 10000 \(limit clients/);
});

test('other sizes over a limit name the limit (not "unsafe integer") and are reported with the other problems', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ rounds: '1e308' }, /at rounds: expected at most 10000 \(limit rounds.*found 1e\+308/],
    [{ localEpochs: '1e15' }, /at localEpochs: expected at most 1000 \(limit localEpochs/],
    [{ data: '{ source: synthetic, alpha: 1, beta: 1, devices: 4, features: 1e12, classes: 3 }' }, /at data\.features: expected at most 100000 \(limit features/],
    [{ model: '{ kind: mlp, layers: [6, 100000, 100000, 3] }' }, /at model: expected at most 10000000 \(limit modelParameters/],
  ];
  for (const [fields, message] of cases) {
    const found = await problems({ ...fields, slowdown: '{ client-9: 2 }' });
    t.true(found.some((p) => LINE.test(p) && message.test(p)), found.join('\n'));
    t.true(found.some((p) => /at slowdown\.client-9/.test(p)), found.join('\n'));
  }
});

test('the check of an over-limit file does not build anything per client (1e15 devices in the check itself)', (t) => {
  const config = FedAvgExperimentSchema.parse({
    data: { source: 'synthetic', alpha: 1, beta: 1, devices: 1e15, features: 6, classes: 3 },
    model: { kind: 'logistic', inputs: 6, classes: 3 },
    rounds: 1,
    localEpochs: 1,
    batchSize: 5,
    lr: 0.1,
    slowdown: { 'client-x': 2 },
  }) as FedAvgExperiment;
  // Were the other checks run, experimentClientIds(1e15) would throw a RangeError (array length) here.
  const found = fedAvgPreflight(config, { limits: effectiveLimits(FEDAVG_LIMITS) });
  t.deepEqual(found.map((p) => p.path), [['data', 'devices']]);
});

test('localTrainer plan with settings a training Plan cannot run is refused before the run, naming the field', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ algorithm: '{ name: fedprox, mu: 0.1 }' }, /algorithm 'fedprox': it adds gradient terms/],
    [{ algorithm: '{ name: scaffold }' }, /algorithm 'scaffold': it adds gradient terms/],
    [{ algorithm: '{ name: feddyn, alpha: 0.1 }' }, /algorithm 'feddyn': it adds gradient terms/],
    [{ optimizer: '{ name: adam }' }, /optimizer \{"name":"adam"\} is not supported/],
    [{ optimizer: '{ name: sgd, momentum: 0.9 }' }, /optimizer .*momentum.* is not supported/],
    [
      { model: '{ kind: cnn, inputShape: [2, 3, 1], filters: [2, 2], kernelSize: 3, hidden: 4, classes: 3 }' },
      /model kind 'cnn' is not supported/,
    ],
  ];
  for (const [fields, message] of cases) {
    const found = await problems({ ...fields, localTrainer: 'plan' });
    t.true(found.some((p) => LINE.test(p) && /at localTrainer: expected 'direct'/.test(p) && message.test(p) && /found 'plan'/.test(p)), `${JSON.stringify(fields)}\n${found.join('\n')}`);
  }
  // The same settings with the direct trainer, and the plan with plain SGD FedAvg, are fine.
  t.deepEqual(await problems({ algorithm: '{ name: fedprox, mu: 0.1 }', optimizer: '{ name: adam }' }), []);
  t.deepEqual(await problems({ localTrainer: 'plan', optimizer: 'sgd' }), []);
  // An algorithm's own training rule: FedNova needs plain SGD.
  const nova = await problems({ algorithm: '{ name: fednova }', optimizer: '{ name: adam }' });
  t.true(nova.some((p) => /at algorithm: expected training settings algorithm 'fednova' can run/.test(p)), nova.join('\n'));
});

test('krum with fewer than byzantine + 3 clients per round is refused, counting clients per round as the run samples them', async (t) => {
  const refused = async (fields: Record<string, string>, n: number) => {
    const found = await problems(fields);
    t.true(found.some((p) => LINE.test(p) && new RegExp(`at algorithm\\.byzantine: .*with ${n} clients? per round.*Krum needs n ≥ f \\+ 3`).test(p)), `${JSON.stringify(fields)}\n${found.join('\n')}`);
  };
  await refused({ algorithm: '{ name: krum, byzantine: 2 }' }, 4);
  await refused({ algorithm: '{ name: krum, byzantine: 1, fraction: 0.5 }' }, 2);
  await refused({ algorithm: '{ name: krum, byzantine: 0 }', fraction: '0.25' }, 1);
  // Boundary: 4 per round, f = 1 runs; minClients raises a small fraction to 4.
  t.deepEqual(await problems({ algorithm: '{ name: krum, byzantine: 1 }' }), []);
  t.deepEqual(await problems({ algorithm: '{ name: krum, byzantine: 1, fraction: 0.25, minClients: 4 }' }), []);
});

test('an actor id used twice (serverId or a helper id equal to a client or another actor) is refused', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ serverId: 'client-0' }, /at serverId: expected an actor id no other actor of the run has, found 'client-0', which is also the client id/],
    [{ aggregation: 'secure-worker', secureWorkerId: 'server' }, /at secureWorkerId: .*found 'server', which is also the serverId 'server'/],
    [{ aggregation: 'secure-worker', secureWorkerId: 'client-3' }, /at secureWorkerId: .*which is also the client id 'client-3'/],
  ];
  for (const [fields, message] of cases) {
    const found = await problems(fields);
    t.true(found.some((p) => LINE.test(p) && message.test(p)), `${JSON.stringify(fields)}\n${found.join('\n')}`);
  }
  // 11 devices: the ids are zero-padded, so client-1 is no client and may be the server's id.
  t.deepEqual(await problems({ serverId: 'client-1', data: '{ source: synthetic, alpha: 1, beta: 1, devices: 11, features: 6, classes: 3, maxSamplesPerDevice: 10 }' }), []);
});

test('a crash of the driver me is refused before the run (a partition may still cut it off)', async (t) => {
  const found = await problems({ faults: '{ crashes: [{ actor: me, at: 0 }] }' });
  t.is(found.length, 1, found.join('\n'));
  t.regex(found[0], /at faults\.crashes\[0\]\.actor: expected one of this run's actors \(server, client-0, .*'me' is the scenario code driving the run, not an actor, so it cannot crash, found "me"/);
  t.deepEqual(await problems({ faults: '{ partitions: [{ groups: [[me], [server]], from: 0, until: 1 }] }' }), []);
});

test('unknown fields inside algorithm, model, optimizer and cost are refused, with a did-you-mean or the algorithm that takes them', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ algorithm: '{ name: fedprox, mu: 0.1, fracton: 0.5 }' }, /at algorithm: unknown field 'fracton': did you mean 'fraction'\?/],
    [{ algorithm: '{ name: fedavg, mu: 1 }' }, /at algorithm: unknown field 'mu' here: 'mu' is a field of \{ name: fedprox \}/],
    [{ algorithm: '{ name: fedadam, momentum: 0.9 }' }, /'momentum' is a field of \{ name: fedavgm \}/],
    [{ model: '{ kind: logistic, inputs: 6, classes: 3, hidden: 3 }' }, /at model: unknown field 'hidden' here: 'hidden' is a field of \{ kind: cnn \}/],
    [{ model: '{ kind: logistic, inputs: 6, clases: 3 }' }, /at model: unknown field 'clases': did you mean 'classes'\?/],
    [{ optimizer: '{ name: sgd, momentun: 0.9 }' }, /at optimizer: unknown field 'momentun': did you mean 'momentum'\?/],
    [{ optimizer: '{ name: adam, momentum: 0.9 }' }, /'momentum' is a field of \{ name: sgd \}/],
    [{ cost: '{ flopsPerSec: 1 }' }, /at cost: unknown field 'flopsPerSec' \(remove or rename it; the fields here are perSampleMs, perFitMs\)/],
  ];
  for (const [fields, message] of cases) {
    const found = await problems(fields);
    t.true(found.some((p) => LINE.test(p) && message.test(p)), `${JSON.stringify(fields)}\n${found.join('\n')}`);
  }
});

test("settings of an aggregation the run does not use are refused: '… applies to aggregation X; this run uses Y'", async (t) => {
  const cases: Array<[Record<string, string>, string, string, string]> = [
    [{ secagg: '{ reconstructionThreshold: 3 }' }, 'secagg', 'secagg+', 'plain'],
    [{ secureWorkerId: 'sw' }, 'secureWorkerId', 'secure-worker', 'plain'],
    [{ additive: '{ base: 10, precisionFractional: 4 }' }, 'additive', 'additive', 'plain'],
    [{ aggregation: 'secagg+', secureMinContributors: '2' }, 'secureMinContributors', 'secure-worker', 'secagg+'],
  ];
  for (const [fields, field, mode, used] of cases) {
    const found = await problems(fields);
    t.true(
      found.some((p) => LINE.test(p) && p.includes(`at ${field}: expected no '${field}' field: it applies to aggregation '${mode}'; this run uses '${used}'`)),
      `${JSON.stringify(fields)}\n${found.join('\n')}`,
    );
  }
  t.deepEqual(await problems({ aggregation: 'secagg+', secagg: '{ reconstructionThreshold: 3 }' }), []);
  t.deepEqual(await problems({ aggregation: 'secure-worker', secureWorkerId: 'sw', secureMinContributors: '2' }), []);
});

test('too few clients per round for a secure mode: the safe fix first, the default named, no "1 clients"', async (t) => {
  const oneARound = { fraction: '0.25' };
  const worker = await problems({ ...oneARound, aggregation: 'secure-worker' });
  t.is(worker.length, 1, worker.join('\n'));
  t.regex(worker[0], /at aggregation: expected at least 2 clients per round for 'secure-worker' with the default secureMinContributors 2 .*raise fraction or minClients; lowering secureMinContributors to 1 would .*a single client's update.*found 1 client per round/);
  // Set in the file: the field is named, and lowering it to the round size is the other fix.
  const explicit = await problems({ fraction: '0.5', aggregation: 'secure-worker', secureMinContributors: '3' });
  t.regex(explicit[0], /at secureMinContributors: expected at least 3 clients per round for 'secure-worker' with secureMinContributors 3 .*found 2 clients per round/);
  for (const aggregation of ['additive', 'secagg+']) {
    const found = await problems({ ...oneARound, aggregation });
    t.true(found.some((p) => /with 1 client per round/.test(p)), found.join('\n'));
  }
  for (const line of [...worker, ...explicit]) t.notRegex(line, /\b1 clients\b/);
});

test('non-finite numbers say a finite number is expected', async (t) => {
  for (const [fields, field] of [[{ lr: '.inf' }, 'lr'], [{ lr: '.nan' }, 'lr'], [{ rounds: '.inf' }, 'rounds'], [{ batchSize: '-.inf' }, 'batchSize']] as const) {
    const found = await problems(fields);
    t.true(found.some((p) => p.includes(`at ${field}: expected a finite number, found`)), found.join('\n'));
  }
});

test('fault-plan errors use one path format and say what was found, inline or from a file', (t) => {
  const error = t.throws(() => parseFaultPlan({ crashes: [{ actor: 'server', afterMessages: -1 }], partitions: [{ groups: [['a'], []], from: 0, until: 1 }] }, '--faults (inline)'), {
    instanceOf: FaultPlanError,
  });
  t.regex(error!.message, /at crashes\[0\]\.afterMessages: .*found -1 \(a number\)/);
  t.regex(error!.message, /at partitions\[0\]\.groups\[1\]: .*found a list of 0/);
  t.notRegex(error!.message, /crashes\.0\./);
});
