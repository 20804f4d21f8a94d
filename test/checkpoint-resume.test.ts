/**
 * `fedsim run --checkpoint-every N` and `fedsim resume RUN` on tiny experiments.
 *
 * For each algorithm and fault plan: run it uninterrupted with checkpoints, leave a run
 * directory as a kill right after round k's checkpoint leaves it (the checkpoints up to k,
 * the log cut a few bytes into the line after the checkpoint's last event, nothing else),
 * resume it, and compare with the uninterrupted run: run.jsonl byte for byte, the final
 * weights file byte for byte, results.json (paths aside), and the checkpoints written after
 * k. A run without checkpoints must log the same bytes (checkpointing changes nothing).
 * One run is killed for real (SIGKILL, in a child process). Bad input — no checkpoints, a
 * complete run, a changed scenario or code, damaged checkpoints, a log that no longer
 * holds the checkpoint's prefix, a prefix that re-executes differently — must be refused
 * with an error that says what to do, leaving the run directory as it was.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from '../src/runtime/canonical.js';
import { runCommand } from '../src/cli/commands/run.js';
import { resumeCommand } from '../src/cli/commands/resume.js';
import { CliError } from '../src/cli/cli-error.js';
import { checkpointEveryOption } from '../src/cli/run-options.js';
import { CHECKPOINTS_DIR, checkpointFileName, type Checkpoint } from '../src/fl/checkpoint/checkpoint-file.js';
import { codeSha256 } from '../src/fl/checkpoint/code-digest.js';
import { ROOT, fedsim } from './helpers/fedsim-cli.js';
import '../src/cli/experiment-kinds.js';
import { SMALL_MLP_EXPERIMENT } from './helpers/tiny-experiment.js';

const BASE = SMALL_MLP_EXPERIMENT;
const experiment = (name: string, extra: string) => `kind: fedavg\nname: ${name}\n${BASE}${extra}\n`;

/** Algorithms with per-client and server state, secure aggregation, DP's accountant, async, and every kind of fault. */
const CASES: Record<string, string> = {
  fedavg: experiment('fedavg', 'rounds: 4'),
  fedprox: experiment('fedprox', 'rounds: 4\nalgorithm: { name: fedprox, mu: 0.5 }'),
  scaffold: experiment('scaffold', 'rounds: 4\nalgorithm: { name: scaffold }'),
  fedadam: experiment('fedadam', 'rounds: 4\nalgorithm: { name: fedadam, fraction: 0.5 }'),
  fedavgm: experiment('fedavgm', 'rounds: 4\nalgorithm: { name: fedavgm, momentum: 0.9, fraction: 0.5 }'),
  secagg: experiment('secagg', 'rounds: 4\naggregation: secagg+\nsecagg: { numShares: 5, reconstructionThreshold: 3 }'),
  dp: experiment('dp', 'rounds: 4\nclientEvaluation: none\nfraction: 0.5\ndp: { mode: central, clip: 0.5, noiseMultiplier: 1.0, sampling: poisson, delta: 0.0001 }'),
  fedbuff: experiment('fedbuff', 'async: { algorithm: fedbuff, concurrency: 3, bufferSize: 2, serverLr: 1, maxServerUpdates: 4 }'),
  faults: experiment(
    'faults',
    'rounds: 4\nroundDeadlineMs: 50\nfaults: { drop: 0.1, duplicate: 0.1, reorder: 0.2, delay: { rate: 0.3, dist: { kind: uniform, min: 1, max: 5 } }, ' +
      'crashes: [{ actor: client-2, afterMessages: 3, restartAfter: 20 }, { actor: server, afterMessages: 30, restartAfter: 5, loseState: true }], ' +
      'partitions: [{ groups: [[server], [client-4]], from: 5, until: 12 }] }',
  ),
};
/** Each kind of fault alone too, so that a difference points at the kind whose state a resume lost. */
const FAULT_KINDS: Record<string, string> = {
  drop: '{ drop: 0.15 }',
  duplicate: '{ duplicate: 0.2 }',
  reorder: '{ reorder: 0.3 }',
  delay: '{ delay: { rate: 0.5, dist: { kind: exponential, mean: 3 } } }',
  'client-crash': '{ crashes: [{ actor: client-3, at: 6, restartAfter: 30 }] }',
  'server-crash': '{ crashes: [{ actor: server, afterMessages: 25, restartAfter: 5, loseState: true, loseStorage: false }] }',
  partition: '{ partitions: [{ groups: [[server, client-0, client-1], [client-2, client-3, client-4, client-5]], from: 3, until: 15 }] }',
  scripted: '{ script: [{ msg: "client-2:1", drop: true }, { msg: "server:3", delay: 7 }, { msg: "client-0:1", duplicateAfter: 2 }] }',
  links: '{ links: [{ from: "client-*", to: server, drop: 0.2, delay: { rate: 0.5, dist: { kind: uniform, min: 1, max: 9 } } }] }',
};
for (const [kind, plan] of Object.entries(FAULT_KINDS)) CASES[`faults-${kind}`] = experiment(`faults-${kind}`, `rounds: 4\nroundDeadlineMs: 50\nfaults: ${plan}`);

