/**
 * The module a `kind: module` experiment file names is code that replay imports again,
 * so it is held to the scenario file's rules (module-experiment.ts, recorded-scenario.ts):
 *   - at run time, a module outside the experiment file's project (by `..`, or through a
 *     symbolic link) is refused before it is imported;
 *   - the log header records its project-relative path and sha256 (scenario.modules);
 *   - at replay, a module edited since the run, or one the header does not record, is
 *     refused before it is imported (a marker file its import would write stays absent),
 *     as is a header entry leaving the project;
 *   - a module file that names itself, or a file naming it back, is a cycle refused in
 *     one line, not a stack overflow.
 * In process: each case loads a module file never imported before, so "not imported" is
 * observable (its marker file) and not hidden by the import cache.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayCommand } from '../src/cli/commands/replay.js';
import { scanLog } from '../src/runtime/index.js';
import { RecordedScenarioError, ScenarioLoadError, loadScenario, recordedModulesCheck, runScenario, sha256OfFile } from '../src/scenario/index.js';
import { tempDir } from './helpers/fedsim-cli.js';

let counter = 0;

/** A project holding run.yaml (kind: module) and a module that writes `marker` when imported. */
function project(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t, 'fedsim-modules-');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(dir, 'scenarios'));
  const marker = join(dir, 'imported');
  const moduleFile = join(dir, 'scenarios', `m${counter++}.mjs`);
  writeModule(moduleFile, marker);
  writeFileSync(join(dir, 'run.yaml'), `kind: module\nmodule: ./scenarios/${moduleFile.split('/').pop()}\nseed: 3\n`);
  return { dir, marker, moduleFile, yaml: join(dir, 'run.yaml') };
}

