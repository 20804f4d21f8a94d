/**
 * `fedsim run FILE --train-nats URL`: an experiment file trained by a `fedsim train-worker`
 * process writes the in-process run's event log and results, byte for byte; flags that
 * contradict each other are usage errors naming them, before anything runs. The server
 * requires a user and password: both sides pass them with the live runs' --nats-* flags.
 */
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, startFedsim, tempDir } from './helpers/fedsim-cli.js';
import { startNatsServer, type RunningNatsServer } from './helpers/nats-server.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

let server: RunningNatsServer;

test.before(async () => {
  server = await startNatsServer({ user: 'trainer', password: 'pw-1' });
});

test.after.always(async () => {
  await server?.stop();
});

test('--workers 2 with --train-nats, and --train-subject without --train-nats, are usage errors; nothing is written', async (t) => {
  const dir = tempDir(t);
  const both = await fedsim('run', 'scenarios/default.yaml', '--workers', '2', '--train-nats', server.url, '--out', join(dir, 'a'));
  t.is(both.code, 2, both.stderr);
  t.regex(both.stderr, /--workers 2 and --train-nats: choose one place to train clients/);
  const alone = await fedsim('run', 'scenarios/default.yaml', '--train-subject', 'x.y', '--out', join(dir, 'b'));
  t.is(alone.code, 2, alone.stderr);
  t.regex(alone.stderr, /--train-subject: only means something with --train-nats/);
  const badSubject = await fedsim('run', 'scenarios/default.yaml', '--train-nats', server.url, '--train-subject', 'a b', '--out', join(dir, 'c'));
  t.is(badSubject.code, 2, badSubject.stderr);
  t.regex(badSubject.stderr, /subject "a b" is not a NATS subject prefix/);
  // The authentication flags go with --train-nats (or --transport nats), not alone.
  const authAlone = await fedsim('run', 'scenarios/default.yaml', '--nats-user', 'trainer', '--nats-password', 'pw-1', '--out', join(dir, 'd'));
  t.is(authAlone.code, 2, authAlone.stderr);
  t.regex(authAlone.stderr, /--nats-user, --nats-password apply to live runs only \(or, for the authentication and TLS flags, to --train-nats\)/);
  for (const out of ['a', 'b', 'c', 'd']) t.false(existsSync(join(dir, out)));
});

test('an experiment trained by a worker process over NATS writes the in-process run', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, yamlLines({ ...TINY_FEDAVG_FIELDS, data: '{ source: synthetic, alpha: 1, beta: 1, devices: 12, features: 6, classes: 3, maxSamplesPerDevice: 30 }', rounds: '2', fraction: '0.5' }));
  const auth = ['--nats-user', 'trainer', '--nats-password', 'pw-1'];
  const worker = startFedsim({}, 'train-worker', '--nats', server.url, ...auth, '--subject', 'fedsim.test.cli');
  try {
    const one = await fedsim('run', file, '--out', join(dir, 'one'), '--quiet');
    const remote = await fedsim('run', file, '--train-nats', server.url, ...auth, '--train-subject', 'fedsim.test.cli', '--out', join(dir, 'remote'), '--quiet');
    t.is(one.code, 0, one.stderr);
    t.is(remote.code, 0, remote.stderr);
    const results = (name: string) => JSON.parse(readFileSync(join(dir, name, 'results.json'), 'utf8'));
    t.is(results('remote').result.weightsSha256, results('one').result.weightsSha256);
    t.is(readFileSync(join(dir, 'remote', 'run.jsonl'), 'utf8'), readFileSync(join(dir, 'one', 'run.jsonl'), 'utf8'));
  } finally {
    worker.child.kill('SIGTERM');
  }
  const ended = await worker.ended;
  // The worker really trained the run's fits (2 rounds × 6 clients).
  t.regex(ended.stderr, /12 tasks trained/);
});

test('wrong credentials: fedsim train-worker and --train-nats fail at once, saying to check them', async (t) => {
  const dir = tempDir(t);
  const wrong = ['--nats-user', 'trainer', '--nats-password', 'not-it'];
  const worker = await fedsim('train-worker', '--nats', server.url, ...wrong, '--quiet');
  t.not(worker.code, 0);
  t.regex(worker.stderr, /authoriz|credentials|password/i);
  const run = await fedsim('run', 'scenarios/default.yaml', '--train-nats', server.url, ...wrong, '--out', join(dir, 'run'), '--quiet');
  t.not(run.code, 0);
  t.regex(run.stderr, /authoriz|credentials|password/i);
  t.false(existsSync(join(dir, 'run', 'results.json')));
});
