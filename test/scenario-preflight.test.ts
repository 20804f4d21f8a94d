/**
 * Bad input is refused before the run, each problem with the file, line, field, what
 * was expected and what was found: settings that contradict each other, sizes above
 * the documented limits (which a user can raise explicitly), fault plans naming actors
 * the run does not have, YAML alias bombs and oversized files.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../src/fl/experiments/register.js';
import { parameterCount } from '../src/fl/experiments/preflight.js';
import { createModel } from '../src/fl/models/create.js';
import { nn } from '../src/fl/models/spec.js';
import { createStream } from '../src/runtime/index.js';
import { FaultPlanActorsError, loadScenario, runScenario, ScenarioLoadError } from '../src/scenario/index.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

const dir = mkdtempSync(join(tmpdir(), 'fedsim-preflight-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A tiny fedavg experiment with `extra` lines appended (later keys win in our YAML: none repeat). */
function experiment(extra: string, base: Record<string, string> = {}): string {
  const fields = { ...TINY_FEDAVG_FIELDS, ...base };
  const path = join(dir, `x-${files++}.yaml`);
  writeFileSync(path, yamlLines(fields) + extra);
  return path;
}

async function problems(path: string, limits?: Record<string, number>): Promise<string[]> {
  try {
    await loadScenario(path, { limits });
  } catch (error) {
    if (error instanceof ScenarioLoadError) return [error.message.split('\n')[0], ...error.problems];
    throw error;
  }
  return [];
}

const accepted = async (t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, path: string, limits?: Record<string, number>) => t.deepEqual(await problems(path, limits), [], path);

test('a reconstruction threshold above the neighbourhood size is refused, with and without numShares', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    // 4 clients per round: each client makes at most 4 shares.
    ['aggregation: secagg+\nsecagg: { reconstructionThreshold: 5 }\n', 'line 9', /at secagg\.reconstructionThreshold: expected settings SecAgg\+ can run with 4 clients per round.*found reconstructionThreshold 5 exceeds the 4 shares each client makes/],
    // fraction 0.5 of 4 devices: 2 per round, so 2 shares.
    ['aggregation: secagg+\nfraction: 0.5\nsecagg: { reconstructionThreshold: 3 }\n', 'line 10', /with 2 clients per round.*exceeds the 2 shares/],
    // numShares given: the threshold cannot exceed it (the schema's own rule).
    ['aggregation: secagg+\nsecagg: { numShares: 3, reconstructionThreshold: 4 }\n', 'line 9', /at secagg\.reconstructionThreshold: expected at most numShares/],
  ];
  for (const [extra, line, message] of cases) {
    const found = await problems(experiment(extra));
    t.true(found.some((p) => p.includes(`:${line.slice(5)}:`) && message.test(p)), `${extra}\n${found.join('\n')}`);
  }
  await accepted(t, experiment('aggregation: secagg+\nsecagg: { reconstructionThreshold: 4 }\n'), undefined); // the boundary: 4 shares, threshold 4
});

test('SecAgg+ settings that would skip every round are refused: a minority threshold, a clipping range below 1', async (t) => {
  // 4 clients, numShares 4 ≥ n − 1: everyone is everyone's neighbour (4 shares); 2 of 4 is not a majority.
  const minority = await problems(experiment('aggregation: secagg+\nsecagg: { numShares: 4, reconstructionThreshold: 2 }\n'));
  t.true(minority.some((p) => /at secagg\.reconstructionThreshold: .*reconstructionThreshold 2 is not a majority of the 4 shares/.test(p)), minority.join('\n'));
  const clipped = await problems(experiment('aggregation: secagg+\nsecagg: { clippingRange: 0.0001 }\n'));
  t.true(clipped.some((p) => /at secagg\.clippingRange: expected at least 1/.test(p)), clipped.join('\n'));
});

test('a strategy that must see each update is refused behind an aggregation that shows only their sum', async (t) => {
  for (const [extra, strategy, mode] of [
    ['aggregation: secagg+\nalgorithm: { name: krum, byzantine: 0 }\n', 'krum', 'secagg\\+'],
    ['aggregation: additive\nalgorithm: { name: fedmedian }\n', 'fedmedian', 'additive'],
    ['aggregation: secure-worker\nalgorithm: { name: fedtrimmedavg }\n', 'fedtrimmedavg', 'secure-worker'],
  ]) {
    const found = await problems(experiment(extra));
    t.true(found.some((p) => new RegExp(`at aggregation: expected an aggregation that shows the server each update, as strategy '${strategy}' needs.*found '${mode}', which shows the server only the sum`).test(p)), found.join('\n'));
  }
  await accepted(t, experiment('aggregation: plain\nalgorithm: { name: krum, byzantine: 0 }\n'));
});

