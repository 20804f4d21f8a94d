/**
 * Commands that write files derived from a run (view, export, compare) refuse an output path
 * that is one of the run's own files — directly, through a symbolic link, a hard link or `..`
 * — with a usage error, before anything is written: the run stays byte-for-byte intact.
 */
import test from 'ava';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fedsim } from './helpers/fedsim-cli.js';
import { smallMlpExperimentFile } from './helpers/tiny-experiment.js';

const TINY = smallMlpExperimentFile({ name: 'tiny-guard', seed: 3, rounds: 2 });

const root = mkdtempSync(join(tmpdir(), 'fedsim-output-guard-'));
const run = join(root, 'run');

test.before(async (t) => {
  writeFileSync(join(root, 'tiny.yaml'), TINY);
  const r = await fedsim('run', join(root, 'tiny.yaml'), '--out', run, '--checkpoint-every', '1', '-q');
  if (r.code !== 0) t.log(r.stdout, r.stderr);
  t.is(r.code, 0);
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** Every file of a run directory and its bytes. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name)).toString('base64'));
  }
  return files;
}

/** A private copy of the run, so a test that fails (the file overwritten) does not break the others. */
function copyOfRun(name: string): string {
  const dir = join(root, name);
  cpSync(run, dir, { recursive: true });
  return dir;
}

async function refused(t: any, dir: string, args: string[], pattern: RegExp) {
  const before = snapshot(dir);
  const r = await fedsim(...args);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, pattern);
  t.regex(r.stderr, /one of this command's inputs/);
  t.deepEqual(snapshot(dir), before, 'the run directory is unchanged');
  t.false(readdirSync(dir, { recursive: true }).some((name) => String(name).endsWith('.partial')), 'no .partial debris');
}

test('view --out the run\'s own run.jsonl is refused; the log is untouched', async (t) => {
  const dir = copyOfRun('view-log');
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(dir, 'run.jsonl')], /--out .*run\.jsonl/);
});

test('view --out results.json, and a --diff run\'s log, are refused', async (t) => {
  const dir = copyOfRun('view-results');
  const other = copyOfRun('view-other');
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(dir, 'results.json')], /results\.json/);
  await refused(t, other, ['view', dir, '--no-states', '--diff', other, '--out', join(other, 'run.jsonl')], /run\.jsonl/);
});

test('view --out through a symbolic link, a hard link or .. to the log is refused', async (t) => {
  const dir = copyOfRun('view-links');
  const links = join(root, 'links');
  mkdirSync(links);
  symlinkSync(join(dir, 'run.jsonl'), join(links, 'sym.jsonl'));
  symlinkSync(dir, join(links, 'dir'));
  linkSync(join(dir, 'run.jsonl'), join(links, 'hard.jsonl'));
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(links, 'sym.jsonl')], /run\.jsonl/);
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(links, 'dir', 'run.jsonl')], /run\.jsonl/);
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(links, 'hard.jsonl')], /run\.jsonl/);
  await refused(t, dir, ['view', dir, '--no-states', '--out', join(dir, 'checkpoints', '..', 'run.jsonl')], /run\.jsonl/);
});

test('export refuses every format aimed at a run file, and writes none of the others', async (t) => {
  const dir = copyOfRun('export');
  await refused(t, dir, ['export', dir, '--csv', join(dir, 'results.json')], /--csv .*results\.json/);
  await refused(t, dir, ['export', dir, '--clients-csv', join(dir, 'run.jsonl')], /--clients-csv/);
  const checkpoint = readdirSync(join(dir, 'checkpoints'))[0];
  await refused(t, dir, ['export', dir, '--csv', join(dir, 'checkpoints', checkpoint)], /checkpoints/);
  // The csv is fine, the model is not: nothing is written at all.
  await refused(t, dir, ['export', dir, '--csv', '--clients-csv', join(dir, 'final-model.json')], /final-model\.json/);
  t.false(existsSync(join(dir, 'metrics.csv')));
});

test('compare --out a compared run\'s report.html is refused', async (t) => {
  const dir = copyOfRun('compare');
  await refused(t, dir, ['compare', dir, run, '--out', join(dir, 'report.html')], /report\.html/);
});

test('outputs beside the run are still written', async (t) => {
  const dir = copyOfRun('allowed');
  const r = await fedsim('export', dir, '--csv', join(dir, 'metrics-copy.csv'));
  t.is(r.code, 0, r.stderr);
  t.true(existsSync(join(dir, 'metrics-copy.csv')));
});
