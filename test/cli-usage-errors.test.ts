/**
 * Usage errors exit 2 with one line that names the flag (or setting) and how to write
 * it: --param, --out, --record, FEDSIM_BACKEND, --seed, --max-steps; files nested too
 * deeply are refused with the nesting limit, not a stack overflow. --param sets the
 * fields of an experiment file (with a did-you-mean for unknown ones), and the step
 * budget (--max-steps, `maxSteps:`) stops a run with an error that says how to raise it.
 *
 * Each class is checked end to end once through the command line, and input by input
 * through the functions the command line calls (a CLI process takes seconds to start).
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareRunOutputs } from '../src/cli/run-outputs.js';
import { loadFaultsArgument, maxStepsOption, paramOption, seedOption, startBackend } from '../src/cli/run-options.js';
import '../src/cli/experiment-kinds.js';
import { initBackend } from '../src/runtime/backend.js';
import { ArgumentError, defineScenario, loadScenario, parseSeedRange, runScenario, ScenarioDefinitionError, ScenarioLoadError } from '../src/scenario/index.js';
import { ROOT, fedsim, fedsimWith, tempDir } from './helpers/fedsim-cli.js';

const TINY = 'test/fixtures/fedavg-tiny.yaml';
const TINY_TEXT = readFileSync(join(ROOT, TINY), 'utf8');

test('usage errors exit 2 with one line naming the flag or setting, before anything runs or is written', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  // The outputs of an earlier run, which a refused run must leave as they are.
  const earlier = join(dir, 'earlier');
  mkdirSync(earlier);
  writeFileSync(join(earlier, 'run.jsonl'), 'the earlier log\n');
  const cases: Array<{ args: string[]; env?: Record<string, string>; line: string | RegExp }> = [
    { args: ['run', TINY, '--param', 'x', '--out', earlier], line: 'error: --param x: write key=value (e.g. --param rounds=3).' },
    { args: ['run', TINY, '--out', file], line: `error: --out ${file}: ${file} is a file, not a directory; give a directory (or remove the file).` },
    { args: ['run', TINY, '--out', join(dir, 'out')], env: { FEDSIM_BACKEND: 'gpu' }, line: 'error: FEDSIM_BACKEND=gpu: unknown backend; use one of tensorflow, wasm, cpu.' },
    { args: ['replay', 'no-such.jsonl', '--max-steps', '-1'], line: 'error: --max-steps -1: give a positive integer (the step budget of one await or settle, e.g. --max-steps 5000000).' },
  ];
  const results = await Promise.all(cases.map(({ args, env }) => fedsimWith({ env }, ...args)));
  for (const [i, { code, stdout, stderr }] of results.entries()) {
    const { args, env, line } = cases[i];
    const what = `${env ? 'FEDSIM_BACKEND=gpu ' : ''}${args.join(' ')}`;
    t.is(code, 2, what);
    t.is(stdout, '', `${what}: nothing ran`);
    t.true(stderr.endsWith('\n') && stderr.indexOf('\n') === stderr.length - 1, `${what}: one line: ${stderr}`);
    if (typeof line === 'string') t.is(stderr, `${line}\n`, what);
    else t.regex(stderr, line, what);
  }
  t.deepEqual(readdirSync(earlier), ['run.jsonl']);
  t.is(readFileSync(join(earlier, 'run.jsonl'), 'utf8'), 'the earlier log\n');
  t.false(existsSync(join(dir, 'out')), 'a bad backend name leaves no output directory behind');
});

test('--max-steps, --param and --seed values: every malformed one is refused with the flag named, good ones parse', (t) => {
  for (const bad of ['0', '-1', '1.5', 'abc', '', ' ', '1e400', '9007199254740993', '0x']) {
    t.throws(() => maxStepsOption(bad), { message: new RegExp(`^--max-steps ${bad.replace(/[.+]/g, '\\$&')}: give a positive integer`) }, `--max-steps '${bad}'`);
  }
  for (const [text, value] of [['5', 5], ['2e6', 2_000_000], ['2_000_000', 2_000_000], [' 7 ', 7]] as const) t.is(maxStepsOption(text), value, text);

  for (const bad of ['x', '=3', '', 'rounds']) t.throws(() => paramOption(bad), { message: `--param ${bad}: write key=value (e.g. --param rounds=3).` });
  const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
  t.throws(() => paramOption(`data=${deep}`), { message: '--param data=…: the value nests more than 32 levels deep.' });
  t.deepEqual(paramOption('lr=0.5', paramOption('name=a=b')), { name: 'a=b', lr: 0.5 });

  for (const bad of ['1.5', '-0.5', '.inf', '1e-3']) t.throws(() => seedOption(bad), { message: /^--seed: Seed .* is a number but not an integer/ }, `--seed ${bad}`);
  t.throws(() => seedOption(''), { message: /A seed cannot be empty/ });
  t.throws(() => seedOption('1e30'), { message: /too large/ });
  for (const [text, seed] of [['42', 42], ['0x10', 16], ['alpha', 'alpha']] as const) t.is(seedOption(text), seed);
});

test('--out and --record: a path through a file, a log path that is a directory, an unwritable place are each refused naming the flag', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  mkdirSync(join(dir, 'a-dir'));
  const refused = (out: string, record: string | undefined, message: RegExp) =>
    t.throws(() => prepareRunOutputs(out, record ?? join(out, 'run.jsonl'), { out: `--out ${out}`, record: record && `--record ${record}` }), { name: 'CliError', message }, `${out} ${record ?? ''}`);
  refused(file, undefined, /^--out \S+a-file: \S+a-file is a file, not a directory/);
  refused(join(file, 'deeper', 'still'), undefined, /^--out \S+: \S+a-file is a file, not a directory/);
  refused(join(dir, 'out'), join(file, 'x.jsonl'), /^--record \S+: \S+a-file is a file, not a directory/);
  refused(join(dir, 'out'), join(dir, 'a-dir'), /^--record \S+a-dir: \S+a-dir is a directory; the event log needs a file name \(e\.g\. \S+a-dir\/run\.jsonl\)/);
  refused('/proc/nope/deeper', undefined, /^--out \/proc\/nope\/deeper: cannot create the directory \/proc\/nope \(\/proc does not accept new directories\)/);
  refused('/proc/self/nope', undefined, /^--out \/proc\/self\/nope: cannot create \/proc\/self\/nope: \/proc\/self is not writable\.$/);
  // Good paths: every missing level is made, nothing is written yet.
  const outputs = prepareRunOutputs(join(dir, 'new', 'deep', 'out'), join(dir, 'logs', 'a', 'run.jsonl'), { out: '--out x' });
  t.is(outputs.partial.log, join(dir, 'logs', 'a', 'run.jsonl.partial'));
  t.deepEqual(readdirSync(join(dir, 'new', 'deep', 'out')), []);
  t.deepEqual(readdirSync(join(dir, 'logs', 'a')), []);
});

// Serial (serial tests run before the others): it sets FEDSIM_BACKEND in this process, which the CLI processes the other tests start would inherit.
test.serial('an unknown backend, from FEDSIM_BACKEND or --backend, is a usage error listing the backends', async (t) => {
  const saved = process.env.FEDSIM_BACKEND;
  try {
    for (const name of ['gpu', 'WASM', 'cpu,wasm', 'webgl']) {
      process.env.FEDSIM_BACKEND = name;
      await t.throwsAsync(startBackend(undefined), { name: 'CliError', message: `FEDSIM_BACKEND=${name}: unknown backend; use one of tensorflow, wasm, cpu.` });
    }
  } finally {
    if (saved === undefined) delete process.env.FEDSIM_BACKEND;
    else process.env.FEDSIM_BACKEND = saved;
  }
  await t.throwsAsync(startBackend('gpu'), { name: 'CliError', message: '--backend gpu: unknown backend; use one of tensorflow, wasm, cpu.' });
});

/** Writes `text` as `name` in a fresh directory and loads it as a scenario. */
async function loadText(t: Parameters<typeof tempDir>[0], name: string, text: string, options: Parameters<typeof loadScenario>[1] = {}) {
  const file = join(tempDir(t), name);
  writeFileSync(file, text);
  return loadScenario(file, options);
}

