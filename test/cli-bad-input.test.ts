/**
 * Bad input refused before the run, as a user meets it on the command line: exit
 * code 2 and, for each problem, the file, line, field, what was expected and what was
 * found — for experiment files, fault plans, hostile YAML, oversized files and
 * damaged or edited logs given to `fedsim replay`.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const STACK = /^\s+at .+[:(]|tfjs-backend-wasm\.js|node:internal/m;

test('settings that contradict each other or exceed a limit are refused before the run, each with file:line:col, field, expected and found', async (t) => {
  const { code, stdout, stderr } = await fedsim('run', 'test/fixtures/fedavg-contradictions.yaml', '-q');
  t.is(code, 2, stderr);
  t.is(stdout, '', 'nothing ran');
  const f = 'test/fixtures/fedavg-contradictions.yaml';
  t.true(stderr.startsWith(`error: ${f}: this 'fedavg' experiment cannot run as written:\n`), stderr);
  for (const line of [
    `${f}:5:9: at rounds: expected at most 10000 (limit rounds: rounds of a run; raise it with \`limits: { rounds: N }\` in the file or --limit rounds=N), found 20000 (a number)`,
    `${f}:6:13: at minClients: expected at most 4 (the clients of this run, data.devices), found 9 (a number)`,
    `${f}:11:36: at secagg.reconstructionThreshold: expected settings SecAgg+ can run with 4 clients per round (fraction × clients, at least minClients), found reconstructionThreshold 7 exceeds the 4 shares each client makes`,
    `${f}:4:34: at model.inputs: expected 6 inputs (data.features: each sample of the synthetic data has 6 features), found a model of 5 inputs`,
    `${f}:12:23: at slowdown.client-7: expected a client of this run as the key`,
  ]) {
    t.true(stderr.includes(`  - ${line}`), line);
  }
  t.notRegex(stderr, STACK);
});

test('a fault plan naming actors the run does not have is refused before the run: in the file, and given with --faults', async (t) => {
  const [inFile, flag] = await Promise.all([
    fedsim('run', 'test/fixtures/fedavg-unknown-actors.yaml', '-q'),
    fedsim('run', 'test/fixtures/fedavg-tiny.yaml', '--faults', 'test/fixtures/faults-unknown-actor.json', '-q'),
  ]);
  t.is(inFile.code, 2);
  const f = 'test/fixtures/fedavg-unknown-actors.yaml';
  t.regex(inFile.stderr, new RegExp(`^error: ${f}: the fault plan names actors this run does not have:`));
  t.true(inFile.stderr.includes(`  - ${f}:10:23: at faults.crashes[0].actor: expected one of this run's actors (server, client-0, client-1, client-2), found "servr" (a string)`));
  t.true(inFile.stderr.includes(`  - ${f}:11:39: at faults.partitions[0].groups[1][0]: expected one of this run's actors (me, server, client-0, client-1, client-2), found "clinet-1" (a string)`));
  t.true(inFile.stderr.includes(`  - ${f}:12:28: at faults.links[0].to: expected a pattern matching at least one of this run's actors`));

  t.is(flag.code, 2);
  t.is(
    flag.stderr,
    "error: --faults test/fixtures/faults-unknown-actor.json names actors that 'fedavg-tiny' does not have:\n" +
      "  - at crashes[0].actor: expected one of this run's actors (server, client-0, client-1, client-2), found 'client-9'\n",
  );
});

test('a YAML alias bomb and an oversized file are refused before they are expanded or read; --limit raises the size limit', async (t) => {
  const dir = tempDir(t);
  const bomb = join(dir, 'bomb.yaml');
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  writeFileSync(bomb, `kind: fedavg\n${levels.join('\n')}\n`);
  const big = join(dir, 'big.yaml');
  const tiny = readFileSync('test/fixtures/fedavg-tiny.yaml', 'utf8');
  writeFileSync(big, `${tiny}${`# ${'x'.repeat(98)}\n`.repeat(11_000)}`);

  const [bombRun, bigRun, raised] = await Promise.all([
    fedsim('run', bomb, '-q'),
    fedsim('run', big, '-q'),
    fedsim('run', big, '--limit', 'fileBytes=2000000', '--out', join(dir, 'out'), '-q'),
  ]);
  t.is(bombRun.code, 2);
  t.regex(bombRun.stderr, /^error: .*bomb\.yaml: its YAML aliases \(\*name\) expand to more than 100 copies \(limit yamlAliases\), the shape of an "alias bomb" that would exhaust memory\. Write the values out, or if the file is trusted, raise it with --limit yamlAliases=N\.\n$/);
  t.is(bigRun.code, 2);
  t.regex(bigRun.stderr, /^error: .*big\.yaml is 1,1\d\d,\d\d\d bytes; scenario and experiment files are limited to 1,048,576 bytes \(limit fileBytes\)\. If the file is meant to be this large, raise it with --limit fileBytes=N\.\n$/);
  t.is(raised.code, 0, raised.stderr);
  // The raised limit is recorded, so the run replays (its file loads again) as it ran.
  const header = JSON.parse(readFileSync(join(dir, 'out', 'run.jsonl'), 'utf8').split('\n')[0]);
  t.deepEqual(header.scenario.limits, { fileBytes: 2_000_000 });
});
