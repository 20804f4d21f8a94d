import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fedsim } from './helpers/fedsim-cli.js';

const test = anyTest as TestFn<{ dir: string; seed3: string; seed4: string; stale: string }>;

test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-replay-'));
  const runs = await Promise.all([
    fedsim('run', 'scenarios/ping-pong.ts', '--seed', '3', '--out', join(dir, 'a'), '-q'),
    fedsim('run', 'scenarios/ping-pong.ts', '--seed', '4', '--out', join(dir, 'b'), '-q'),
    fedsim('run', 'scenarios/stale-update-bug.ts', '--seed', '1', '--faults', 'scenarios/faults/stale-update.json', '--out', join(dir, 'c'), '-q'),
  ]);
  t.deepEqual(runs.map((r) => r.code), [0, 0, 1]);
  t.context = { dir, seed3: join(dir, 'a', 'run.jsonl'), seed4: join(dir, 'b', 'run.jsonl'), stale: join(dir, 'c', 'run.jsonl') };
});

test.after.always((t) => {
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test('replay re-executes a recorded run and reports how many events matched', async (t) => {
  const { code, stdout } = await fedsim('replay', t.context.seed3, '-q');
  t.is(code, 0, stdout);
  const events = readFileSync(t.context.seed3, 'utf8').trim().split('\n').length - 1;
  t.true(stdout.includes(`replay OK: ${events} events match`), stdout);
});

test('replay of a run with faults and failing checks still matches (it reproduces the failure)', async (t) => {
  const { code, stdout } = await fedsim('replay', t.context.stale, '-q');
  t.is(code, 0, stdout);
  t.regex(stdout, /replay OK/);
});

test('replay of a tampered log names the first divergent seq with the expected and actual events', async (t) => {
  const lines = readFileSync(t.context.seed3, 'utf8').trim().split('\n');
  let index = Math.floor(lines.length / 2);
  while (!lines[index].includes('"digest"')) index++;
  const seq = JSON.parse(lines[index]).seq;
  lines[index] = lines[index].replace(/"digest":"[0-9a-f]+"/, '"digest":"deadbeefdeadbeef"');
  const tampered = join(t.context.dir, 'tampered.jsonl');
  writeFileSync(tampered, lines.join('\n') + '\n');

  const { code, stdout } = await fedsim('replay', tampered, '-q');
  t.is(code, 1);
  t.true(stdout.includes(`replay DIVERGED at seq ${seq}`), stdout);
  t.regex(stdout, /expected \(log\): .*deadbeefdeadbeef/);
  t.regex(stdout, /actual \(run\): {3}.*"digest":"(?!deadbeef)[0-9a-f]+"/);
});

test('replay --until stops at an event and prints every actor\'s state and pending messages', async (t) => {
  const { code, stdout } = await fedsim('replay', t.context.stale, '--until', '60', '-q');
  t.is(code, 0, stdout);
  t.regex(stdout, /matches the log up to seq 6\d/);
  t.regex(stdout, /stopped after the step that produced seq 60/);
  for (const actor of ['me', 'server', 'client-1', 'client-4']) t.true(stdout.includes(`── ${actor}`), actor);
  t.regex(stdout, /state: +"(idle|collecting)"/);
  t.regex(stdout, /round +\d/, 'the context summary');
  t.false(/^\s+io\s/m.test(stdout), 'io is not part of the context summary');
  t.regex(stdout, /in flight to server/);
});

test('replay --inspect shows one actor; an unknown actor lists the real ones', async (t) => {
  const one = await fedsim('replay', t.context.seed3, '--until', '30', '--inspect', 'bob', '-q');
  t.is(one.code, 0, one.stdout);
  t.true(one.stdout.includes('── bob'));
  t.false(one.stdout.includes('── alice'));

  const unknown = await fedsim('replay', t.context.seed3, '--inspect', 'mallory', '-q');
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no such actor.*Actors: me, alice, bob, carol, dave/);

  const beyond = await fedsim('replay', t.context.seed3, '--until', '999999', '-q');
  t.is(beyond.code, 2);
  t.regex(beyond.stderr, /the log has events 0\.\.\d+/);
});

test('diff reports the first divergence of two seeds (exit 1) and identical logs (exit 0)', async (t) => {
  const differ = await fedsim('diff', t.context.seed3, t.context.seed4);
  t.is(differ.code, 1);
  t.regex(differ.stdout, /the runs diverge at seq \d+/);
  t.regex(differ.stdout, /seed: 3 {2}vs {2}4/);
  t.true(differ.stdout.includes(t.context.seed3) || differ.stdout.includes('run.jsonl'));

  const same = await fedsim('diff', t.context.seed3, t.context.seed3);
  t.is(same.code, 0);
  t.regex(same.stdout, /identical: \d+ events/);
});
