/**
 * Remote optimisers: SGD with momentum (plain and Nesterov, with weight decay) and
 * Adam, run on the worker, against PyTorch's formulas computed in float64 (to 1e-5);
 * and seed 002 §1.2's loop with `Optims` — one Adam per worker whose state survives
 * the model being sent afresh every step.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { Optims, RemoteAdam, RemoteSGD, type Simulation, type VirtualWorker } from '../src/index.js';
import { type Model, nn, restoreModel } from '../src/fl/index.js';
import { Adam, ALICE, BOB, type Linear, MomentumSgd } from './helpers/linear-reference.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const close = (actual: number, expected: number) => Math.abs(actual - expected) <= 1e-5;
const linear = (m: Linear): Model => restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.from(m.w), Float32Array.of(m.b)] });
const asLinear = (model: Model): Linear => {
  const [w, b] = model.getWeights();
  return { w: [w[0], w[1]], b: b[0] };
};

function sendHalf(worker: VirtualWorker, half: { x: number[][]; t: number[] }) {
  const x = tf.tensor2d(half.x);
  const y = tf.tensor2d(half.t.map((v) => [v]));
  const pointers = [x.send(worker), y.send(worker)] as const;
  tf.dispose([x, y]);
  return pointers;
}

async function lossValue(answer: PromiseLike<tf.Tensor>): Promise<number> {
  const t = await answer;
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** `steps` steps of `opt` on bob's half with one model kept on bob; returns the losses and the final weights. */
async function trainOnBob(sim: Simulation, start: Linear, steps: number, makeOpt: (m: ReturnType<Model['send']>) => RemoteSGD | RemoteAdam) {
  const bob = sim.worker('bob');
  const [x, y] = sendHalf(bob, BOB);
  const model = linear(start);
  const remote = model.send(bob);
  const opt = makeOpt(remote);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const loss = sim.tidy(() => remote.forward(x).sub(y).square().sum());
    loss.backward();
    opt.step();
    losses.push(await lossValue(loss.get()));
  }
  await sim.settle();
  const stateObjects = [...sim.inspect(bob).objects.keys()].filter((id) => id.startsWith(`${opt.id}.`));
  const trained = await remote.get();
  const final = asLinear(trained);
  opt.dispose();
  for (const m of [model, trained]) m.dispose();
  x.dispose();
  y.dispose();
  await sim.settle();
  return { losses, final, stateObjects, left: sim.inspect(bob).objects.size };
}

const start: Linear = { w: [0.3, -0.2], b: 0.3 };

const cases: Array<[string, (m: any) => RemoteSGD | RemoteAdam, () => { step: (m: Linear, x: number[][], t: number[]) => { loss: number; next: Linear } }, string[]]> = [
  ['SGD with momentum 0.9', (m) => new RemoteSGD(m, { lr: 0.1, momentum: 0.9 }), () => new MomentumSgd(0.1, 0.9), ['momentum']],
  ['SGD with Nesterov momentum and weight decay', (m) => new RemoteSGD(m, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }), () => new MomentumSgd(0.05, 0.8, true, 0.01), ['momentum']],
  ['Adam', (m) => new RemoteAdam(m, { lr: 0.1 }), () => new Adam(0.1), ['m', 'v']],
];

for (const [name, remoteOpt, referenceOpt, state] of cases) {
  test.serial(`${name}: 8 steps on the worker match PyTorch's formulas in float64 (1e-5); its state stays on the worker`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation();
    const { losses, final, stateObjects, left } = await trainOnBob(sim, start, 8, remoteOpt);
    t.is(left, 0, 'dispose() of the optimiser and get() of the model leave bob empty');
    const reference = referenceOpt();
    let m = start;
    losses.forEach((loss, i) => {
      const step = reference.step(m, BOB.x, BOB.t);
      t.true(close(loss, step.loss), `step ${i}: loss ${loss} vs ${step.loss}`);
      m = step.next;
    });
    t.true(close(final.w[0], m.w[0]) && close(final.w[1], m.w[1]) && close(final.b, m.b), `final ${JSON.stringify(final)} vs ${JSON.stringify(m)}`);
    t.deepEqual(stateObjects.map((id) => id.split('.').slice(1).join('.')).sort(), ['0', '1'].flatMap((slot) => state.map((s) => `${slot}.${s}`)).sort(), 'one state entry per slot and name');
    t.is(sim.remoteErrors.length, 0);
    t.is(tf.memory().numTensors, before);
  });
}

