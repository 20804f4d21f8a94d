/**
 * What `fedsim run` leaves behind and what `fedsim replay` agrees to run:
 *   - outputs are renamed into place only when the run is complete: Ctrl-C (exit 130),
 *     SIGTERM, a usage error or a crash never replace the outputs of an earlier run, and
 *     the log so far is kept, line by line, as run.jsonl.partial (which replays);
 *   - running the steps through the CLI's Ctrl-C watchdog changes nothing in the run;
 *   - replay imports a scenario file only inside the project and with the bytes the log
 *     header records: an edited header cannot make it run another file;
 *   - the "replay it:" hint works where it is printed, inside or outside the project.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInterruptibly } from '../src/cli/interrupt.js';
import { initBackend } from '../src/runtime/backend.js';
import { LOG_WRITE_CHUNK, type StepRunner } from '../src/runtime/index.js';
import { RecordedScenarioError, loadScenario, replayProjectFor, resolveRecordedScenario, runScenario, unmatchedScriptedFaults } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';
import { ROOT, fedsim, fedsimWith, startFedsim, tempDir } from './helpers/fedsim-cli.js';

const TINY = 'test/fixtures/fedavg-tiny.yaml';
/** Far more rounds than a test waits for (the limit's maximum): the run is stopped long before it ends. */
const LONG_RUN = ['--param', 'rounds=10000'];
/** An FL experiment's outputs: its final model too (src/cli/final-model-output.ts). */
const OUTPUTS = ['final-model.bin', 'final-model.json', 'report.html', 'results.json', 'run.jsonl'];


const test = anyTest as TestFn<{ dir: string; log: string; runStdout: string }>;

