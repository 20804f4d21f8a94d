/**
 * Models on workers (`model.send(bob)`): the forward program computes what the local
 * model computes, for every built-in kind and for tfjs-layers models; backward() of a
 * loss computed from `forward` fills the parameters' gradients (equal to tfjs's own);
 * parameters(), copy(), move(), get() and dispose() do what PySyft's do.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { createStream } from '../src/runtime/rng.js';
import { type ForwardProgram, ModelPointer, rt, sendModel as sendDescription } from '../src/index.js';
import { compileForward, createModel, fromLayers, type Model, type ModelSpec, nn, restoreModel } from '../src/fl/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

function randomInput(rows: number, cols: number, seed: string): tf.Tensor2D {
  const rng = createStream(1, seed);
  return tf.tensor2d(Array.from({ length: rows * cols }, () => rng.uniform(-1, 1)), [rows, cols]);
}

function layersModel(): Model {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 1, padding: 'valid', activation: 'tanh' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, activation: 'sigmoid' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  const model = fromLayers(m, createStream(1, 'layers/init'));
  m.dispose();
  return model;
}

const kinds: Array<[string, () => Model]> = [
  ['linear', () => createModel(nn.linear(3, 2), createStream(1, 'init'))],
  ['logistic', () => createModel(nn.logistic(4, 3), createStream(1, 'init'))],
  ['mlp', () => createModel(nn.mlp([4, 5, 6, 3]), createStream(1, 'init'))],
  ['cnn', () => createModel(nn.cnn({ inputShape: [8, 8, 1], filters: [2, 3], kernelSize: 3, hidden: 5, classes: 3 }), createStream(1, 'init'))],
  ['layers (conv, pool, flatten, dense)', layersModel],
];

for (const [kind, build] of kinds) {
  test.serial(`${kind}: remote forward and the gradients of a loss on it equal the local model's (1e-5)`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation();
    const bob = sim.worker('bob');
    const model = build();
    const x = randomInput(5, model.inputSize, `x/${kind}`);
    const remote = model.send(bob);
    const xPtr = x.send(bob);
    const out = remote.forward(xPtr);
    const loss = sim.tidy(() => out.square().sum());
    await loss.backward();
    const remoteOut = await out.get();
    const remoteGrads = await Promise.all(remote.parameters().map((p) => p.grad.get()));

    const localOut = model.forward(x);
    const { value: localLoss, grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(x))) as tf.Scalar, model.trainable as tf.Variable[]);
    const localGrads = model.trainable.map((v) => grads[v.name]);
    localLoss.dispose();

    t.deepEqual(remoteOut.shape, localOut.shape);
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    t.true(maxDiff(remoteOut, localOut) < 1e-5, `outputs differ by ${maxDiff(remoteOut, localOut)}`);
    remoteGrads.forEach((g, i) => t.true(maxDiff(g, localGrads[i]) < 1e-5, `gradient of ${model.paramNames[i]} differs by ${maxDiff(g, localGrads[i])}`));

    tf.dispose([x, remoteOut, localOut, ...remoteGrads, ...localGrads]);
    remote.dispose();
    for (const p of [xPtr, loss]) p.dispose();
    model.dispose();
    await sim.settle();
    t.is(sim.inspect(bob).objects.size, 0);
    t.is(sim.remoteErrors.length, 0);
    t.is(tf.memory().numTensors, before);
  });
}

function runProgramLocally(model: Model, ws: tf.Tensor[], x: tf.Tensor2D): tf.Tensor {
  const program = compileForward(model);
  const outs: tf.Tensor[] = [];
  const value = (arg: unknown): unknown => {
    if (Array.isArray(arg)) return arg.map(value);
    if (arg === null || typeof arg !== 'object') return arg;
    if ('input' in arg) return x;
    if ('param' in arg) return ws[(arg as { param: number }).param];
    return outs[(arg as { step: number }).step];
  };
  for (const step of program.steps) outs.push((tf as any)[step.op](...(step.args as unknown[]).map(value)));
  return outs[outs.length - 1];
}

test.serial('the compiled program is the model: running it locally with tfjs reproduces model.forward exactly', (t) => {
  for (const [kind, build] of kinds) {
    const model = build();
    const x = randomInput(3, model.inputSize, `exact/${kind}`);
    const [a, b] = tf.tidy(() => [model.forward(x), runProgramLocally(model, [...model.trainable], x)]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    t.true(diff < 1e-6, `${kind}: ${diff}`);
    tf.dispose([a, b, x]);
    model.dispose();
  }
});

test.serial('model.send(bob): the parameters are trainable variables in bob\'s store; parameters() point at them', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(0.3, -0.2), Float32Array.of(0.1)] });
  const remote = model.send(bob);
  t.true(remote instanceof ModelPointer);
  t.regex(String(remote), /^\[ModelPointer \| me:\d+ -> bob:\d+ linear\(2→1\)\]$/);
  await sim.settle();
  t.is(sim.inspect(bob).format(), `{${remote.parameterIds('t')[0]}: tensor([[0.3], [-0.2]]), ${remote.parameterIds('t')[1]}: tensor([0.1])}`);
  const [w, b] = remote.parameters();
  t.deepEqual(w.shape, [2, 1]);
  t.true(w.requiresGrad);
  t.is(remote.parameter('linear/bias').idAtLocation, b.idAtLocation);
  t.true([...sim.inspect(bob).objects.values()].every((v) => v instanceof tf.Variable), 'stored as tf.Variables');
  w.dispose(); // a view: disposing it deletes nothing
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 2);
  t.deepEqual(model.getWeights().map((a) => [...a].map((v) => Number(v.toFixed(6)))), [[0.3, -0.2], [0.1]], 'the local model is unchanged (send sends a copy)');
  remote.dispose();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 0, 'dispose() deletes the parameters');
  model.dispose();
});

test.serial('copy() on the worker: new parameters, same values, independent training; get(into) fills a local model', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(1, 1), Float32Array.of(0)] });
  const original = model.send(bob);
  const copy = original.copy();
  t.notDeepEqual(copy.parameterIds('t'), original.parameterIds('t'));
  const x = tf.tensor2d([[1, 2]]).send(bob);
  const loss = sim.tidy(() => copy.forward(x).sum());
  await loss.backward();
  // Only the copy's parameters got gradients: the original's grad() fails.
  const g = await copy.parameters()[0].grad.get();
  t.deepEqual([...g.dataSync()], [1, 2]);
  await t.throwsAsync(original.parameters()[0].grad.get(), { message: /has no gradient yet/ });
  const target = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(0, 0), Float32Array.of(0)] });
  const filled = await copy.get(target);
  t.is(filled, target);
  t.deepEqual(target.getWeights().map((a) => [...a]), [[1, 1], [0]]);
  const fetched = await original.get();
  t.is(fetched.spec.kind, 'linear', 'get() restores an FL model');
  t.is(original.state, 'fetched');
  for (const m of [model, target, fetched]) m.dispose();
  g.dispose();
  for (const p of [x, loss]) p.dispose();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 0);
});

test.serial('model.copy().send(bob) hands the local copy over: it is disposed once sent, the original stays', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(1, 2), Float32Array.of(3)] });
  const before = tf.memory().numTensors;
  const copy = model.copy();
  const remote = copy.send(bob);
  t.true(copy.disposed);
  t.false(model.disposed);
  t.throws(() => copy.send(bob), { message: /was disposed.*copy\(\) is used up by its first send\(\)/ });
  const back = await remote.get();
  t.deepEqual(back.getWeights().map((a) => [...a]), [[1, 2], [3]]);
  back.dispose();
  t.is(tf.memory().numTensors, before, 'no local copy left behind');
  model.dispose();
});

test.serial('sendModel in the pointer layer takes plain data; without restore, get() returns the weights', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const program: ForwardProgram = { name: 'scale', input: [-1, 2], params: [{ name: 'k', shape: [2] }], steps: [{ op: 'mul', args: [{ input: true as const }, { param: 0 }] }] };
  const remote = sendDescription({ program, weights: [Float32Array.of(2, 3)] }, bob);
  const y = await remote.forward(tf.tensor2d([[1, 1], [2, 2]]).send(bob)).get();
  t.deepEqual(y.arraySync(), [[2, 3], [4, 6]]);
  const state = await remote.get();
  t.deepEqual(state.paramNames, ['k']);
  t.deepEqual([...state.weights[0]], [2, 3]);
  y.dispose();
  await bob.clearObjects();
});

test.serial('gradients accumulate across backward() until zeroGrad; rt ops and forward mix on the worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = restoreModel({ spec: nn.linear(1, 1), weights: [Float32Array.of(2), Float32Array.of(0)] });
  const remote = model.send(bob);
  const x = tf.tensor2d([[3]]).send(bob);
  const l1 = sim.tidy(() => rt.mul(remote.forward(x), 1).sum());
  await l1.backward();
  await l1.backward();
  const [w] = remote.parameters();
  const twice = await w.grad.get();
  t.deepEqual([...twice.dataSync()], [6]);
  twice.dispose();
  model.dispose();
  await bob.clearObjects();
});

test.serial('private data: what a model computes from it, and the weights an optimiser trains on it, inherit the restriction', async (t) => {
  const { RemoteSGD, GetNotPermittedError } = await import('../src/index.js');
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(1, 1), Float32Array.of(0)] });
  const x = tf.tensor2d([[1, 2]]);
  const privateX = bob.load(x, { allowedUsers: ['bob'] });
  const remote = model.send(bob);
  const opt = new RemoteSGD(remote, { lr: 0.1 });
  const out = remote.forward(privateX);
  const loss = sim.tidy(() => out.sum());
  loss.backward();
  opt.step();
  await t.throwsAsync(out.get(), { instanceOf: GetNotPermittedError, message: /me may not get object \d+ from bob: it is private to \[bob\]/ });
  await t.throwsAsync(remote.get(), { instanceOf: GetNotPermittedError, message: /me may not get object \d+ from bob: it is private to \[bob\]/ });
  t.is(remote.state, 'live', 'a refused get() leaves the model where it is, and the pointer usable');
  const before = (await sim.settle(), sim.inspect(bob).objects.size);
  remote.dispose();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, before - 2, 'dispose() still deletes its parameters');
  x.dispose();
  model.dispose();
  opt.dispose();
  await bob.clearObjects();
});