test.serial('plain SGD keeps no state; step() without gradients (after zeroGrad) changes nothing, as in PyTorch', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = linear(start);
  const remote = model.send(bob);
  const opt = new RemoteSGD(remote.parameters(), { lr: 0.1 });
  opt.zeroGrad().step();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 2, 'parameters only');
  const back = await remote.get();
  t.deepEqual(asLinear(back), asLinear(model));
  t.is(sim.remoteErrors.length, 0);
  opt.dispose();
  back.dispose();
  model.dispose();
});

/** Seed 002 §1.2's train_federated with Optims(['bob', 'alice'], Adam(lr=0.1)): the model is sent to each worker in turn. */
async function optimsLoop(sim: Simulation, iterations: number) {
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const datasets = [sendHalf(bob, BOB), sendHalf(alice, ALICE)];
  const optims = new Optims(['bob', 'alice'], (params) => new RemoteAdam(params, { lr: 0.1 }));
  let model = linear(start);
  const losses: number[] = [];
  for (let iter = 0; iter < iterations; iter++) {
    for (const [data, target] of datasets) {
      const remote = model.send(data.location);
      const opt = optims.getOptim(data.location.id, remote);
      opt.zeroGrad();
      const loss = sim.tidy(() => remote.forward(data).sub(target).square().sum());
      loss.backward();
      opt.step();
      model.dispose();
      model = await remote.get();
      losses.push(await lossValue(loss.get()));
    }
  }
  const final = asLinear(model);
  const count = optims.count();
  optims.dispose();
  model.dispose();
  for (const [x, y] of datasets) (x.dispose(), y.dispose());
  await sim.settle();
  return { losses, final, count, left: sim.inspect(bob).objects.size + sim.inspect(alice).objects.size };
}

test.serial("Optims: one Adam per worker, its state kept across re-sent models, matches per-worker Adam in float64 (1e-5)", async (t) => {
  const before = tf.memory().numTensors;
  const sim = simulation();
  const { losses, final, count, left } = await optimsLoop(sim, 10);
  t.is(count, 2);
  const adams = [new Adam(0.1), new Adam(0.1)];
  let m = start;
  const expected: number[] = [];
  for (let iter = 0; iter < 10; iter++) {
    [BOB, ALICE].forEach((half, w) => {
      const step = adams[w].step(m, half.x, half.t);
      expected.push(step.loss);
      m = step.next;
    });
  }
  losses.forEach((loss, i) => t.true(close(loss, expected[i]), `step ${i}: ${loss} vs ${expected[i]}`));
  t.true(close(final.w[0], m.w[0]) && close(final.w[1], m.w[1]) && close(final.b, m.b), `final ${JSON.stringify(final)} vs ${JSON.stringify(m)}`);
  t.is(left, 0, 'optims.dispose() deleted the optimisers\' state');
  t.is(sim.remoteErrors.length, 0);
  t.is(tf.memory().numTensors, before);
});

test.serial('Optims: getOptim(worker) without parameters returns the optimiser as last bound; with new parameters it is re-bound, not rebuilt', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = linear(start);
  const optims = new Optims([bob], (params) => new RemoteSGD(params, { lr: 0.1, momentum: 0.5 }));
  const remote = model.send(bob);
  const opt = optims.getOptim('bob', remote);
  t.is(optims.getOptim(bob), opt);
  t.is(optims.getOptim('bob'), opt);
  t.is(opt.parameters, remote);
  const again = model.send(bob);
  t.is(optims.getOptim('bob', again), opt, 're-bound, not rebuilt');
  t.is(opt.parameters, again);
  optims.dispose();
  remote.dispose();
  again.dispose();
  model.dispose();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 0);
});