test('minClients above the number of devices is refused, at the top level or in the algorithm', async (t) => {
  const top = await problems(experiment('minClients: 5\n'));
  t.regex(top[1], /x-\d+\.yaml:8:13: at minClients: expected at most 4 \(the clients of this run, data\.devices\), found 5 \(a number\)/);
  const inAlgorithm = await problems(experiment('algorithm: { name: fedavg, minClients: 6 }\n'));
  t.regex(inAlgorithm[1], /at algorithm\.minClients: expected at most 4 .*found 6/);
  await accepted(t, experiment('minClients: 4\n'));
});

test('a slowdown for a client the run does not have is refused', async (t) => {
  const found = await problems(experiment('slowdown: { client-0: 2, client-4: 10 }\n'));
  t.is(found.length, 2);
  t.regex(found[1], /at slowdown\.client-4: expected a client of this run as the key \(client-0, client-1, client-2, client-3\), found the key 'client-4'/);
});

test('a model that does not fit the synthetic data is refused: inputs, and too few classes', async (t) => {
  const inputs = await problems(experiment('', { model: '{ kind: mlp, layers: [5, 8, 3] }' }));
  t.regex(inputs[1], /:3:\d+: at model\.layers\[0\]: expected 6 inputs \(data\.features: .*\), found a model of 5 inputs/);
  const classes = await problems(experiment('', { model: '{ kind: logistic, inputs: 6, classes: 2 }' }));
  t.regex(classes[1], /at model\.classes: expected at least 3 classes \(data\.classes: the synthetic labels are 0\.\.2\), found a model of 2 classes/);
  await accepted(t, experiment('', { model: '{ kind: logistic, inputs: 6, classes: 5 }' }));
});

test('additive aggregation with fewer than 3 clients per round is refused (every round would be skipped)', async (t) => {
  const found = await problems(experiment('aggregation: additive\nfraction: 0.5\n'));
  t.regex(found[1], /at aggregation: expected an aggregation that works with 2 clients per round .*'additive' needs at least 3.*found "additive"/);
});