test('files nested deeper than the limit are refused with the place and the limit, never a stack overflow: YAML flow and block, JSON, inside a field', async (t) => {
  const flow = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const block = (depth: number) => Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ` 1\n`;
  const cases: Array<[string, string, string]> = [
    ['flow.yaml', `kind: fedavg\nx: ${flow(5000)}\n`, ':2:'],
    ['block.yaml', `kind: fedavg\n${block(40)}`, ':34:'],
    ['deep.json', `{"kind": "fedavg", "x": ${flow(100_000)}}`, ':1:'],
    ['field.yaml', `${TINY_TEXT}faults: { script: ${flow(3000)} }\n`, ':12:'],
  ];
  for (const [name, text, line] of cases) {
    const error = await t.throwsAsync(loadText(t, name, text), { instanceOf: ScenarioLoadError }, name);
    t.true(error!.message.includes(`${name}${line}`), `${name}: ${error!.message}`);
    t.true(error!.message.endsWith('nested more than 32 levels deep (limit nestingDepth); experiment files need a few levels. If the file really nests this deep, raise it with --limit nestingDepth=N.'), error!.message);
  }
  // At the limit the file is read (and judged on its fields); --limit nestingDepth lets a deeper one be read.
  const atLimit = await t.throwsAsync(loadText(t, 'at-limit.yaml', `kind: fedavg\nx: ${flow(31)}\n`), { instanceOf: ScenarioLoadError });
  t.regex(atLimit!.message, /is not a valid 'fedavg' experiment/);
  const raised = await t.throwsAsync(loadText(t, 'raised.yaml', `kind: fedavg\n${block(40)}`, { limits: { nestingDepth: 64 } }), { instanceOf: ScenarioLoadError });
  t.regex(raised!.message, /unknown field 'k0'/);
  // Raised past what the YAML reader can recurse through: still a load error, not a crash.
  await t.throwsAsync(loadText(t, 'too-far.yaml', `kind: fedavg\nx: ${flow(100_000)}\n`, { limits: { nestingDepth: 1_000_000 } }), { instanceOf: ScenarioLoadError });

  const dir = tempDir(t);
  writeFileSync(join(dir, 'deep.yaml'), `kind: fedavg\nx: ${flow(5000)}\n`);
  const cli = await fedsim('run', join(dir, 'deep.yaml'), '-q');
  t.is(cli.code, 2);
  t.is(cli.stderr, `error: ${join(dir, 'deep.yaml')}:2:35: nested more than 32 levels deep (limit nestingDepth); experiment files need a few levels. If the file really nests this deep, raise it with --limit nestingDepth=N.\n`);
});

