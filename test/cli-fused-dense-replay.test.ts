/**
 * A run names the dense kernels it trained with in its log header, and `fedsim replay` re-executes
 * with the same ones: a run recorded with the fused kernels, one recorded with tfjs ops
 * (FEDSIM_FUSED_DENSE=0, or a log from before the kernels), each replays without divergence.
 */
import test, { type ExecutionContext } from 'ava';
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

/** How one of two runs is recorded: the environment it runs in, the backend its header must name, and the environment it is replayed in (the opposite setting). */
interface Recording {
  name: string;
  env: Record<string, string>;
  header: RegExp;
  replayEnv: Record<string, string>;
}

type Ctx = ExecutionContext;

/**
 * Records `experiment` twice, once per setting; checks each header, that the two kernel sets give
 * other logs (they agree to rounding, not bit for bit), and that each log replays under the
 * other setting: replay follows the header, not the process's own setting.
 */
async function recordAndReplay(t: Ctx, experiment: string, recordings: [Recording, Recording]): Promise<void> {
  const dir = tempDir(t);
  const file = join(dir, 'fused-replay.yaml');
  writeFileSync(file, experiment);
  const runs = await Promise.all(recordings.map((r) => fedsimWith({ env: r.env }, 'run', file, '--out', join(dir, r.name), '-q')));
  runs.forEach((run) => t.is(run.code, 0, run.stdout + run.stderr));
  const logs = recordings.map((r) => join(dir, r.name, 'run.jsonl'));
  recordings.forEach((r, i) => t.regex(header(logs[i]).backend, r.header));
  const events = (log: string) => readFileSync(log, 'utf8').split('\n').slice(1).join('\n');
  t.not(events(logs[0]), events(logs[1]));
  const replays = await Promise.all(recordings.map((r, i) => fedsimWith({ env: r.replayEnv }, 'replay', logs[i], '--project', dir, '-q')));
  for (const replay of replays) {
    t.is(replay.code, 0, replay.stdout + replay.stderr);
    t.regex(replay.stdout, /replay OK/);
  }
}

test('runs recorded with and without the fused kernels each replay bit for bit, and the header tells them apart', async (t) => {
  await recordAndReplay(t, EXPERIMENT, [
    { name: 'fused', env: { FEDSIM_FUSED_DENSE: '1' }, header: /^wasm \S+ fused-dense-v1 fused-cnn-v1$/, replayEnv: { FEDSIM_FUSED_DENSE: '0' } },
    { name: 'plain', env: { FEDSIM_FUSED_DENSE: '0' }, header: /^wasm \S+$/, replayEnv: { FEDSIM_FUSED_DENSE: '1' } },
  ]);
});

test('a cnn run recorded before the fused cnn (header `fused-dense-v1` alone) and one recorded with it each replay bit for bit', async (t) => {
  const cnn = EXPERIMENT.replace('model: { kind: mlp, layers: [60, 16, 10] }', 'model: { kind: cnn, inputShape: [6, 10, 1], filters: [3, 4], kernelSize: 3, hidden: 8, classes: 10 }');
  await recordAndReplay(t, cnn, [
    { name: 'fused', env: { FEDSIM_FUSED_DENSE: '1' }, header: /^wasm \S+ fused-dense-v1 fused-cnn-v1$/, replayEnv: { FEDSIM_FUSED_CNN: '0' } },
    { name: 'old', env: { FEDSIM_FUSED_DENSE: '1', FEDSIM_FUSED_CNN: '0' }, header: /^wasm \S+ fused-dense-v1$/, replayEnv: { FEDSIM_FUSED_CNN: '1' } },
  ]);
});