test('sizes above the limits are refused with the limit and how to raise it; `limits:` and --limit raise them', async (t) => {
  const big = experiment('', { rounds: '20000' });
  const found = await problems(big);
  t.regex(found[1], /at rounds: expected at most 10000 \(limit rounds: rounds of a run; raise it with `limits: \{ rounds: N \}` in the file or --limit rounds=N\), found 20000/);
  await accepted(t, big, { rounds: 20000 });
  await accepted(t, experiment('limits: { rounds: 20000 }\n', { rounds: '20000' }));

  const wide = await problems(experiment('', { model: '{ kind: mlp, layers: [6, 4000, 4000, 3] }' }));
  t.regex(wide[1], /at model: expected at most 10000000 \(limit modelParameters.*found a model of 16044003 parameters/);
  const many = await problems(experiment('', { data: '{ source: synthetic, alpha: 1, beta: 1, devices: 20000, features: 6, classes: 3 }' }));
  t.regex(many[1], /at data\.devices: expected at most 10000 \(limit clients/);
});

test('unknown limit names are refused (in the file and on the command line), and a file cannot raise its own file limits', async (t) => {
  const inFile = await problems(experiment('limits: { roundz: 5 }\n'));
  t.regex(inFile[0], /invalid `limits:` block \(a 'fedavg' file may raise rounds, clients, localEpochs, modelParameters, features; fileBytes and yamlAliases only with --limit\)/);
  t.regex(inFile[1], /at limits: unknown field 'roundz'/);
  const fileLimit = await problems(experiment('limits: { fileBytes: 5000000 }\n'));
  t.regex(fileLimit[1], /at limits: unknown field 'fileBytes'/);
  const cli = await problems(experiment(''), { roundz: 5 });
  t.regex(cli[0], /--limit for .*: unknown limit 'roundz'; this file knows fileBytes, yamlAliases, nestingDepth, rounds, clients/);
});

test('a fault plan naming actors the run does not have is refused: crashes, partitions, link patterns, scripted message ids', async (t) => {
  const inline = await problems(
    experiment(
      [
        'faults:',
        '  crashes: [ { actor: servr, at: 10 }, { actor: client-0, at: 5 } ]',
        '  partitions: [ { groups: [[me, server], [clinet-1]], from: 0, until: 10 } ]',
        "  links: [ { from: me, to: 'worker-*', drop: 0.5 }, { from: 'client-*', to: server, drop: 0.1 } ]",
        '  script: [ { msg: "svr:3", drop: true }, { msg: "server:3", drop: true } ]',
        '',
      ].join('\n'),
    ),
  );
  t.regex(inline[0], /the fault plan names actors this run does not have/);
  t.is(inline.length, 5, inline.join('\n'));
  t.regex(inline[1], /:9:23: at faults\.crashes\[0\]\.actor: expected one of this run's actors \(server, client-0, client-1, client-2, client-3\), found "servr"/);
  t.regex(inline[2], /:10:43: at faults\.partitions\[0\]\.groups\[1\]\[0\]: expected one of this run's actors .*found "clinet-1"/);
  t.regex(inline[3], /at faults\.links\[0\]\.to: expected a pattern matching at least one of this run's actors .*found "worker-\*"/);
  t.regex(inline[4], /at faults\.script\[0\]\.msg: expected a message id 'sender:n' whose sender is one of this run's actors .*found "svr:3"/);

  // A plan in its own file: the problem names that file.
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ crashes: [{ actor: 'secure_worker', at: 5 }] }));
  const fromFile = await problems(experiment('faults: ./plan.json\n'));
  t.regex(fromFile[1], /→ faults: \.\/plan\.json: at crashes\[0\]\.actor: expected one of this run's actors/);
  // …which is fine once the run has a secure worker.
  await accepted(t, experiment('faults: ./plan.json\naggregation: secure-worker\n'));
});

test('runScenario refuses a replacing fault plan (as --faults gives) that names unknown actors, before the run', async (t) => {
  const scenario = await loadScenario(experiment(''));
  const error = await t.throwsAsync(runScenario(scenario, { faults: { crashes: [{ actor: 'client-9', at: 1 }] } }), { instanceOf: FaultPlanActorsError });
  t.regex(error!.message, /at crashes\[0\]\.actor: expected one of this run's actors \(server, client-0, client-1, client-2, client-3\), found 'client-9'/);
});

test("the actors an experiment declares are exactly the actors its run spawns, for every aggregation", async (t) => {
  for (const aggregation of ['plain', 'secure-worker', 'secagg+', 'additive']) {
    const scenario = await loadScenario(experiment(`aggregation: ${aggregation}\n`));
    const outcome = await runScenario(scenario, { keepLog: false });
    t.is(outcome.error, undefined, aggregation);
    t.deepEqual([...outcome.sim.actorIds()].sort(), [...scenario.actors!].sort(), aggregation);
  }
});

test('a YAML alias bomb is refused without being expanded; ordinary anchors are fine', async (t) => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  }
  const bomb = join(dir, 'bomb.yaml');
  writeFileSync(bomb, `kind: fedavg\n${levels.join('\n')}\n`);
  const found = await problems(bomb);
  t.regex(found[0], /bomb\.yaml: its YAML aliases \(\*name\) expand to more than 100 copies \(limit yamlAliases\), the shape of an "alias bomb"/);
  await accepted(t, experiment('', { data: '&data { source: synthetic, alpha: 1, beta: 1, devices: 4, features: 6, classes: 3, maxSamplesPerDevice: 10 }', description: '"same data as *data"' }));
});

test('a file above the size limit is refused before it is read; --limit fileBytes raises it', async (t) => {
  const path = experiment(`# ${'padding '.repeat(40)}\n`);
  const found = await problems(path, { fileBytes: 300 });
  t.regex(found[0], /x-\d+\.yaml is \d{3} bytes; scenario and experiment files are limited to 300 bytes \(limit fileBytes\)\. If the file is meant to be this large, raise it with --limit fileBytes=N\./);
  await accepted(t, path, { fileBytes: 100_000 });
});

test('the parameter count a limit is checked against is the count of the model built (no model is built to check it)', (t) => {
  for (const spec of [nn.linear(5, 2), nn.logistic(60, 10), nn.mlp([784, 200, 200, 10]), nn.cnn(), nn.cnn({ inputShape: [9, 7, 3], filters: [4, 5], kernelSize: 3, hidden: 6, classes: 4 })]) {
    const model = createModel(spec, createStream(0, 'test'));
    t.is(parameterCount(spec), model.countParams(), JSON.stringify(spec));
    model.dispose();
  }
  t.is(parameterCount(nn.cnn()), 1_663_370, "McMahan et al.'s CNN");
});