/** The cases also run without checkpoints, to compare: sync, secure, async, and under faults. */
const UNPERTURBED = new Set(['fedavg', 'secagg', 'fedbuff', 'faults']);

// The scenario files live in a project of their own (a package.json), as resume finds them the way replay does.
const root = mkdtempSync(join(tmpdir(), 'fedsim-resume-'));
writeFileSync(join(root, 'package.json'), '{}\n');
for (const [name, text] of Object.entries(CASES)) writeFileSync(join(root, `${name}.yaml`), text);
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** Runs a command in-process with its stdout and stderr collected (not shown). */
async function quietly(run: () => Promise<number>): Promise<{ code: number; out: string; err: string; error?: unknown }> {
  const [write, writeErr] = [process.stdout.write, process.stderr.write];
  let out = '';
  let err = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await run(), out, err };
  } catch (error) {
    return { code: -1, out, err, error };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

const run = (name: string, out: string, every?: number) =>
  quietly(() => runCommand(join(root, `${name}.yaml`), { out, quiet: true, ...(every === undefined ? {} : { checkpointEvery: every }) }));
const resume = (dir: string) => quietly(() => resumeCommand(dir, { quiet: true }));

const readCheckpoint = (dir: string, round: number) => JSON.parse(readFileSync(join(dir, CHECKPOINTS_DIR, checkpointFileName(round)), 'utf8')) as Checkpoint;

/**
 * What a kill right after round k's checkpoint leaves: the checkpoints up to k, and the log
 * as run.jsonl.partial, cut `torn` bytes past the checkpoint's last event (a line half written).
 */
function killedAfter(full: string, into: string, round: number, torn = 17): void {
  mkdirSync(join(into, CHECKPOINTS_DIR), { recursive: true });
  for (const file of readdirSync(join(full, CHECKPOINTS_DIR))) {
    if (Number(/\d+/.exec(file)![0]) <= round) copyFileSync(join(full, CHECKPOINTS_DIR, file), join(into, CHECKPOINTS_DIR, file));
  }
  const bytes = readCheckpoint(full, round).log.bytes;
  writeFileSync(join(into, 'run.jsonl.partial'), readFileSync(join(full, 'run.jsonl')).subarray(0, bytes + torn));
}

/** results.json without the fields that name the run's own directory. */
function resultsOf(dir: string): unknown {
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  delete results.log.path;
  delete results.finalModel;
  return results;
}

const bytesOf = (path: string) => sha256Hex(readFileSync(path));

for (const name of Object.keys(CASES)) {
  test.serial(`${name}: a run resumed from the checkpoint of round 2 is byte for byte the uninterrupted run`, async (t) => {
    const full = join(root, `${name}-full`);
    const plain = join(root, `${name}-plain`);
    const resumed = join(root, `${name}-resumed`);
    const first = await run(name, full, 2);
    t.is(first.code, 0, `${first.out}${first.err}${String((first.error as Error)?.stack ?? "")}`);
    t.true(existsSync(join(full, CHECKPOINTS_DIR, checkpointFileName(2))), 'a checkpoint after round 2');
    // Checkpointing is a plain observer: the log is the one of a run without it (one case of each kind of run is enough).
    if (UNPERTURBED.has(name)) {
      t.is((await run(name, plain)).code, 0);
      t.is(bytesOf(join(plain, 'run.jsonl')), bytesOf(join(full, 'run.jsonl')), 'checkpoints change nothing in the run');
    }

    killedAfter(full, resumed, 2);
    const again = await resume(resumed);
    t.is(again.code, 0, again.out + again.err);
    t.regex(again.out, /from the checkpoint of round 2/);
    t.is(readFileSync(join(resumed, 'run.jsonl'), 'utf8'), readFileSync(join(full, 'run.jsonl'), 'utf8'), 'the same event log, byte for byte');
    t.is(bytesOf(join(resumed, 'final-model.bin')), bytesOf(join(full, 'final-model.bin')), 'the same final weights');
    t.deepEqual(resultsOf(resumed), resultsOf(full), 'the same results (metrics, stats, log sha256)');
    t.deepEqual(readCheckpoint(resumed, 4), readCheckpoint(full, 4), 'the resumed run goes on checkpointing, as the uninterrupted one did');
    t.false(existsSync(join(resumed, 'run.jsonl.partial')) || existsSync(join(resumed, 'run.jsonl.partial.resume')), 'no partial files left');
  });
}

test.serial('two resumes of the same checkpoint give the same log (a resumed run is a run of the same seed)', async (t) => {
  const full = await fedavgFull();
  const [a, b] = [join(root, 'twice-a'), join(root, 'twice-b')];
  killedAfter(full, a, 2, 0);
  killedAfter(full, b, 2, 40);
  t.is((await resume(a)).code, 0);
  t.is((await resume(b)).code, 0);
  t.is(bytesOf(join(a, 'run.jsonl')), bytesOf(join(b, 'run.jsonl')));
  t.is(bytesOf(join(a, 'final-model.bin')), bytesOf(join(b, 'final-model.bin')));
});

test.serial('a run killed with SIGKILL in the middle resumes from its last complete checkpoint to the uninterrupted run', async (t) => {
  writeFileSync(join(root, 'long.yaml'), experiment('long', 'rounds: 40'));
  const killed = join(root, 'long-killed');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'fedsim.js'), 'run', join(root, 'long.yaml'), '--checkpoint-every', '1', '--out', killed, '-q'], { cwd: ROOT, stdio: 'ignore' });
  let finished = false;
  const exited = new Promise<void>((done) => child.on('exit', () => ((finished = true), done())));
  // Killed as soon as the third checkpoint is on disk: the run is then somewhere in round 3 or 4 of 40.
  while (!finished && !existsSync(join(killed, CHECKPOINTS_DIR, checkpointFileName(3)))) await new Promise((r) => setTimeout(r, 10));
  t.false(finished, 'the run was still going when its third checkpoint appeared');
  child.kill('SIGKILL');
  await exited;
  t.false(existsSync(join(killed, 'results.json')), 'the run was killed before it finished');
  const resumed = await resume(killed);
  t.is(resumed.code, 0, resumed.out + resumed.err);
  const full = join(root, 'long-full');
  t.is((await run('long', full)).code, 0);
  t.is(bytesOf(join(killed, 'run.jsonl')), bytesOf(join(full, 'run.jsonl')));
  t.is(bytesOf(join(killed, 'final-model.bin')), bytesOf(join(full, 'final-model.bin')));
  t.deepEqual(resultsOf(killed), resultsOf(full));
});

