/**
 * Tutorial flow, seed 004 §2.1 ("A Toy Federated Learning Example"): the toy data set
 * split between bob and alice, a linear model sent to each worker in turn, trained
 * there one SGD step (lr 0.1) on the summed squared error, and brought back; the loss
 * of every step is fetched and printed, as the tutorial prints `loss.get()`.
 *
 * The tutorial's `nn.Linear(2, 1)` starts from random weights; here they are fixed,
 * w = [[0.3], [-0.2]] and b = [0.1], so the printed losses can be checked by hand.
 * PyTorch's `model.send(loc)` turns the model itself into a pointer and `model.get()`
 * turns it back; here send() returns the pointer and get() the trained model.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, RemoteSGD, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';
import { type Model, nn, restoreModel } from 'fedsim/fl';

/** The initial weights (kernel [2, 1] row-major, bias [1]). */
export const INITIAL_WEIGHTS = { kernel: [0.3, -0.2], bias: [0.1] };
export const ITERATIONS = 10;
export const LEARNING_RATE = 0.1;

/** PyTorch prints a scalar tensor with 4 decimals: `tensor(0.0200)`. */
export const torchScalar = (value: number) => `tensor(${value.toFixed(4)})`;

export default async function toyFederated(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');

  // A toy data set, and pointers to its halves on bob and alice
  const data = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const target = tf.tensor2d([[0], [0], [1], [1]]);
  const halves = [data.slice(0, 2), target.slice(0, 2), data.slice(2), target.slice(2)];
  const [dataBob, targetBob, dataAlice, targetAlice] = [halves[0].send(bob), halves[1].send(bob), halves[2].send(alice), halves[3].send(alice)];
  tf.dispose([data, target, ...halves]);
  const datasets = [[dataBob, targetBob], [dataAlice, targetAlice]] as const;

  let model: Model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.from(INITIAL_WEIGHTS.kernel), Float32Array.from(INITIAL_WEIGHTS.bias)] });
  const losses: number[] = [];
  for (let iter = 0; iter < ITERATIONS; iter++) {
    for (const [x, y] of datasets) {
      // send model to the data's worker, train there, get it back
      const remote = model.send(x.location);
      const opt = new RemoteSGD(remote, { lr: LEARNING_RATE });
      opt.zeroGrad();
      const loss = sim.tidy(() => remote.forward(x).sub(y).square().sum()); // ((pred - target)**2).sum(); tidy deletes pred etc. on the worker
      loss.backward();
      opt.step();
      model.dispose();
      model = await remote.get();
      opt.dispose();
      const value = await loss.get();
      losses.push(value.dataSync()[0]);
      out.print(torchScalar(losses[losses.length - 1]));
      value.dispose();
    }
  }

  const [kernel, bias] = model.getWeights();
  out.print(`final weight: [${[...kernel].map((v) => v.toFixed(4)).join(', ')}], bias: [${bias[0].toFixed(4)}]`);
  model.dispose();
  for (const p of [dataBob, targetBob, dataAlice, targetAlice]) p.dispose();
  await sim.settle();
  return { printed: out.lines, observed: { losses, kernel: [...kernel], bias: [...bias] } };
}
