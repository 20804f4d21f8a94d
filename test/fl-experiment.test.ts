/**
 * The `fedavg` experiment kind: a federated run from a YAML file, through the
 * scenario layer (what `fedsim run experiment.yaml` does).
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const yaml = `
kind: fedavg
name: fedprox on a small synthetic problem
seed: 4
data: { source: synthetic, alpha: 0.5, beta: 0.5, devices: 6, features: 10, classes: 3, maxSamplesPerDevice: 60 }
model: { kind: logistic, inputs: 10, classes: 3 }
algorithm: { name: fedprox, mu: 0.1 }
rounds: 6
fraction: 0.5
localEpochs: 2
batchSize: 10
lr: 0.1
slowdown: { client-2: 1000 }
roundDeadlineMs: 500
expect: { minTestAccuracy: 0.5 }
`;

test('a fedavg experiment file runs as a scenario, reproducibly, with its checks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-fl-'));
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, yaml);
  const scenario = await loadScenario(file);
  t.is(scenario.name, 'fedprox on a small synthetic problem');
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.checks));
  t.is(a.result!.rounds, 6);
  t.true(a.result!.finalTestAccuracy! >= 0.5);
  t.true(a.result!.perRound.some((r) => r.dropped > 0), 'the straggler misses the deadline when selected');
  t.deepEqual(a.result!.metrics.map((m) => m.name), ['test accuracy', 'test accuracy', 'test loss', 'train loss (clients)', 'bytes up', 'bytes down']);
  t.deepEqual(a.result!.metrics.map((m) => m.chart), ['accuracy', 'accuracy vs virtual time', 'loss', 'loss', 'bytes', 'bytes']);
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.is(b.result!.weightsSha256, a.result!.weightsSha256);
  t.is(b.sim.log.toJSONL(), a.sim.log.toJSONL());
});

test('a bad experiment file names the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-fl-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, yaml.replace('localEpochs: 2', 'localEpochs: 0'));
  await t.throwsAsync(loadScenario(file), { message: /localEpochs/ });
});