/** The uninterrupted FedAvg run with checkpoints (made by its own test, or here when that test is not run). */
async function fedavgFull(): Promise<string> {
  const full = join(root, 'fedavg-full');
  if (!existsSync(join(full, 'run.jsonl'))) {
    const made = await run('fedavg', full, 2);
    if (made.code !== 0) throw new Error(`the FedAvg run failed: ${made.out}${made.err}`);
  }
  return full;
}

/** A copy of a killed run's directory, for one bad-input case; returns it with a listing to compare afterwards. */
async function killedCopy(name: string): Promise<{ dir: string; snapshot: () => Record<string, string> }> {
  const dir = join(root, `bad-${name}`);
  killedAfter(await fedavgFull(), dir, 4);
  const files = (): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string, prefix: string) => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(d, entry.name), `${prefix}${entry.name}/`);
        else out[prefix + entry.name] = bytesOf(join(d, entry.name));
      }
    };
    walk(dir, '');
    return out;
  };
  return { dir, snapshot: files };
}

function reseal(dir: string, round: number, edit: (c: Omit<Checkpoint, 'digest'>) => void): void {
  const { digest: _digest, ...body } = readCheckpoint(dir, round);
  edit(body);
  writeFileSync(join(dir, CHECKPOINTS_DIR, checkpointFileName(round)), JSON.stringify({ ...body, digest: sha256Hex(canonicalJson(body)) }));
}

