/**
 * A stopped run with checkpoints points at `fedsim resume DIR`: in Ctrl-C's message, and in
 * export's "not a finished run" error. Without checkpoints neither mentions resume.
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { CHECKPOINTS_DIR, checkpointFileName } from '../src/fl/checkpoint/checkpoint-file.js';
import { fedsim, startFedsim, tempDir } from './helpers/fedsim-cli.js';

const TINY = 'test/fixtures/fedavg-tiny.yaml';

test('Ctrl-C of a run with --checkpoint-every prints the exact fedsim resume command for its directory', async (t) => {
  const out = join(tempDir(t), 'stopped');
  const running = startFedsim({}, 'run', TINY, '--param', 'rounds=10000', '--checkpoint-every', '1', '--out', out, '-q');
  let exited = false;
  void running.ended.then(() => (exited = true));
  // Stopped once a checkpoint is on disk under its name: then there is something to resume from. (A
  // checkpoint is first written as a hidden .tmp file and renamed; one caught before its rename is not one.)
  const checkpointed = () => existsSync(join(out, CHECKPOINTS_DIR)) && readdirSync(join(out, CHECKPOINTS_DIR)).some((name) => name === checkpointFileName(1));
  while (!exited && !checkpointed()) await sleep(20);
  running.child.kill('SIGINT');
  const ended = await running.ended;
  t.is(ended.code, 130, ended.stderr);
  t.regex(ended.stderr, /\ncontinue it from its last checkpoint with: (?:npx fedsim|node \S+) resume \S*stopped\n$/);
});

test('export of a stopped run names the resume command when it has checkpoints, and only then', async (t) => {
  const dir = tempDir(t);
  const withCheckpoints = join(dir, 'with');
  mkdirSync(join(withCheckpoints, CHECKPOINTS_DIR), { recursive: true });
  writeFileSync(join(withCheckpoints, CHECKPOINTS_DIR, checkpointFileName(2)), '{}');
  writeFileSync(join(withCheckpoints, 'run.jsonl.partial'), '');
  const hinted = await fedsim('export', withCheckpoints, '--csv');
  t.is(hinted.code, 2);
  t.regex(hinted.stderr, /has no results\.json, so it is not a finished run; it was stopped and has checkpoints: finish it with `(?:npx fedsim|node \S+) resume \S*with`, then export\./);

  const without = join(dir, 'without');
  mkdirSync(without);
  const plain = await fedsim('export', without, '--csv');
  t.is(plain.code, 2);
  t.notRegex(plain.stderr, /resume/);
});
