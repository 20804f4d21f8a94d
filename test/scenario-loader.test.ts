import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  defineScenario,
  experimentFields,
  experimentKinds,
  loadScenario,
  registerExperimentKind,
  resolveFaultsField,
  runScenario,
  ScenarioLoadError,
} from '../src/scenario/index.js';

// A toy experiment kind, standing in for the FL layer's `kind: fedavg`.
const ToySchema = z
  .object({
    ...experimentFields,
    rounds: z.number().int().positive(),
    clients: z.array(z.object({ id: z.string(), lr: z.number().positive() }).strict()).min(1),
  })
  .strict();

registerExperimentKind('toy', {
  description: 'a toy for tests',
  schema: ToySchema,
  toScenario: (config: z.infer<typeof ToySchema>, source) =>
    defineScenario({
      name: config.name ?? 'toy',
      seed: config.seed,
      faults: resolveFaultsField(config.faults, source.dir),
      run: async (sim) => {
        sim.mark('toy', { rounds: config.rounds });
        return { rounds: config.rounds, clients: config.clients.map((c) => c.id) };
      },
      checks: { 'at least one round': (r) => r.rounds >= 1 },
    }),
});

const dir = mkdtempSync(join(tmpdir(), 'fedsim-loader-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function loadError(path: string): Promise<string> {
  const error = await loadScenarioError(path);
  return error.message;
}
async function loadScenarioError(path: string): Promise<ScenarioLoadError> {
  try {
    await loadScenario(path);
  } catch (error) {
    if (error instanceof ScenarioLoadError) return error;
    throw error;
  }
  throw new Error(`${path} loaded without error`);
}

test('a valid YAML experiment becomes a runnable scenario that knows its file', async (t) => {
  const path = file('good.yaml', 'kind: toy\nname: tiny\nseed: 9\nrounds: 3\nclients:\n  - { id: a, lr: 0.1 }\n  - { id: b, lr: 0.2 }\n');
  const scenario = await loadScenario(path);
  t.is(scenario.name, 'tiny');
  t.is(scenario.path, path);
  const outcome = await runScenario(scenario);
  t.true(outcome.ok);
  t.is(outcome.seed, 9);
  t.deepEqual(outcome.result, { rounds: 3, clients: ['a', 'b'] });
  t.is(outcome.sim.log.header.scenario?.name, 'tiny');
});

test('JSON experiments work the same way, with fault plans resolved next to the file', async (t) => {
  file('plan.json', JSON.stringify({ drop: 0.5 }));
  const scenario = await loadScenario(file('good.json', JSON.stringify({ kind: 'toy', rounds: 1, clients: [{ id: 'a', lr: 1 }], faults: './plan.json' })));
  t.deepEqual(scenario.faults, { drop: 0.5 });
});

test('a wrong field is reported with the file, line, field path, what was expected and what was found', async (t) => {
  const path = file('bad-type.yaml', 'kind: toy\nrounds: 3\nclients:\n  - id: a\n    lr: 0.1\n  - id: b\n    lr: fast\n');
  const message = await loadError(path);
  t.true(message.includes(`${path} is not a valid 'toy' experiment`), message);
  t.true(message.includes(`${path}:7:9: at clients[1].lr: expected a number, found "fast" (a string)`), message);
});

test('missing and unknown fields, and nested fault-plan fields, are each named', async (t) => {
  const path = file('bad-fields.yaml', 'kind: toy\nclients: []\nround: 3\nfaults:\n  drop: 2\n');
  const message = await loadError(path);
  t.regex(message, /at rounds: expected a number, found nothing \(the field is missing\)/);
  t.regex(message, /bad-fields\.yaml:2:10: at clients: Too small: expected array to have >=1 items, found a list of 0/);
  t.regex(message, /bad-fields\.yaml:3:1: at \(top level\): unknown field 'round'/);
  t.regex(message, /bad-fields\.yaml:5:9: at faults\.drop: a rate is a probability in \[0, 1\], found 2 \(a number\)/);
});

test('an unknown kind lists the known ones; a missing kind says what is needed', async (t) => {
  const unknown = await loadError(file('unknown.yaml', 'kind: fedavg\nrounds: 3\n'));
  t.regex(unknown, /unknown experiment kind 'fedavg'\. Known kinds: .*module.*toy/);
  t.deepEqual(experimentKinds().filter((k) => k === 'module' || k === 'toy'), ['module', 'toy']);
  const missing = await loadError(file('no-kind.yaml', 'rounds: 3\n'));
  t.regex(missing, /missing `kind`: an experiment file names its kind, one of: .*toy/);
});

test('syntax errors point at the line', async (t) => {
  const yaml = await loadError(file('syntax.yaml', 'kind: toy\nclients: [a\n'));
  t.regex(yaml, /syntax\.yaml is not valid YAML:\n {2}- .*syntax\.yaml:\d+:\d+: /);
  const json = await loadError(file('syntax.json', '{"kind": "toy",\n "rounds": }'));
  t.regex(json, /syntax\.json is not valid JSON/);
});

test('module files: not found, wrong extension, no defineScenario default export', async (t) => {
  t.regex(await loadError(join(dir, 'absent.ts')), /Scenario file not found: .*absent\.ts/);
  t.regex(await loadError(file('notes.txt', 'hi')), /unknown scenario file type '\.txt'/);
  // A file with no default export in its source is refused before it is imported (importing would run it).
  t.regex(await loadError(file('plain.ts', 'export const x = 1;\n')), /plain\.ts has no default export, so it is not a scenario module \(it was not imported: importing would run it\)\. A scenario module default-exports defineScenario/);
  // One whose default export is not a scenario is imported, then refused with what it exported.
  t.regex(await loadError(file('number.ts', 'export default 3;\n')), /expected a default export made with defineScenario\(\{ name, run, checks \}\) \(or a function \(sim, ctx\) => result\), found a default export of type number/);
  t.regex(await loadError(file('broken.ts', 'throw new Error("boom at load");\nexport default async () => 1;\n')), /the scenario module failed to load: Error: boom at load/);
});

test('a module whose default export is a bare run function is a scenario named after its file', async (t) => {
  const path = file('bare-run.ts', 'export default async function (sim) { sim.mark("hello"); return { answer: 42 }; }\n');
  const scenario = await loadScenario(path);
  t.is(scenario.name, 'bare-run');
  t.is(scenario.path, path);
  const outcome = await runScenario(scenario, { seed: 3 });
  t.true(outcome.ok);
  t.deepEqual(outcome.result, { answer: 42 });
});

test('a module file loads with its path recorded; the built-in module kind wraps it with overrides', async (t) => {
  const module = await loadScenario('scenarios/ping-pong.ts');
  t.is(module.name, 'ping-pong');
  t.true(module.path!.endsWith('scenarios/ping-pong.ts'));
  // The module must lie in the experiment file's project (see scenario-module-files.test.ts): the file is made inside this one.
  const inProject = mkdtempSync(join(process.cwd(), '.tmp-loader-'));
  t.teardown(() => rmSync(inProject, { recursive: true, force: true }));
  writeFileSync(join(inProject, 'wrap.yaml'), `kind: module\nmodule: ../scenarios/ping-pong.ts\nseed: 11\nparams: { rounds: 1 }\n`);
  const wrapped = await loadScenario(join(inProject, 'wrap.yaml'));
  t.is(wrapped.seed, 11);
  t.deepEqual(wrapped.params, { rounds: 1, rallies: 5 });
  t.deepEqual(wrapped.modules?.map((m) => m.path), [module.path]);
  t.true(wrapped.path!.endsWith('wrap.yaml'));
  const outcome = await runScenario(wrapped);
  t.true(outcome.ok);
  t.is((outcome.result as { rounds: number }).rounds, 1);
});