test('--param on an experiment file sets its fields: the run changes, is recorded, and replays', async (t) => {
  const dir = tempDir(t);
  const ran = await fedsim('run', TINY, '--param', 'rounds=3', '--param', 'data.devices=4', '--out', dir, '-q');
  t.is(ran.code, 0, ran.stderr);
  t.regex(ran.stdout, /│ rounds +│ 3 +│/);
  t.regex(ran.stdout, /│ actors +│ 5 +│/, 'four clients and the server');
  const header = JSON.parse(readFileSync(join(dir, 'run.jsonl'), 'utf8').split('\n')[0]);
  t.deepEqual(header.scenario.params, { rounds: 3, 'data.devices': 4 });
  const replay = await fedsim('replay', join(dir, 'run.jsonl'), '-q');
  t.is(replay.code, 0, replay.stdout + replay.stderr);
  t.regex(replay.stdout, /replay OK/);

  await initBackend();
  const plain = await runScenario(await loadScenario(TINY));
  for (const params of [{ rounds: 3 }, { lr: 0.5 }, { 'data.devices': 4 }, { model: { kind: 'logistic', inputs: 4, classes: 2 } }]) {
    const changed = await runScenario(await loadScenario(TINY, { params }), { params });
    t.is(changed.error, undefined, JSON.stringify(params));
    const same = JSON.stringify(params) === JSON.stringify({ model: { kind: 'logistic', inputs: 4, classes: 2 } });
    // Setting a field to the value it has changes nothing but the header; any other value changes the run.
    t.is(changed.sim.log.eventLines().join('\n') === plain.sim.log.eventLines().join('\n'), same, JSON.stringify(params));
  }
});

test('--param naming an unknown field of an experiment file suggests the field meant; reserved and impossible paths are refused', async (t) => {
  const refused = async (params: Record<string, unknown>, expected: string) => {
    const error = await t.throwsAsync(loadScenario(TINY, { params }), { instanceOf: ScenarioLoadError }, JSON.stringify(params));
    t.true(error!.message.includes(expected), `${JSON.stringify(params)}: ${error!.message}`);
  };
  await refused({ roundz: 3 }, "  - --param roundz=3: at (top level): unknown field 'roundz': did you mean 'rounds'?");
  await refused({ localEpoch: 2 }, "  - --param localEpoch=2: at (top level): unknown field 'localEpoch': did you mean 'localEpochs'?");
  await refused({ lR: 0.1 }, "  - --param lR=0.1: at (top level): unknown field 'lR': did you mean 'lr'?");
  await refused({ 'data.devicez': 4 }, "  - --param data.devicez=4: at data: unknown field 'devicez': did you mean 'devices'?");
  await refused({ batchsize: 4 }, "did you mean 'batchSize'?");
  await refused({ zzzzzz: 1 }, "  - --param zzzzzz=1: at (top level): unknown field 'zzzzzz' (remove or rename it)");
  await refused({ rounds: 'abc' }, '  - --param rounds=abc: at rounds: expected a number, found "abc" (a string)');
  await refused({ kind: 'module' }, '--param kind=module: the kind of a file cannot be changed from the command line.');
  await refused({ 'limits.rounds': 5 }, '--param limits.rounds=5: raise limits with --limit name=N.');
  await refused({ 'lr.x': 1 }, "--param lr.x=1: in test/fixtures/fedavg-tiny.yaml, lr is not a mapping, so it has no field 'x'.");
  await refused({ '__proto__.polluted': 1 }, "--param __proto__.polluted=1: '__proto__.polluted' is not a field path");
  await refused({ 'data..devices': 1 }, "'data..devices' is not a field path");
  t.is(({} as Record<string, unknown>).polluted, undefined);

});

