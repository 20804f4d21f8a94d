/**
 * One writer per run directory: `fedsim resume` (and `fedsim run --out`) hold an exclusive
 * lock on it. A second one is refused (exit 2) naming the process, and touches nothing; a lock
 * left by a killed process is taken over with a note.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINTS_DIR, checkpointFileName } from '../src/fl/checkpoint/checkpoint-file.js';
import { RUN_LOCK_FILE } from '../src/cli/run-lock.js';
import { fedsimWith } from './helpers/fedsim-cli.js';
import { smallMlpExperimentFile } from './helpers/tiny-experiment.js';

const TINY = smallMlpExperimentFile({ name: 'tiny-lock', seed: 4, rounds: 3 });

// A project of its own (package.json), where resume finds the scenario file as replay does.
const root = mkdtempSync(join(tmpdir(), 'fedsim-run-lock-'));
const full = join(root, 'full');
test.before(async (t) => {
  writeFileSync(join(root, 'package.json'), '{}\n');
  writeFileSync(join(root, 'tiny.yaml'), TINY);
  const r = await fedsimWith({ cwd: root }, 'run', 'tiny.yaml', '--out', full, '--checkpoint-every', '1', '-q');
  if (r.code !== 0) t.log(r.stdout, r.stderr);
  t.is(r.code, 0);
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** What a kill right after round 1's checkpoint leaves: that checkpoint and the log up to it, as run.jsonl.partial. */
function killedRun(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, CHECKPOINTS_DIR), { recursive: true });
  copyFileSync(join(full, CHECKPOINTS_DIR, checkpointFileName(1)), join(dir, CHECKPOINTS_DIR, checkpointFileName(1)));
  const checkpoint = JSON.parse(readFileSync(join(dir, CHECKPOINTS_DIR, checkpointFileName(1)), 'utf8'));
  writeFileSync(join(dir, 'run.jsonl.partial'), readFileSync(join(full, 'run.jsonl')).subarray(0, checkpoint.log.bytes));
  return dir;
}

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[join(entry.parentPath, entry.name)] = readFileSync(join(entry.parentPath, entry.name)).toString('base64');
  }
  return files;
}

const debris = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((name) => name.endsWith('.partial') || name.endsWith('.resume') || name.startsWith(RUN_LOCK_FILE));

test('a run directory locked by a live process: resume and run --out into it are refused, nothing touched', async (t) => {
  const dir = killedRun('held');
  // This test's own process is alive for sure: it stands for a resume in progress.
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: process.pid, activity: 'resumed' }) + '\n');
  const before = snapshot(dir);
  const resumed = await fedsimWith({ cwd: root }, 'resume', dir, '-q');
  t.is(resumed.code, 2, resumed.stdout + resumed.stderr);
  t.regex(resumed.stderr, new RegExp(`held is being resumed by process ${process.pid}; wait for it to finish, or stop it \\(kill ${process.pid}\\)`));
  const run = await fedsimWith({ cwd: root }, 'run', 'tiny.yaml', '--out', dir, '-q');
  t.is(run.code, 2, run.stdout + run.stderr);
  t.regex(run.stderr, /is being resumed by process/);
  t.deepEqual(snapshot(dir), before, 'the stopped run is as it was');
});

test('two resumes of one run at once: one finishes it, the other is refused or finds it complete; no crash, no debris', async (t) => {
  const dir = killedRun('twice');
  const [a, b] = await Promise.all([fedsimWith({ cwd: root }, 'resume', dir, '-q'), fedsimWith({ cwd: root }, 'resume', dir, '-q')]);
  const all = a.stderr + b.stderr + a.stdout + b.stdout;
  t.notRegex(all, /ENOENT|Error:.*at /, 'no crash');
  t.true([a.code, b.code].includes(0), all);
  for (const other of [a, b].filter((r) => r.code !== 0)) t.is(other.code, 2, all);
  t.deepEqual(debris(dir), [], 'no .partial, .resume or lock file left');
  t.is(readFileSync(join(dir, 'run.jsonl'), 'utf8'), readFileSync(join(full, 'run.jsonl'), 'utf8'), 'the finished log is the uninterrupted run\'s');
});

test('a lock left by a process that is gone is taken over with a note, and released', async (t) => {
  const dir = killedRun('stale');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: dead, activity: 'resumed' }) + '\n');
  const r = await fedsimWith({ cwd: root }, 'resume', dir, '-q');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stderr, new RegExp(`taking over the lock of process ${dead}, which is no longer running`));
  t.deepEqual(debris(dir), []);
  t.true(existsSync(join(dir, 'run.jsonl')));
});

test('fedsim run --out leaves no lock behind', async (t) => {
  t.false(existsSync(join(full, RUN_LOCK_FILE)));
});
