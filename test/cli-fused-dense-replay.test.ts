/**
 * A run names the dense kernels it trained with in its log header, and `fedsim replay` re-executes
 * with the same ones: a run recorded with the fused kernels, one recorded with tfjs ops
 * (FEDSIM_FUSED_DENSE=0, or a log from before the kernels), each replays without divergence.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsimWith, tempDir } from './helpers/fedsim-cli.js';

const EXPERIMENT = `kind: fedavg
name: fused-replay
seed: 4
data: { source: synthetic, alpha: 1, beta: 1, devices: 6 }
model: { kind: mlp, layers: [60, 16, 10] }
rounds: 3
fraction: 0.5
localEpochs: 2
batchSize: 10
lr: 0.05
clientEvaluation: none
`;

function header(log: string): { backend: string } {
  return JSON.parse(readFileSync(log, 'utf8').split('\n', 1)[0]);
}

test('runs recorded with and without the fused kernels each replay bit for bit, and the header tells them apart', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'fused-replay.yaml');
  writeFileSync(file, EXPERIMENT);
  const [fused, plain] = await Promise.all([
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '1' } }, 'run', file, '--out', join(dir, 'fused'), '-q'),
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '0' } }, 'run', file, '--out', join(dir, 'plain'), '-q'),
  ]);
  t.is(fused.code, 0, fused.stdout + fused.stderr);
  t.is(plain.code, 0, plain.stdout + plain.stderr);
  const fusedLog = join(dir, 'fused', 'run.jsonl');
  const plainLog = join(dir, 'plain', 'run.jsonl');
  t.regex(header(fusedLog).backend, /^wasm \S+ fused-dense-v1 fused-cnn-v1$/);
  t.regex(header(plainLog).backend, /^wasm \S+$/);
  // The two kernel sets agree to rounding, not bit for bit: the logs' weight digests differ.
  t.not(readFileSync(fusedLog, 'utf8').split('\n').slice(1).join('\n'), readFileSync(plainLog, 'utf8').split('\n').slice(1).join('\n'));

  // Whatever this process's own setting, replay follows the header.
  const [replayFused, replayPlain] = await Promise.all([
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '0' } }, 'replay', fusedLog, '--project', dir, '-q'),
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '1' } }, 'replay', plainLog, '--project', dir, '-q'),
  ]);
  t.is(replayFused.code, 0, replayFused.stdout + replayFused.stderr);
  t.regex(replayFused.stdout, /replay OK/);
  t.is(replayPlain.code, 0, replayPlain.stdout + replayPlain.stderr);
  t.regex(replayPlain.stdout, /replay OK/);
});

test('a cnn run recorded before the fused cnn (header `fused-dense-v1` alone) and one recorded with it each replay bit for bit', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'fused-cnn-replay.yaml');
  writeFileSync(file, EXPERIMENT.replace('model: { kind: mlp, layers: [60, 16, 10] }', 'model: { kind: cnn, inputShape: [6, 10, 1], filters: [3, 4], kernelSize: 3, hidden: 8, classes: 10 }'));
  const [fused, old] = await Promise.all([
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '1' } }, 'run', file, '--out', join(dir, 'fused'), '-q'),
    fedsimWith({ env: { FEDSIM_FUSED_DENSE: '1', FEDSIM_FUSED_CNN: '0' } }, 'run', file, '--out', join(dir, 'old'), '-q'),
  ]);
  t.is(fused.code, 0, fused.stdout + fused.stderr);
  t.is(old.code, 0, old.stdout + old.stderr);
  const fusedLog = join(dir, 'fused', 'run.jsonl');
  const oldLog = join(dir, 'old', 'run.jsonl');
  t.regex(header(fusedLog).backend, /^wasm \S+ fused-dense-v1 fused-cnn-v1$/);
  t.regex(header(oldLog).backend, /^wasm \S+ fused-dense-v1$/);
  t.not(readFileSync(fusedLog, 'utf8').split('\n').slice(1).join('\n'), readFileSync(oldLog, 'utf8').split('\n').slice(1).join('\n'));

  const [replayFused, replayOld] = await Promise.all([
    fedsimWith({ env: { FEDSIM_FUSED_CNN: '0' } }, 'replay', fusedLog, '--project', dir, '-q'),
    fedsimWith({ env: { FEDSIM_FUSED_CNN: '1' } }, 'replay', oldLog, '--project', dir, '-q'),
  ]);
  t.is(replayFused.code, 0, replayFused.stdout + replayFused.stderr);
  t.regex(replayFused.stdout, /replay OK/);
  t.is(replayOld.code, 0, replayOld.stdout + replayOld.stderr);
  t.regex(replayOld.stdout, /replay OK/);
});