test.serial('a damaged or torn checkpoint is never used: the last intact one is, with a warning', async (t) => {
  const { dir } = await killedCopy('damaged');
  const latest = join(dir, CHECKPOINTS_DIR, checkpointFileName(4));
  // An edit that keeps the JSON valid: the digest no longer matches.
  writeFileSync(latest, readFileSync(latest, 'utf8').replace('"events": ', '"events": 1'));
  writeFileSync(join(dir, CHECKPOINTS_DIR, '.round-000006.json.tmp'), '{"kind": "fedsim-checkp'); // a write killed before its rename
  const resumed = await resume(dir);
  t.is(resumed.code, 0, resumed.out + resumed.err);
  t.regex(resumed.err, /skipped checkpoints\/round-000004\.json fails its integrity check/);
  t.regex(resumed.out, /from the checkpoint of round 2/);
  t.is(bytesOf(join(dir, 'run.jsonl')), bytesOf(join(root, 'fedavg-full', 'run.jsonl')));

  const { dir: cut } = await killedCopy('torn');
  for (const round of [2, 4]) {
    const file = join(cut, CHECKPOINTS_DIR, checkpointFileName(round));
    writeFileSync(file, readFileSync(file).subarray(0, 100)); // cut short
  }
  const refused = await resume(cut);
  t.true(refused.error instanceof CliError);
  t.regex(String((refused.error as Error).message), /no checkpoint can be used:\n {2}- checkpoints\/round-000004\.json is not valid JSON \(cut short or damaged\)/);
});

test.serial('refused with a clear error, nothing changed: no checkpoints, a complete run, a log that lost its prefix', async (t) => {
  const none = join(root, 'no-checkpoints');
  t.is((await run('fedavg', none)).code, 0);
  const noCheckpoints = await resume(none);
  t.true(noCheckpoints.error instanceof CliError);
  t.regex((noCheckpoints.error as Error).message, /has no checkpoints .*started without --checkpoint-every.*fedsim run FILE --checkpoint-every N --out/s);

  const complete = await resume(await fedavgFull());
  t.regex((complete.error as Error).message, /is a complete run .*nothing to resume/s);

  const { dir, snapshot } = await killedCopy('prefix');
  const partial = join(dir, 'run.jsonl.partial');
  const log = readFileSync(partial);
  log[200] = log[200] === 0x31 ? 0x32 : 0x31; // one byte of the first events
  writeFileSync(partial, log);
  const before = snapshot();
  const lost = await resume(dir);
  t.regex((lost.error as Error).message, /round-000004\.json: the log does not hold what it covers: its first \d+ bytes hash to/);
  t.deepEqual(snapshot(), before, 'nothing written');

  t.throws(() => checkpointEveryOption('0'), { message: /--checkpoint-every 0: give a positive whole number of rounds/ });
  const module = await quietly(() => runCommand(join(ROOT, 'scenarios', 'ping-pong.ts'), { out: join(root, 'ping'), checkpointEvery: 1, quiet: true }));
  t.regex((module.error as Error).message, /--checkpoint-every 1: .*ping-pong\.ts is a scenario module, not a round-based FL experiment/);
  t.false(existsSync(join(root, 'ping')), 'refused before anything was written');
});

