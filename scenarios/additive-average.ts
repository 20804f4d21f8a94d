/**
 * Secure average of models with additive sharing (PySyft 0.2's "Federated Learning with
 * Encrypted Gradient Aggregation"): n workers each train a copy of a linear model on
 * their own data, remotely; then each worker fix-precision-shares its weights among the
 * other workers, the owners add up their shares, and `me` reconstructs only the sum and
 * divides it by n (src/fl/secure/additive-average.ts).
 *
 * Params: workers (default 3), steps (local GD steps, default 5), lr (default 0.1),
 * precisionFractional (default 3, PySyft's), shareAmong ('others' | 'all').
 * Marks in the log: `train`, `average` (the averaging starts), `averaged`.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, rt, Transcript, type PointerTensor, type RandomStream, type ScenarioOutput, type Simulation } from 'fedsim';
import { additiveAverage } from 'fedsim/fl';

export const FEATURES = 3;
export const ROWS = 8;
export const INITIAL = { w: [[0.3], [-0.2], [0.1]], b: [0.05] };

type Tensorish = tf.Tensor | PointerTensor;

/** Worker i's data: y = x · [1, −2, 0.5] + 0.3 + noise, from the simulation's stream `data/<i>`. */
export function workerData(rng: RandomStream): { x: number[][]; y: number[][] } {
  const x = Array.from({ length: ROWS }, () => Array.from({ length: FEATURES }, () => rng.normal(0, 1)));
  const y = x.map((row) => [row[0] - 2 * row[1] + 0.5 * row[2] + 0.3 + rng.normal(0, 0.1)]);
  return { x, y };
}

/** One full-batch gradient step of mean squared error, on local tensors or pointers alike (rt runs where its arguments are). */
export function gdStep(x: Tensorish, y: Tensorish, w: Tensorish, b: Tensorish, lr: number): [Tensorish, Tensorish] {
  const err = rt.sub(rt.add(rt.matMul(x, w), b), y);
  const gw = rt.mul(rt.matMul(rt.transpose(x), err), (2 / ROWS) * lr);
  const gb = rt.mul(rt.sum(err, 0), (2 / ROWS) * lr);
  return [rt.sub(w, gw), rt.sub(b, gb)];
}

export const WORKER_NAMES = ['bob', 'alice', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
export const workerName = (i: number) => WORKER_NAMES[i] ?? `worker-${String(i).padStart(2, '0')}`;

export default async function additiveAverageScenario(sim: Simulation, ctx?: { params?: Readonly<Record<string, unknown>> }): Promise<ScenarioOutput> {
  hook(tf);
  const params = ctx?.params ?? {};
  const n = Number(params.workers ?? 3);
  const steps = Number(params.steps ?? 5);
  const lr = Number(params.lr ?? 0.1);
  const precisionFractional = Number(params.precisionFractional ?? 3);
  const shareAmong = (params.shareAmong as 'others' | 'all' | undefined) ?? 'others';
  const out = new Transcript();
  const workers = Array.from({ length: n }, (_, i) => sim.worker(workerName(i)));

  // Each worker gets its data and a copy of the initial model, and trains there.
  sim.mark('train');
  const models = workers.map((worker, i) => {
    const { x, y } = workerData(sim.rng(`data/${i}`));
    const local = [tf.tensor2d(x), tf.tensor2d(y), tf.tensor2d(INITIAL.w), tf.tensor1d(INITIAL.b)];
    const [xPtr, yPtr] = [local[0].send(worker), local[1].send(worker)];
    let [w, b]: PointerTensor[] = [local[2].send(worker), local[3].send(worker)];
    tf.dispose(local); // the workers got copies
    for (let s = 0; s < steps; s++) {
      const next = sim.tidy(() => gdStep(xPtr, yPtr, w, b, lr)) as [PointerTensor, PointerTensor];
      sim.disposeAll([w, b]); // after the step's commands, on the same channel
      [w, b] = next;
    }
    return { worker, params: [w, b], data: [xPtr, yPtr] };
  });

  sim.mark('average');
  const average = await additiveAverage(models, { precisionFractional, shareAmong });
  sim.mark('averaged');
  out.print('averaged weights:', average[0]);
  out.print('averaged bias:', average[1]);

  const observed = {
    workers: workers.map((w) => w.id),
    weights: average[0].arraySync() as number[][],
    bias: average[1].arraySync() as number[],
  };
  for (const m of models) sim.disposeAll([...m.params, ...m.data]);
  tf.dispose(average);
  await sim.settle();
  return { printed: out.lines, observed };
}
