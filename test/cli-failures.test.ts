/**
 * Failures as a user meets them on the command line: exit code 1 with the reason on
 * stderr — a liveness report when the run cannot make progress, the client that
 * refused its data, why rounds were skipped — and never a stack trace unless --debug.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeIdx } from '../src/fl/data/idx.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

/** A stack frame ("    at f (file:1:2)") or the minified tfjs-wasm source an uncaught exception used to print. */
const STACK = /^\s+at .+[:(]|tfjs-backend-wasm\.js|node:internal/m;

test('a FedAvg run that cannot finish exits 1 with the reason and a liveness report, without a stack trace; --debug adds it', async (t) => {
  const out = tempDir(t);
  const [plain, debug] = await Promise.all([
    fedsim('run', 'test/fixtures/fedavg-server-crash.yaml', '--out', join(out, 'a'), '-q'),
    fedsim('run', 'test/fixtures/fedavg-server-crash.yaml', '--out', join(out, 'b'), '-q', '--debug'),
  ]);
  t.is(plain.code, 1, plain.stderr);
  t.regex(plain.stderr, /^the run failed: FederatedRunError: federated run 'run-1' cannot finish: \[server\] crashed and never restarted/m);
  t.regex(plain.stderr, /Liveness report at virtual time/);
  t.regex(plain.stderr, /server: CRASHED at [\d.]+ ms and no restart is scheduled; it was in state \{"running":/);
  t.regex(plain.stderr, /last messages lost .*\n(\s+client-\d:\d 'fl\/fit-result' client-\d→server at [\d.]+ ms: crashed\)?\n)+/);
  t.notRegex(plain.stderr, STACK);
  t.regex(plain.stdout, /✗ fedavg-server-crash FAILED/);
  t.is(JSON.parse(readFileSync(join(out, 'a', 'results.json'), 'utf8')).ok, false);

  t.is(debug.code, 1);
  t.regex(debug.stderr, /^\s+at .*run-federated\.ts:\d+/m, 'the stack, on request');
  // With --debug the bin keeps Node's source maps (bin/fedsim.js): the top frame is the .ts line and column where the error is made.
  const [, file, line, column] = /^\s+at .*?\(?(\/\S+\.ts):(\d+):(\d+)\)?$/m.exec(debug.stderr) ?? [];
  t.is(readFileSync(file, 'utf8').split('\n')[Number(line) - 1].slice(Number(column) - 1, Number(column) - 1 + 'new FederatedRunError'.length), 'new FederatedRunError', `${file}:${line}:${column}`);
});

test('explore of a failing FedAvg experiment exits 1 with each seed\'s reason, without a stack trace', async (t) => {
  const { code, stdout, stderr } = await fedsim('explore', 'test/fixtures/fedavg-server-crash.yaml', '--seeds', '1..2', '--shrink', '0', '--out', tempDir(t), '-q');
  t.is(code, 1, stderr);
  t.regex(stdout, /✗ seed 1: \(run\): FederatedRunError: federated run 'run-1' cannot finish: \[server\] crashed/);
  t.regex(stdout, /✗ 2 of 2 seeds failed/);
  t.notRegex(stdout + stderr, STACK);
  t.is(stderr, '');
});

test('a model that does not fit its data names the client and what it refused, and no round starts', async (t) => {
  // An MNIST-format directory of 4×4 images: a model for 28×28 inputs cannot train on it.
  const dir = tempDir(t);
  const images = Uint8Array.from({ length: 12 * 16 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: 12 }, (_, i) => i % 3);
  writeIdx(join(dir, 'train-images-idx3-ubyte'), images, [12, 4, 4]);
  writeIdx(join(dir, 'train-labels-idx1-ubyte'), labels, [12]);
  writeIdx(join(dir, 't10k-images-idx3-ubyte'), images.slice(0, 6 * 16), [6, 4, 4]);
  writeIdx(join(dir, 't10k-labels-idx1-ubyte'), labels.slice(0, 6), [6]);
  const experiment = join(dir, 'mismatch.yaml');
  writeFileSync(experiment, 'kind: fedavg\ndata: { source: mnist, dir: ., clients: 3 }\nmodel: { kind: mlp, layers: [784, 8, 10] }\nrounds: 2\nlocalEpochs: 1\nbatchSize: 5\nlr: 0.1\n');

  const { code, stderr } = await fedsim('run', experiment, '--out', join(dir, 'out'), '-q');
  t.is(code, 1, stderr);
  t.regex(stderr, /^the run failed: IncompatibleModelError: runFederated: client 'client-0': 64 feature values is not a whole number of samples of 784 features; check the model's input size\. The model \{"kind":"mlp","layers":\[784,8,10\]\} does not fit this client's data/m);
  t.notRegex(stderr, STACK);
  const log = readFileSync(join(dir, 'out', 'run.jsonl'), 'utf8');
  t.false(log.includes('"type":"fl/fit"'), 'no client was asked to train');
});

test('skipped rounds are shown with their reason in stdout, results.json and report.html', async (t) => {
  const out = tempDir(t);
  const { code, stdout } = await fedsim('run', 'test/fixtures/fedavg-skipped-round.yaml', '--out', out, '-q');
  t.is(code, 0, stdout);
  t.regex(stdout, /skipped rounds: 1 of 3 \(the global model was left unchanged\)\n\s+round 1: no client update arrived before the deadline\n/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.deepEqual(results.skippedRounds, [{ round: 1, reason: 'no client update arrived before the deadline' }]);
  t.is(results.result.perRound[0].skipped, 'no client update arrived before the deadline');
  // Who fell out of the skipped round, and why, by client (here: every update lost to the faults).
  t.true(results.result.perRound[0].failures.length > 0);
  t.like(results.result.perRound[0].failures[0], { kind: 'fault', reason: 'no update reached the server before the deadline' });
  // Each lost client is counted once, by why: the drops add up to `dropped` (no second count by error kind).
  const row = results.result.perRound[0];
  t.like(row.drops, { deadline: row.failures.length, fault: 0, refused: 0, bug: 0 });
  t.is(row.dropped, row.failures.length);
  t.false('failed' in row);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.regex(html, /<h2>Skipped rounds<\/h2><p>1 round left the global model unchanged:<\/p>/);
  t.regex(html, /<tr><td>1<\/td><td>no client update arrived before the deadline<\/td><\/tr>/);
});

test('an error that escapes every await (here, thrown from a real timer) is one line and exit 1, not a crash dump', async (t) => {
  const dir = tempDir(t);
  const scenario = join(dir, 'escapes.mts');
  writeFileSync(
    scenario,
    "export default async function () {\n  setTimeout(() => { throw new RangeError('thrown outside the simulation'); }, 0);\n  await new Promise((resolve) => setTimeout(resolve, 50));\n}\n",
  );
  const { code, stderr } = await fedsim('run', scenario, '--out', join(dir, 'out'), '-q');
  t.is(code, 1, stderr);
  t.regex(stderr, /^fedsim crashed: RangeError: thrown outside the simulation\n\(run again with --debug to see the stack trace\)\n$/m);
  t.notRegex(stderr, STACK);
});