test.serial('refused when the scenario file or the code changed, or when the re-executed prefix differs; the run stays resumable', async (t) => {
  const { dir, snapshot } = await killedCopy('changed');
  const before = snapshot();
  const file = join(root, 'fedavg.yaml');
  writeFileSync(file, CASES.fedavg.replace('lr: 0.1', 'lr: 0.2'));
  const changed = await resume(dir);
  writeFileSync(file, CASES.fedavg);
  t.is(changed.code, 1);
  t.regex(changed.err, /resume refused: the scenario file changed .*fedavg\.yaml.*restore the file, or start the run again/s);
  t.deepEqual(snapshot(), before);

  reseal(dir, 4, (c) => void (c.code.sha256 = '0'.repeat(64)));
  const code = await resume(dir);
  t.is(code.code, 1);
  t.regex(code.err, /resume refused: fedsim's code changed since the run was started .*go back to the code that started the run/s);

  // A prefix that re-executes differently (the log edited, its checkpoint resealed to match): stopped at the first difference.
  const { dir: forged, snapshot: forgedSnapshot } = await killedCopy('forged');
  const partial = join(forged, 'run.jsonl.partial');
  const edited = readFileSync(partial, 'utf8').replace('{"seq":3,"t":0,"ev":"spawned","actor":"client-3"}', '{"seq":3,"t":0,"ev":"spawned","actor":"client-9"}');
  t.not(edited, readFileSync(partial, 'utf8'));
  writeFileSync(partial, edited);
  for (const round of [2, 4]) reseal(forged, round, (c) => void (c.log.sha256 = sha256Hex(Buffer.from(edited).subarray(0, c.log.bytes))));
  const beforeForged = forgedSnapshot();
  const diverged = await resume(forged);
  t.is(diverged.code, 1, diverged.out + diverged.err);
  t.regex(diverged.err, /resume refused: the re-executed run differs from the stopped run's log at seq 3, before the checkpoint of round 4/);
  t.deepEqual(forgedSnapshot(), beforeForged, 'the stopped run is as it was (no .resume file left)');
});

test.serial('the CLI: a resume through the real bin, and its usage error', async (t) => {
  const { dir } = await killedCopy('bin');
  const resumed = await fedsim('resume', dir, '-q');
  t.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  t.is(bytesOf(join(dir, 'run.jsonl')), bytesOf(join(root, 'fedavg-full', 'run.jsonl')));
  const missing = await fedsim('resume', join(root, 'no-such-run'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /no such run directory; give the --out directory of a run started with fedsim run FILE --checkpoint-every N/);
});

test('the code digest changes with any file of the tree: its bytes, its name, a new file', (t) => {
  const tree = join(root, 'code');
  mkdirSync(join(tree, 'fl'), { recursive: true });
  writeFileSync(join(tree, 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(tree, 'fl', 'b.ts'), 'export const b = 2;\n');
  const first = codeSha256(tree);
  t.is(codeSha256(tree), first, 'a function of the files alone');
  writeFileSync(join(tree, 'fl', 'b.ts'), 'export const b = 3;\n');
  const edited = codeSha256(tree);
  t.not(edited, first);
  renameSync(join(tree, 'fl', 'b.ts'), join(tree, 'fl', 'c.ts'));
  const renamed = codeSha256(tree);
  t.not(renamed, edited);
  writeFileSync(join(tree, 'new.wasm'), '');
  t.not(codeSha256(tree), renamed);
});
