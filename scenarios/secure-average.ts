/**
 * Tutorial flow, seed 002 §1.3 ("Train two models and average weights"): each
 * iteration, a copy of the model is sent to bob and one to alice, each trained there
 * for 5 SGD steps (lr 0.1) on its own half of the toy data, then both are moved to
 * `secure_worker`, which averages their weights; only the average comes back, into the
 * local model. Bob's and alice's trained weights never reach `me`: they travel from
 * their worker straight to secure_worker (`move`), and the test checks the event log
 * for it. The weights start fixed, w = [[0.3], [-0.2]] and b = [0.1].
 *
 * Marks in the log: `average` (data: iteration) when the averaging phase starts, and
 * `averaged` when the average is in the local model.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, RemoteSGD, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';
import { nn, restoreModel } from 'fedsim/fl';
import { INITIAL_WEIGHTS, torchScalar } from './toy-federated.js';

export const ITERATIONS = 10;
export const WORKER_ITERS = 5;
export const LEARNING_RATE = 0.1;

export default async function secureAverage(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const secureWorker = sim.worker('secure_worker');

  const data = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const target = tf.tensor2d([[0], [0], [1], [1]]);
  const halves = [data.slice(0, 2), target.slice(0, 2), data.slice(2), target.slice(2)];
  const [bobsData, bobsTarget, alicesData, alicesTarget] = [halves[0].send(bob), halves[1].send(bob), halves[2].send(alice), halves[3].send(alice)];
  tf.dispose([data, target, ...halves]);

  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.from(INITIAL_WEIGHTS.kernel), Float32Array.from(INITIAL_WEIGHTS.bias)] });
  const history: Array<{ bob: number; alice: number; kernel: number[]; bias: number[] }> = [];
  const averageIds: string[][] = [];
  const trainedParamIds: string[] = [];

  for (let aIter = 0; aIter < ITERATIONS; aIter++) {
    const bobsModel = model.copy().send(bob);
    const alicesModel = model.copy().send(alice);
    trainedParamIds.push(...bobsModel.parameterIds('record'), ...alicesModel.parameterIds('record'));

    const bobsOpt = new RemoteSGD(bobsModel, { lr: LEARNING_RATE });
    const alicesOpt = new RemoteSGD(alicesModel, { lr: LEARNING_RATE });

    let bobsLoss = NaN;
    let alicesLoss = NaN;
    for (let wi = 0; wi < WORKER_ITERS; wi++) {
      // Train Bob's model
      bobsOpt.zeroGrad();
      const bobsLossPtr = sim.tidy(() => bobsModel.forward(bobsData).sub(bobsTarget).square().sum());
      bobsLossPtr.backward();
      bobsOpt.step();
      bobsLoss = await scalar(bobsLossPtr.get());

      // Train Alice's model
      alicesOpt.zeroGrad();
      const alicesLossPtr = sim.tidy(() => alicesModel.forward(alicesData).sub(alicesTarget).square().sum());
      alicesLossPtr.backward();
      alicesOpt.step();
      alicesLoss = await scalar(alicesLossPtr.get());
    }

    sim.mark('average', { iteration: aIter });
    await alicesModel.move(secureWorker);
    await bobsModel.move(secureWorker);
    // (alice.weight + bob.weight) / 2, computed on secure_worker; only the average comes back
    const [aliceKernel, aliceBias] = alicesModel.parameters();
    const [bobKernel, bobBias] = bobsModel.parameters();
    const kernelAvg = sim.tidy(() => aliceKernel.add(bobKernel).div(2));
    const biasAvg = sim.tidy(() => aliceBias.add(bobBias).div(2));
    averageIds.push([kernelAvg.idAtLocation, biasAvg.idAtLocation]);
    const [kernel, bias] = await Promise.all([kernelAvg.get(), biasAvg.get()]);
    model.setWeights([Float32Array.from(kernel.dataSync()), Float32Array.from(bias.dataSync())]);
    tf.dispose([kernel, bias]);
    sim.mark('averaged', { iteration: aIter });

    out.print(`Bob:${torchScalar(bobsLoss)} Alice:${torchScalar(alicesLoss)}`);
    const [k, b] = model.getWeights();
    history.push({ bob: bobsLoss, alice: alicesLoss, kernel: [...k], bias: [...b] });
    bobsOpt.dispose();
    alicesOpt.dispose();
    bobsModel.dispose();
    alicesModel.dispose();
  }

  const [kernel, bias] = model.getWeights();
  out.print(`final weight: [${[...kernel].map((v) => v.toFixed(4)).join(', ')}], bias: [${bias[0].toFixed(4)}]`);
  model.dispose();
  for (const p of [bobsData, bobsTarget, alicesData, alicesTarget]) p.dispose();
  await sim.settle();
  return { printed: out.lines, observed: { history, kernel: [...kernel], bias: [...bias], averageIds, trainedParamIds } };
}

async function scalar(answer: PromiseLike<tf.Tensor>): Promise<number> {
  const t = await answer;
  const value = t.dataSync()[0];
  t.dispose();
  return value;
}