// One recorded run shared by the replay tests: ping-pong, run from the project.
test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-outputs-'));
  const ran = await fedsim('run', 'scenarios/ping-pong.ts', '--out', join(dir, 'ping-pong'), '-q');
  if (ran.code !== 0) throw new Error(`the shared run failed:\n${ran.stderr}`);
  t.context = { dir, log: join(dir, 'ping-pong', 'run.jsonl'), runStdout: ran.stdout };
});
test.after.always((t) => {
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const snapshot = (dir: string) => Object.fromEntries(OUTPUTS.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** The outputs of an earlier run in `out` (their content is the earlier run's business). */
function earlierOutputs(out: string): Record<string, string> {
  mkdirSync(out, { recursive: true });
  for (const file of OUTPUTS) writeFileSync(join(out, file), `the earlier run's ${file}\n`);
  return snapshot(out);
}

/** Starts a long run into `out` and sends `signal` once its log has events on disk (the run is under way). */
async function stopMidRun(out: string, signal: NodeJS.Signals) {
  const running = startFedsim({}, 'run', TINY, ...LONG_RUN, '--out', out, '-q');
  let exited = false;
  void running.ended.then(() => (exited = true));
  const partial = join(out, 'run.jsonl.partial');
  // Past the header and one chunk of events: the run is in its federated rounds, not loading.
  while (!exited && !(existsSync(partial) && statSync(partial).size > LOG_WRITE_CHUNK)) await sleep(20);
  running.child.kill(signal);
  return running.ended;
}

/** Every line of a kept log is complete JSON: the header, then events numbered 0, 1, 2, … Returns the number of events. */
function checkPartialLog(t: ExecutionContext<unknown>, file: string): number {
  const text = readFileSync(file, 'utf8');
  t.true(text.endsWith('\n'), 'the log ends with a whole line');
  const lines = text.slice(0, -1).split('\n').map((line) => JSON.parse(line));
  t.is(lines[0].kind, 'fedsim-log');
  t.deepEqual(lines[0].scenario.params, { rounds: 10000 });
  t.true(lines.slice(1).every((event, i) => event.seq === i), 'events 0, 1, 2, … with none missing');
  t.true(lines.length > 100, `${lines.length} lines kept`);
  return lines.length - 1;
}

test('Ctrl-C stops a long run with exit 130: the earlier outputs stay, the log so far is kept as run.jsonl.partial and replays up to its end', async (t) => {
  const out = join(tempDir(t), 'out');
  const before = earlierOutputs(out);

  const stopped = await stopMidRun(out, 'SIGINT');
  t.is(stopped.code, 130, stopped.stderr);
  t.regex(
    stopped.stderr,
    /^interrupted: the run was stopped \(Ctrl-C\) at virtual time [\d.]+ ms before it finished; its event log so far is \S+run\.jsonl\.partial \(earlier outputs, if any, were left as they were\)\n$/,
  );
  t.deepEqual(snapshot(out), before, 'the outputs of the earlier run are untouched');
  t.deepEqual(readdirSync(out).sort(), [...OUTPUTS, 'run.jsonl.partial'], 'no results or report of the stopped run');
  const events = checkPartialLog(t, join(out, 'run.jsonl.partial'));

  // The kept log is the true beginning of the run: replay says where it ends, and replays to there.
  const last = events - 1;
  const whole = await fedsim('replay', join(out, 'run.jsonl.partial'), '-q');
  t.is(whole.code, 1);
  t.true(whole.stdout.includes(`it is the log of a run that was stopped (a .partial log?). Replay it up to its last event with --until ${last}.`), whole.stdout);
  const upToEnd = await fedsim('replay', join(out, 'run.jsonl.partial'), '--until', String(last), '-q');
  t.is(upToEnd.code, 0, upToEnd.stdout + upToEnd.stderr);
  t.true(upToEnd.stdout.includes(`✓ the replay matches the log up to seq ${last} (${events} events checked)`), upToEnd.stdout);
  t.regex(upToEnd.stdout, /── server ──/, "the actors' state is shown");
});

test('a run ended by SIGTERM leaves the earlier outputs; a completed one replaces them all (the final model too), and its .partial log', async (t) => {
  const out = join(tempDir(t), 'out');
  const before = earlierOutputs(out);

  // SIGTERM keeps Node's default (the process ends at once); the earlier outputs and the chunks written stay.
  const terminated = await stopMidRun(out, 'SIGTERM');
  t.is(terminated.signal, 'SIGTERM');
  t.deepEqual(snapshot(out), before);
  checkPartialLog(t, join(out, 'run.jsonl.partial'));

  const rerun = await fedsim('run', TINY, '--param', 'rounds=3', '--out', out, '-q');
  t.is(rerun.code, 0, rerun.stderr);
  t.deepEqual(readdirSync(out).sort(), OUTPUTS, 'the complete run left no .partial file');
  const after = snapshot(out);
  for (const file of OUTPUTS) t.not(after[file], before[file], `${file} is the new run's`);
  const results = JSON.parse(after['results.json']);
  t.is(results.log.sha256, sha256(after['run.jsonl']), 'results.json names the log written with it');
  t.is(results.result.rounds, 3);
  t.deepEqual(JSON.parse(after['run.jsonl'].split('\n')[0]).scenario.params, { rounds: 3 });
});

test("the Ctrl-C watchdog, and any other way of slicing the steps, leaves every run's event log and outcome unchanged", async (t) => {
  await initBackend();
  /** Runs the steps n at a time, with n from `sizes` in turn. */
  const sliced =
    (...sizes: number[]): StepRunner =>
    (advance) => {
      for (let i = 0; !advance(sizes[i % sizes.length]); i++);
    };
  const runners: Record<string, StepRunner> = { runInterruptibly, 'one step at a time': sliced(1), 'chunks of 1, 7 and 64': sliced(1, 7, 64) };
  const cases: Array<{ file: string; params?: Record<string, unknown>; maxSteps?: number }> = [
    { file: 'scenarios/ping-pong.ts' }, // a few awaits of a few dozen steps
    { file: 'scenarios/pointers-basics.ts' }, // many awaits of a few steps
    { file: TINY, params: { rounds: 12 } }, // one long await: the whole federated run
    { file: 'scenarios/ping-pong.ts', maxSteps: 20 }, // stopped by its step budget in the middle of an await
  ];
  for (const { file, params, maxSteps } of cases) {
    const scenario = await loadScenario(join(ROOT, file), { params });
    const what = `${file}${maxSteps ? ` with maxSteps ${maxSteps}` : ''}`;
    const plain = await runScenario(scenario, { params, maxSteps });
    t.is((plain.error as Error | undefined)?.name, maxSteps ? 'LivelockError' : undefined, what);
    for (const [name, runSteps] of Object.entries(runners)) {
      const through = await runScenario(scenario, { params, maxSteps, runSteps });
      t.is(through.sim.log.toJSONL(), plain.sim.log.toJSONL(), `${what} through ${name}`);
      t.is((through.error as Error | undefined)?.message, (plain.error as Error | undefined)?.message, `${what} through ${name}`);
      t.is(through.sim.longestStretch, plain.sim.longestStretch, `${what} through ${name}`);
    }
  }
});

test('after quick awaits, a long await of slow steps goes under the Ctrl-C watchdog within a few steps, not thousands', (t) => {
  // Quick awaits bring the moving average of await times below the threshold: awaits start directly.
  for (let i = 0; i < 100; i++) runInterruptibly(() => true);
  const asked: number[] = [];
  let steps = 0;
  runInterruptibly((maxSteps) => {
    asked.push(maxSteps);
    // Steps of half a millisecond each (local training takes milliseconds); the await ends after 50.
    for (let n = 0; n < maxSteps && steps < 50; n++, steps++) {
      const until = performance.now() + 0.5;
      while (performance.now() < until);
    }
    return steps === 50;
  });
  const direct = asked.slice(0, asked.indexOf(Infinity)).reduce((a, b) => a + b, 0);
  t.true(asked.includes(Infinity), `the rest of the await ran under the watchdog (asked: ${asked.join(', ')})`);
  t.true(direct <= 3, `${direct} steps ran directly, where Ctrl-C would have killed the run without a word`);
});

/** A copy of `log` whose header's scenario record is changed by `edit`. */
function withHeader(log: string, to: string, edit: (scenario: Record<string, unknown>) => void): string {
  const [header, ...rest] = readFileSync(log, 'utf8').split('\n');
  const parsed = JSON.parse(header);
  edit(parsed.scenario);
  writeFileSync(to, [JSON.stringify(parsed), ...rest].join('\n'));
  return to;
}

/** The header's scenario record of a log. */
const headerScenario = (log: string) => JSON.parse(readFileSync(log, 'utf8').split('\n')[0]).scenario as Record<string, unknown>;

test('an edited log header cannot make replay import a file outside the project: absolute, .., through a symbolic link', async (t) => {
  const dir = tempDir(t);
  const marker = join(dir, 'imported');
  // A module that, if imported, leaves the marker behind; the header gets its own sha256, so only where it lies stops it.
  const evil = join(dir, 'evil.ts');
  writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'imported');\nexport default async function () {}\n`);
  const evilSha = sha256(readFileSync(evil));
  const scratch = join(dir, 'project');
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'package.json'), '{"name":"scratch","type":"module"}');
  symlinkSync(evil, join(scratch, 'linked.ts'));
  const pointAtEvil = (path: string) => (scenario: Record<string, unknown>) => Object.assign(scenario, { path, sha256: evilSha });

  // Through the command line: refused (exit 2), nothing imported, nothing run.
  const edited = withHeader(t.context.log, join(dir, 'edited.jsonl'), pointAtEvil(evil));
  const replay = await fedsim('replay', edited, '-q');
  t.is(replay.code, 2);
  t.is(replay.stdout, '', 'nothing ran');
  t.is(
    replay.stderr,
    `error: ${edited}: the log header names the scenario file '${evil}', an absolute path (a file outside any project when it ran); replay imports (runs) only scenario files inside the project. ` +
      'A header naming another place was edited, or the log was made elsewhere: copy the scenario into the project, or name the directory that holds it with --project <dir>.\n',
  );
  t.false(existsSync(marker), 'the file was not imported');

  // The same check, for every way a recorded path can leave the project.
  const outside = (path: string, options: { cwd?: string; project?: string } = {}, why = /./) => {
    const error = t.throws(() => resolveRecordedScenario({ ...headerScenario(edited), path, sha256: evilSha }, edited, { cwd: ROOT, ...options }), { instanceOf: RecordedScenarioError });
    t.is(error?.problem, 'outside', path);
    t.regex(error!.message, why, path);
  };
  outside('linked.ts', { cwd: scratch }, /which resolves \(through a symbolic link\) to \S+evil\.ts, outside the project/);
  for (const path of [relative(ROOT, evil), `scenarios/../${relative(ROOT, evil)}`, `scenarios\\..\\..\\${relative(join(ROOT, '..'), evil).replaceAll('/', '\\')}`, '..', `./../${relative(join(ROOT, '..'), evil)}`]) {
    outside(path, {}, /which leaves the project \(\.\.\)/);
  }
  // An absolute path is taken only inside the project named with --project.
  outside(evil, { project: scratch }, /which is not inside --project /);
  // Naming the hostile file's own directory as the project still needs the sha256 the header records.
  const changed = t.throws(() => resolveRecordedScenario({ ...headerScenario(edited), path: evil, sha256: headerScenario(t.context.log).sha256 }, edited, { cwd: ROOT, project: dir }), {
    instanceOf: RecordedScenarioError,
  });
  t.is(changed?.problem, 'changed');
  t.false(existsSync(marker));
});

test('a scenario file changed since the run is refused before it is imported, the reason printed once: a module and an experiment file', async (t) => {
  const project = tempDir(t);
  writeFileSync(join(project, 'package.json'), '{"name":"scratch","type":"module"}');
  const marker = join(project, 'imports');
  writeFileSync(join(project, 'bare.ts'), `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(marker)}, 'x');\nexport default async function (sim) { await sim.settle(); return { answer: 42 }; }\n`);
  const run = await fedsimWith({ cwd: project }, 'run', 'bare.ts', '--out', 'out', '-q');
  t.is(run.code, 0, run.stderr);
  t.is(readFileSync(marker, 'utf8'), 'x', 'the run imported the module once');
  const log = join(project, 'out', 'run.jsonl');

  writeFileSync(join(project, 'bare.ts'), `${readFileSync(join(project, 'bare.ts'), 'utf8')}// an edit\n`);
  const changed = await fedsimWith({ cwd: project }, 'replay', log, '-q');
  t.is(changed.code, 1);
  t.is(changed.stdout, '', 'nothing ran');
  const reason = `the scenario file changed since the log was recorded: expected sha256 ${headerScenario(log).sha256}, found ${sha256(readFileSync(join(project, 'bare.ts')))} (bare.ts)`;
  t.is(changed.stderr, `replay refused: ${reason}; replay needs the file as it was (check it out from the commit that made the run, e.g. git log -- <file>).\n`);
  t.is(readFileSync(marker, 'utf8'), 'x', 'the replay did not import it');

  // An experiment file: one changed value is enough.
  copyFileSync(join(ROOT, TINY), join(project, 'experiment.yaml'));
  const experiment = await loadScenario(join(project, 'experiment.yaml'));
  const recorded = { path: 'experiment.yaml', sha256: experiment.sha256 };
  t.is(resolveRecordedScenario(recorded, log, { cwd: project }).path, join(project, 'experiment.yaml'));
  writeFileSync(join(project, 'experiment.yaml'), readFileSync(join(project, 'experiment.yaml'), 'utf8').replace('lr: 0.1', 'lr: 0.2'));
  const error = t.throws(() => resolveRecordedScenario(recorded, log, { cwd: project }), { instanceOf: RecordedScenarioError });
  t.is(error?.problem, 'changed');
});

test('a replay that stops (here: a smaller step budget than the run had) prints its reason once, with how far it matched', async (t) => {
  const replay = await fedsim('replay', t.context.log, '--max-steps', '5', '-q');
  t.is(replay.code, 1);
  const all = replay.stdout + replay.stderr;
  t.is(all.split('did not finish within 5 steps').length - 1, 1, all);
  t.regex(replay.stderr, /^the replay stopped after \d+ matching events: LivelockError: .* fedsim run\|explore\|replay --max-steps N/);
});

test('from outside the project, replay says to name it with --project, and the hint a run prints there includes it', async (t) => {
  // Started inside the project with --out outside it: the hint names the project, or it would fail from elsewhere.
  t.true(t.context.runStdout.includes(`replay it:  npx fedsim replay ${t.context.log} --project ${ROOT.replace(/\/$/, '')}\n`), t.context.runStdout);
  const cwd = tempDir(t);
  const ran = await fedsimWith({ cwd }, 'run', join(ROOT, 'scenarios/ping-pong.ts'), '--seed', '2', '--out', 'out', '-q');
  t.is(ran.code, 0, ran.stderr);
  const hint = /^replay it: {2}(.*)$/m.exec(ran.stdout)?.[1];
  const root = ROOT.replace(/\/$/, '');
  t.is(hint, `node ${root}/bin/fedsim.js replay out/run.jsonl --project ${root}`);

  const noProject = t.throws(() => resolveRecordedScenario(headerScenario(join(cwd, 'out/run.jsonl')), join(cwd, 'out/run.jsonl'), { cwd }), { instanceOf: RecordedScenarioError });
  t.regex(noProject!.message, /: no project found \(no package\.json above the working directory or the log\), .* name that directory with --project <dir>\.$/);
  // The hint, as printed, works where it was printed.
  const [, , ...args] = hint!.split(' ');
  const pasted = await fedsimWith({ cwd }, ...args, '-q');
  t.is(pasted.code, 0, pasted.stderr);
  t.regex(pasted.stdout, /replay OK: \d+ events match out\/run\.jsonl/);

  // From another project: the log's and the working directory's project are not the scenario's.
  const another = join(cwd, 'another');
  mkdirSync(another);
  writeFileSync(join(another, 'package.json'), '{"name":"another"}');
  const scenario = join(ROOT, 'scenarios/ping-pong.ts');
  t.is(replayProjectFor(scenario, join(another, 'run.jsonl')), root);
  t.is(replayProjectFor(scenario, join(cwd, 'out', 'run.jsonl')), root, 'a log in no project');
  t.is(replayProjectFor(scenario, join(ROOT, 'runs', 'run.jsonl')), undefined, 'a log kept in the project');
  // The shared run's hint, pasted in a directory of another project: it works there.
  const fromElsewhere = await fedsimWith({ cwd: another }, ...t.context.runStdout.match(/^replay it: {2}npx fedsim (.*)$/m)![1].split(' '), '-q');
  t.is(fromElsewhere.code, 0, fromElsewhere.stderr);
  const notFound = t.throws(() => resolveRecordedScenario(headerScenario(t.context.log), t.context.log, { cwd: another }), { instanceOf: RecordedScenarioError });
  t.regex(notFound!.message, /is not found \(looked in .*\)\. Run the replay from the project that made the run .* --project <dir>\./);
  t.is(resolveRecordedScenario(headerScenario(t.context.log), t.context.log, { cwd: another, project: root }).path, scenario);
});

test('the summary lists every kind of fault in the plan, and warns of scripted faults aimed at messages the run never sent', async (t) => {
  const dir = tempDir(t);
  const plan = {
    links: [{ from: 'me', to: '*', drop: 0.01 }],
    script: [
      { msg: 'alice:0', delay: 3 },
      { msg: 'me:999', drop: true },
      { msg: 'dave:77', reorder: true },
      { msg: 'carol:500', duplicateAfter: 2 },
    ],
    crashes: [{ actor: 'bob', at: 50, restartAfter: 10 }],
    partitions: [{ groups: [['alice'], ['bob']], from: 1, until: 4 }],
  };
  const ran = await fedsim('run', 'scenarios/ping-pong.ts', '--faults', JSON.stringify(plan), '--out', dir, '-q');
  const row = /│ fault plan +│ (.*?) +│/.exec(ran.stdout)?.[1];
  t.is(
    row,
    '--faults (inline): 1 link rule (me→*: drop 0.01); 4 scripted faults (alice:0: delay 3 ms; me:999: drop; dave:77: reorder; +1 more); ' +
      '1 crash (bob at 50 ms, restarts after 10 ms); 1 partition (alice | bob from 1 to 4 ms)',
  );
  t.true(
    ran.stderr.includes(
      'warning: 3 scripted faults were aimed at messages this run never sent, so they did nothing: me:999, dave:77, carol:500 ' +
        "(message ids are sender:n, as in the log's sent events; results.json lists them as unmatchedScriptedFaults)\n",
    ),
    ran.stderr,
  );
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).unmatchedScriptedFaults, ['me:999', 'dave:77', 'carol:500']);

  // Scripted faults that met their messages are not reported, whatever their kind.
  const events = readFileSync(join(dir, 'run.jsonl'), 'utf8').trim().split('\n').slice(1).map((line) => JSON.parse(line));
  const sent = events.filter((e) => e.ev === 'sent').map((e) => e.msg as string);
  t.deepEqual(unmatchedScriptedFaults({ script: sent.slice(0, 4).map((msg) => ({ msg, drop: true })) }, events), []);
  t.deepEqual(unmatchedScriptedFaults({ script: [{ msg: sent[0], delay: 1 }, { msg: 'me:999', reorder: true }] }, events), ['me:999']);
  t.deepEqual(unmatchedScriptedFaults({ drop: 0.5 }, events), []);
});