test('a step budget too small for the run stops it with a LivelockError saying how to raise it: --max-steps, or maxSteps in the file', async (t) => {
  const dir = tempDir(t);
  const cli = await fedsim('run', TINY, '--max-steps', '5', '--out', dir, '-q');
  t.is(cli.code, 1);
  t.regex(
    cli.stderr,
    /^the run failed: LivelockError: Waiting for .* did not finish within 5 steps \(virtual time [\d.]+ ms\): the actors keep producing work\. If the run really needs more, raise the limit: fedsim run\|explore\|replay --max-steps N, `maxSteps: N` in the scenario or experiment file, or new Simulation\(\{ maxSteps: N \}\)\./,
  );
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  t.deepEqual(results.steps, { longestStretch: 6, maxSteps: 5 });

  await initBackend();
  for (const budget of [1, 5, 11]) {
    const scenario = await loadText(t, 'budget.yaml', `${TINY_TEXT}maxSteps: ${budget}\n`);
    t.is(scenario.maxSteps, budget);
    const outcome = await runScenario(scenario);
    const error = outcome.error as Error | undefined;
    t.is(error?.name, 'LivelockError', `maxSteps: ${budget}`);
    t.regex(error!.message, new RegExp(`did not finish within ${budget} steps .*--max-steps N`), `maxSteps: ${budget}`);
    t.is(outcome.sim.log.header.scenario?.maxSteps, budget, 'recorded, so the replay runs under it');
  }
  const enough = await runScenario(await loadText(t, 'enough.yaml', `${TINY_TEXT}maxSteps: 100\n`));
  t.is(enough.error, undefined);

  for (const bad of ['0', '-1', '1.5', 'abc', 'true', '[5]']) {
    const error = await t.throwsAsync(loadText(t, 'bad.yaml', `${TINY_TEXT}maxSteps: ${bad}\n`), { instanceOf: ScenarioLoadError }, bad);
    t.regex(error!.message, /bad\.yaml: invalid `maxSteps`:\n {2}- \S+bad\.yaml:12:\d+: at maxSteps: expected a positive integer \(the step budget of one await or settle\), found /, bad);
  }
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => defineScenario({ name: 'x', run: async () => undefined, maxSteps: bad }), { instanceOf: ScenarioDefinitionError, message: /`maxSteps` must be a positive integer/ });
  }
});

test('messages for a second YAML document, an inline --faults that is JSON but no object, and too many --seeds say what to do', async (t) => {
  const dir = tempDir(t);
  for (const [text, line] of [
    ['kind: module\nmodule: ./x.mjs\n---\nkind: module\n', 3],
    ['---\nkind: module\n...\n---\nseed: 1\n', 4],
  ] as const) {
    writeFileSync(join(dir, 'two.yaml'), text);
    const error = await t.throwsAsync(loadScenario(join(dir, 'two.yaml')), { instanceOf: ScenarioLoadError });
    t.regex(error!.message, new RegExp(`two\\.yaml:${line}:1: a second YAML document starts here \\(\`---\`\\); an experiment file holds one document: put each experiment in a file of its own`));
    t.false(error!.message.includes('parseAllDocuments'));
  }
  for (const [inline, found] of [['[]', 'a list'], ['5', 'a number'], ['null', 'null'], ['"plan.json"', 'a string']]) {
    t.throws(() => loadFaultsArgument(inline), { name: 'CliError', message: new RegExp(`^--faults ${inline.replace(/[[\]]/g, '\\$&')}: an inline fault plan must be a JSON object \\(e\\.g\\. '\\{"drop": 0\\.1\\}'\\), found ${found}; or give the path of a fault-plan file`) }, inline);
  }
  t.throws(() => loadFaultsArgument(join(dir, 'absent.json')), { message: /Fault plan file not found/ }, 'a path that is not JSON is still a missing file');
  for (const [seeds, count] of [['1..100000000', '100,000,000'], ['1..600000,700000..1300000', '1,200,001']] as const) {
    t.throws(() => parseSeedRange(seeds), { instanceOf: ArgumentError, message: `Seeds ${seeds} are ${count} seeds, more than a million: explore a range of at most a million at a time, or split it (1..1000000, then 1000001..2000000, …).` });
  }
  t.throws(() => parseSeedRange('100000000', { countForm: true }), { message: /^Seeds 100000000 are 100,000,000 seeds, more than a million/ });
  t.is(parseSeedRange('1..1000000').length, 1_000_000);
});
