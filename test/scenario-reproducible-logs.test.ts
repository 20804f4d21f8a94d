/**
 * No input outside the seed reaches a log: the same scenario gives the same bytes —
 * header included — run twice in one process (the first run also being the one that
 * makes tfjs choose its backend), and started from two working directories under
 * different time zones, locales and environments.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../src/fl/experiments/register.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import { ROOT, fedsim, fedsimWith, tempDir } from './helpers/fedsim-cli.js';

const SCENARIOS = ['scenarios/ping-pong.ts', 'test/fixtures/fedavg-tiny.yaml', 'scenarios/pointers-basics.ts'];

// Serial and first: no backend has been chosen in this process when the first run starts.
test.serial('the same scenario run twice in one process gives byte-identical logs, header included', async (t) => {
  for (const file of SCENARIOS) {
    const scenario = await loadScenario(join(ROOT, file));
    const first = await runScenario(scenario);
    const second = await runScenario(scenario);
    t.is(first.error, undefined, file);
    t.not(first.sim.log.header.backend, 'none', `${file}: the header names a real backend`);
    t.is(second.sim.log.toJSONL(), first.sim.log.toJSONL(), file);
    t.is(first.sim.log.header.scenario?.path, file, `${file}: recorded relative to the project`);
  }
});

test('the same run started from two working directories, time zones, locales and environments logs the same bytes, and replays', async (t) => {
  const dir = tempDir(t);
  const [here, there] = await Promise.all([
    fedsim('run', 'test/fixtures/fedavg-tiny.yaml', '--faults', 'test/fixtures/faults-delays.json', '--out', join(dir, 'a'), '-q'),
    fedsimWith(
      { cwd: dir, env: { TZ: 'Pacific/Kiritimati', LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8', FEDSIM_UNRELATED: 'x' } },
      'run', join(ROOT, 'test/fixtures/fedavg-tiny.yaml'), '--faults', join(ROOT, 'test/fixtures/faults-delays.json'), '--out', join(dir, 'b'), '-q',
    ),
  ]);
  t.is(here.code, 0, here.stderr);
  t.is(there.code, 0, there.stderr);
  const logHere = readFileSync(join(dir, 'a', 'run.jsonl'), 'utf8');
  const logThere = readFileSync(join(dir, 'b', 'run.jsonl'), 'utf8');
  t.is(logThere, logHere);
  const header = JSON.parse(logHere.split('\n')[0]);
  t.is(header.scenario.path, 'test/fixtures/fedavg-tiny.yaml');
  t.is(header.scenario.faults, 'test/fixtures/faults-delays.json');
  // The log recorded elsewhere replays from the project: its scenario path resolves there.
  const replay = await fedsim('replay', join(dir, 'b', 'run.jsonl'), '-q');
  t.is(replay.code, 0, replay.stdout + replay.stderr);
  t.regex(replay.stdout, /replay OK: \d+ events match/);
});