function writeModule(file: string, marker: string, extra = '') {
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\n${extra}\n` +
      'export default async function (sim) { return { actors: sim.actorIds().length }; }\n',
  );
}

test('the log header records the module a module file runs (project-relative path and sha256); replay refuses it once edited, before importing it', async (t) => {
  const p = project(t);
  const scenario = await loadScenario(p.yaml);
  const log = join(p.dir, 'run.jsonl');
  const outcome = await runScenario(scenario, { record: log });
  t.true(outcome.ok, String(outcome.error));
  const info = scanLog(log).header.scenario!;
  const relativeModule = `scenarios/${p.moduleFile.split('/').pop()}`;
  t.deepEqual(info.modules, [{ path: relativeModule, sha256: sha256OfFile(p.moduleFile) }]);

  // Unchanged: the check accepts it (the marker says it was imported at run time; not again, cached).
  t.notThrows(() => recordedModulesCheck(info, log, { project: p.dir })(p.moduleFile, sha256OfFile(p.moduleFile)));

  // The same project copied elsewhere with the module edited: a file this process never imported, so its import would show.
  const copy = tempDir(t, 'fedsim-modules-copy-');
  mkdirSync(join(copy, 'scenarios'));
  for (const file of ['package.json', 'run.yaml', 'run.jsonl']) copyFileSync(join(p.dir, file), join(copy, file));
  const editedMarker = join(copy, 'imported-after-edit');
  writeModule(join(copy, relativeModule), editedMarker, '// edited after the run');
  await t.throwsAsync(async () => loadScenario(join(copy, 'run.yaml'), { verifyCode: recordedModulesCheck(info, join(copy, 'run.jsonl'), { project: copy }) }), {
    instanceOf: RecordedScenarioError,
    message: /^the module changed since the log was recorded: expected sha256 [0-9a-f]{64}, found [0-9a-f]{64} \(\S+m\d+\.mjs\)/,
  });
  t.is(await replayCommand(join(copy, 'run.jsonl'), { project: copy, quiet: true }), 1, 'the command refuses it (exit 1)');
  t.false(existsSync(editedMarker), 'the edited module was not imported');
  // Unedited, the copy replays (and imports the module there).
  writeModule(join(copy, relativeModule), p.marker);
  t.is(await replayCommand(join(copy, 'run.jsonl'), { project: copy, quiet: true }), 0);
});

test('a module the header does not record, or records outside the project, is refused before it is imported', async (t) => {
  const p = project(t);
  const log = join(p.dir, 'run.jsonl');
  await runScenario(await loadScenario(p.yaml), { record: log });
  const info = scanLog(log).header.scenario!;
  // An old log (no scenario.modules): refused unless the user accepts the files as they are now.
  const { modules: _, ...old } = info;
  const fresh = join(p.dir, 'scenarios', `m${counter++}.mjs`);
  const freshMarker = join(p.dir, 'imported-unrecorded');
  writeModule(fresh, freshMarker);
  const unrecorded = recordedModulesCheck(old, log, { project: p.dir });
  t.throws(() => unrecorded(fresh, sha256OfFile(fresh)), { instanceOf: RecordedScenarioError, message: /loads \S+m\d+\.mjs, which the log header does not record \(the log was recorded before .*--allow-unverified-scenario/ });
  t.notThrows(() => recordedModulesCheck(old, log, { project: p.dir, allowUnverified: true })(fresh, sha256OfFile(fresh)));
  // A header that records other modules than the one loaded.
  t.throws(() => recordedModulesCheck(info, log, { project: p.dir })(fresh, sha256OfFile(fresh)), { instanceOf: RecordedScenarioError, message: /which the log header does not record; the run loaded scenarios\/m\d+\.mjs/ });
  // Header entries leaving the project, or damaged.
  for (const path of ['../outside.mjs', '/etc/passwd']) {
    t.throws(() => recordedModulesCheck({ ...info, modules: [{ path, sha256: 'a'.repeat(64) }] }, log, { project: p.dir }), { instanceOf: RecordedScenarioError, message: /names the module \(loaded by the scenario file\) '.*'.*only scenario files inside the project/ }, path);
  }
  t.throws(() => recordedModulesCheck({ ...info, modules: 'x' }, log, { project: p.dir }), { instanceOf: RecordedScenarioError, message: /scenario\.modules is not a list/ });
  t.false(existsSync(freshMarker));
});

test('at run time, a module outside the experiment file\'s project is refused before it is imported: by .., by a symbolic link', async (t) => {
  const outside = tempDir(t, 'fedsim-outside-');
  const marker = join(outside, 'imported');
  writeModule(join(outside, 'outside.mjs'), marker);
  const p = project(t);
  writeFileSync(join(p.dir, 'up.yaml'), `kind: module\nmodule: ${join('..', outside.split('/').pop()!, 'outside.mjs')}\n`);
  await t.throwsAsync(loadScenario(join(p.dir, 'up.yaml')), { instanceOf: ScenarioLoadError, message: /up\.yaml: module: \.\.\/\S+outside\.mjs is outside the project \S+; a replay imports only code inside the project/ });
  symlinkSync(join(outside, 'outside.mjs'), join(p.dir, 'scenarios', 'linked.mjs'));
  writeFileSync(join(p.dir, 'linked.yaml'), 'kind: module\nmodule: ./scenarios/linked.mjs\n');
  await t.throwsAsync(loadScenario(join(p.dir, 'linked.yaml')), { instanceOf: ScenarioLoadError, message: /module: \.\/scenarios\/linked\.mjs is outside the project \S+ \(through a symbolic link, \S+outside\.mjs\)/ });
  t.false(existsSync(marker));
});

test('a module file naming itself, or a chain of them leading back, is a cycle refused in one line', async (t) => {
  const dir = tempDir(t, 'fedsim-cycle-');
  writeFileSync(join(dir, 'package.json'), '{}');
  writeFileSync(join(dir, 'self.yaml'), 'kind: module\nmodule: ./self.yaml\n');
  const self = await t.throwsAsync(loadScenario(join(dir, 'self.yaml')), { instanceOf: ScenarioLoadError });
  t.regex(self!.message, /^\S*self\.yaml: module: \.\/self\.yaml refers back to \S*self\.yaml \(a cycle\); /);
  t.false(self!.message.includes('\n'));
  writeFileSync(join(dir, 'a.yaml'), 'kind: module\nmodule: ./b.yaml\n');
  writeFileSync(join(dir, 'b.yaml'), 'kind: module\nmodule: ./c.json\n');
  writeFileSync(join(dir, 'c.json'), '{"kind":"module","module":"./a.yaml"}');
  const chain = await t.throwsAsync(loadScenario(join(dir, 'a.yaml')), { instanceOf: ScenarioLoadError });
  t.regex(chain!.message, /^\S*c\.json: module: \.\/a\.yaml refers back to \S*a\.yaml \(a cycle: \S*a\.yaml → \S*b\.yaml → \S*c\.json → \S*a\.yaml\)/);
  // A chain that does not loop (a module file naming another module file) still loads.
  writeFileSync(join(dir, 'leaf.mjs'), 'export default async function () { return {}; }\n');
  writeFileSync(join(dir, 'outer.yaml'), 'kind: module\nmodule: ./inner.yaml\nseed: 5\n');
  writeFileSync(join(dir, 'inner.yaml'), 'kind: module\nmodule: ./leaf.mjs\n');
  const nested = await loadScenario(join(dir, 'outer.yaml'));
  t.deepEqual(nested.modules?.map((m) => m.path.split('/').pop()), ['inner.yaml', 'leaf.mjs']);
});