test("explore names the fault plan the seeds run under: the file's own, not 'no faults'", async (t) => {
  const dir = tempDir(t);
  const own = await fedsim('explore', TINY, '--seeds', '1..2', '--out', dir, '-q');
  t.is(own.code, 0, own.stderr);
  t.true(own.stdout.startsWith(`fedsim explore fedavg-tiny (${TINY}), 2 seeds 1..2, faults: the scenario's own: delay 0.3 (exponential, mean 2 ms)\n`), own.stdout);
  t.notRegex(own.stdout, /no fault/);
  const summary = JSON.parse(readFileSync(join(dir, 'explore.json'), 'utf8'));
  t.is(summary.faultsSource, 'scenario');
  t.deepEqual(summary.faults.delay, { rate: 0.3, dist: { kind: 'exponential', mean: 2 } });
});

test('Ctrl-C stops explore with exit 130 and the summary so far (explore.json: complete false, interrupted), the seed under way not counted', async (t) => {
  const dir = tempDir(t);
  const long = join(dir, 'long.yaml');
  writeFileSync(long, readFileSync(TINY, 'utf8').replace(/^rounds:.*$/m, 'rounds: 10000'));
  const out = join(dir, 'explore');
  // An earlier exploration's summary in the same directory: replaced as soon as this one starts.
  mkdirSync(out);
  writeFileSync(join(out, 'explore.json'), '{"an earlier": "exploration"}\n');
  const running = startFedsim({}, 'explore', long, '--seeds', '1..3', '--out', out, '-q');
  let stdout = '';
  running.child.stdout!.on('data', (chunk) => (stdout += chunk));
  let exited = false;
  void running.ended.then(() => (exited = true));
  // The banner is printed once the file is loaded; the first seed's run (a whole federated run: one long await) follows.
  while (!exited && !stdout.includes('fedsim explore')) await sleep(20);
  await sleep(1500);
  running.child.kill('SIGINT');
  const ended = await running.ended;
  t.is(ended.code, 130, ended.stderr);
  t.is(ended.stderr, `explore interrupted (Ctrl-C) after 0 of 3 seeds (none failed); summary: ${join(out, 'explore.json')}\n`);
  const summary = JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8'));
  t.like(summary, { runs: 0, complete: false, interrupted: 'Ctrl-C', failures: [] });
  t.deepEqual(readdirSync(out), ['explore.json'], 'no temporary file left');
});
