/**
 * Every error of remote models, optimisers and federated data: its type, and a message
 * that says what happened, where, and what to do. Local mistakes are caught before any
 * message is sent; worker-side failures arrive as RemoteErrors naming the cause.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { createStream } from '../src/runtime/rng.js';
import {
  ForwardShapeError,
  ModelLocationError,
  Optims,
  OptimsError,
  PointerStateError,
  RemoteAdam,
  RemoteError,
  RemoteSGD,
  sendModel as sendDescription,
  type ForwardProgram,
  type Simulation,
} from '../src/index.js';
import { BaseDataset, FederatedDataError, FederatedDataLoader, FlConfigError, fromLayers, nn, restoreModel } from '../src/fl/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const linear = (inputs = 2) => restoreModel({ spec: nn.linear(inputs, 1), weights: [new Float32Array(inputs).fill(0.5), Float32Array.of(0)] });

function world(): { sim: Simulation; bob: ReturnType<Simulation['worker']>; alice: ReturnType<Simulation['worker']> } {
  const sim = simulation();
  return { sim, bob: sim.worker('bob'), alice: sim.worker('alice') };
}

async function remoteFailure(t: any, answer: PromiseLike<unknown>, name: string, message: RegExp): Promise<RemoteError> {
  const error = await t.throwsAsync(answer, { instanceOf: RemoteError });
  t.is(error.remoteName, name);
  t.regex(error.message, message);
  return error;
}

// ── the model is not where the data (or the optimiser) is ─────────────────────

test.serial('ModelLocationError: data on another worker, local data, sending or moving a model to me', async (t) => {
  const { sim, bob, alice } = world();
  const model = linear();
  const remote = model.send(bob);
  const x = tf.tensor2d([[1, 2]]);
  t.throws(() => remote.forward(x.send(alice)), {
    instanceOf: ModelLocationError,
    message: /forward: linear\(2→1\) is on bob, but the data \[PointerTensor \| me:\d+ -> alice:\d+\] is on alice\. A model runs where its data is: send it there \(model\.send\(data\.location\)\)/,
  });
  t.throws(() => remote.forward(x as any), { instanceOf: ModelLocationError, message: /the data is a local tensor \(shape \[1,2\]\), but linear\(2→1\) is on bob\. Send the data there first/ });
  t.throws(() => model.send(sim.me), { instanceOf: ModelLocationError, message: /me is the local worker; send the model to a worker created with sim\.worker\(\)/ });
  t.throws(() => remote.move(sim.me), { instanceOf: ModelLocationError, message: /move: me is the local worker, which stores nothing; to bring the model here use await modelPtr\.get\(\)/ });
  x.dispose();
  model.dispose();
  await Promise.all([bob.clearObjects(), alice.clearObjects()]);
});

test.serial('ModelLocationError: an optimiser over parameters on two workers, or used after its model moved away', async (t) => {
  const { bob, alice } = world();
  const model = linear();
  const onBob = model.send(bob);
  const onAlice = model.send(alice);
  t.throws(() => new RemoteSGD([onBob.parameters()[0], onAlice.parameters()[1]], { lr: 0.1 }), {
    instanceOf: ModelLocationError,
    message: /new RemoteSGD: the parameters live on different workers \(bob and alice\); an optimiser runs on one worker/,
  });
  const opt = new RemoteSGD(onBob, { lr: 0.1 });
  t.throws(() => opt.bind(onAlice), { instanceOf: ModelLocationError, message: /bind: optimiser \d+ lives on bob, but these parameters are on alice; its state stays where it is/ });
  await onBob.move(alice);
  t.throws(() => opt.step(), { instanceOf: ModelLocationError, message: /opt\.step: optimiser \d+ lives on bob, but \[ModelPointer \| me:\d+ -> alice:\d+ linear\(2→1\)\] is on alice now\. An optimiser updates parameters where it lives/ });
  opt.dispose();
  model.dispose();
  await Promise.all([bob.clearObjects(), alice.clearObjects()]);
});

// ── shapes ────────────────────────────────────────────────────────────────────

test.serial('ForwardShapeError: caught here when the data\'s shape is known, reported by the worker when it is not', async (t) => {
  const { sim, bob } = world();
  const model = linear(2);
  const remote = model.send(bob);
  const x = tf.tensor2d([[1, 2, 3]]);
  const xPtr = x.send(bob);
  t.throws(() => remote.forward(xPtr), {
    instanceOf: ForwardShapeError,
    message: /forward: the input has shape \[1, 3\], but the model takes \[n, 2\] \(linear\(2→1\), data \[PointerTensor \| me:\d+ -> bob:\d+\]\)\. Reshape the data/,
  });
  // A computed tensor's shape is not known here: the worker checks it.
  const reshaped = xPtr.reshape([3, 1]);
  const out = remote.forward(reshaped);
  await remoteFailure(t, out.get(), 'ForwardShapeError', /bob failed: ForwardShapeError: forward of model \d+ \(linear\(2→1\)\) on bob: the input has shape \[3, 1\], but the model takes \[n, 2\] \(input object \d+\)\. Reshape the data on the worker/);
  await sim.settle();
  t.true(sim.remoteErrors.some((e) => e.remoteName === 'ForwardShapeError'), 'the failure is also reported as the one-way message\'s error');
  x.dispose();
  model.dispose();
  await bob.clearObjects();
});

test.serial('ForwardFailedError: an op of the program fails on the worker (a string tensor), naming the step', async (t) => {
  const { bob } = world();
  const model = linear(2);
  const remote = model.send(bob);
  const strings = tf.tensor2d([['a', 'b']], undefined, 'string');
  const out = remote.forward(strings.send(bob));
  await remoteFailure(t, out.get(), 'ForwardFailedError', /forward of model \d+ \(linear\(2→1\)\) failed on bob at step 0 `%0 = matMul\(x, linear\/kernel\)`: .*Check the input's shape and dtype/);
  strings.dispose();
  model.dispose();
  await bob.clearObjects();
});

// ── the model is gone from the worker ─────────────────────────────────────────

test.serial('ModelNotFoundError: the worker lost the model (clearObjects), or never had it', async (t) => {
  const { sim, bob } = world();
  const model = linear();
  const remote = model.send(bob);
  const x = tf.tensor2d([[1, 2]]);
  const xPtr = x.send(bob);
  await bob.clearObjects();
  const again = x.send(bob);
  await remoteFailure(t, remote.forward(again).get(), 'ModelNotFoundError', /bob no longer has model \d+ \(needed by forward\): its parameter \d+ is gone \(fetched with get\(\), moved, deleted or cleared\)\. Send the model again \(model\.send\(bob\)\)/);
  const error = await t.throwsAsync(sim.request('bob', 'modelForward', { id: 'nope', input: again.idAtLocation, resultId: 'r1' }), { instanceOf: RemoteError });
  t.is((error as RemoteError).remoteName, 'ModelNotFoundError');
  t.regex(error!.message, /bob has no model nope \(needed by forward\)\. It was never sent there, or get\(\), move\(\), dispose\(\) or clearObjects\(\) removed it; send it with model\.send\(bob\)\./);
  xPtr.dispose();
  x.dispose();
  model.dispose();
  await bob.clearObjects();
});

test.serial('PointerStateError: a model pointer used after get(), after dispose(), or during a move', async (t) => {
  const { bob, alice } = world();
  const model = linear();
  const remote = model.send(bob);
  const moving = remote.move(alice);
  t.throws(() => remote.parameters(), { instanceOf: PointerStateError, message: /parameters: \[ModelPointer \| me:\d+ -> bob:\d+ linear\(2→1\)\] can no longer be used: a move\(\) is in progress: await it first\./ });
  await moving;
  const back = await remote.get();
  t.throws(() => remote.copy(), { instanceOf: PointerStateError, message: /copy: .* can no longer be used: it was fetched with get\(\), which removes it from the worker; send the model again\./ });
  const other = model.send(bob);
  other.dispose();
  t.throws(() => other.forward(null as any), { instanceOf: PointerStateError, message: /forward: .* it was disposed, which deleted it on the worker\./ });
  const opt = new RemoteSGD(model.send(bob), { lr: 0.1 });
  opt.dispose();
  t.throws(() => opt.step(), { instanceOf: PointerStateError, message: /step: <RemoteSGD \d+ on bob lr=0\.1> was disposed; create a new optimiser\./ });
  back.dispose();
  model.dispose();
  await Promise.all([bob.clearObjects(), alice.clearObjects()]);
});

// ── malformed models and optimisers ───────────────────────────────────────────

test.serial('InvalidModelError: the worker refuses a model whose program or parameters are wrong, storing nothing', async (t) => {
  const { sim, bob } = world();
  const tensor = () => tf.tensor1d([1, 2]);
  const program = (op: string): ForwardProgram => ({ name: 'bad', input: [-1, 2], params: [{ name: 'k', shape: [2] }], steps: [{ op, args: [{ input: true }, { param: 0 }] }] });
  const e1 = await t.throwsAsync(sim.request('bob', 'model', { id: 'm1', program: program('eval'), params: [{ id: 'p1', tensor: tensor() }] }), { instanceOf: RemoteError });
  t.is((e1 as RemoteError).remoteName, 'InvalidModelError');
  t.regex(e1!.message, /bob refused model m1 \(model\): its forward program is invalid: step 0 uses 'eval', which is not a tfjs op of the allow-list \(TENSOR_OPS\)\. The model was not stored \(its id holds this refusal\)\./);
  const e2 = await t.throwsAsync(sim.request('bob', 'model', { id: 'm2', program: program('mul'), params: [{ id: 'p2', tensor: tf.tensor1d([1, 2, 3]) }] }), { instanceOf: RemoteError });
  t.regex(e2!.message, /bob refused model m2 \(model\): parameter k has shape \[3\], the program expects \[2\]\. The model was not stored \(its id holds this refusal\)\./);
  t.throws(() => sendDescription({ program: program('mul'), weights: [Float32Array.of(1)] }, bob), { instanceOf: RangeError, message: /model\.send: parameter k of bad has shape \[2\] \(2 values\), but its weight array has 1\./ });
  t.throws(() => sendDescription({ program: program('nope'), weights: [Float32Array.of(1, 2)] }, bob), { instanceOf: TypeError, message: /model\.send: the forward program of bad is invalid: step 0 uses 'nope'/ });
  await sim.settle();
  const objects = sim.inspect(bob).objects;
  t.deepEqual([...objects.keys()], ['p1', 'p2'], 'no tensor was stored: the parameter ids hold the refusals (test/one-way-refusals.test.ts)');
  t.true([...objects.values()].every((value) => (value as { kind?: unknown }).kind === 'error'));
  const forward = await t.throwsAsync(sim.request('bob', 'modelForward', { id: 'm1', input: 'p1', resultId: 'r1' }), { instanceOf: RemoteError });
  t.regex(forward!.message, /model m1 \(needed by forward\) was refused when it was sent to bob: bob refused model m1/, 'the model id answers with its refusal');
});

test.serial('layers models the worker cannot run are refused when sent, naming the layer', (t) => {
  const { bob } = world();
  const seq = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 }), tf.layers.batchNormalization()] });
  const model = fromLayers(seq, createStream(1, 'x'));
  t.throws(() => model.send(bob), { instanceOf: FlConfigError, message: /model\.send: layer batch_normalization_BatchNormalization\d+ \(BatchNormalization\) cannot run on a worker: this layer class is not supported\. Layers that can: Dense, Conv2D/ });
  const input = tf.input({ shape: [3] });
  const functional = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
  const fmodel = fromLayers(functional, createStream(1, 'y'));
  t.throws(() => fmodel.send(bob), { instanceOf: FlConfigError, message: /only Sequential tfjs-layers models can be sent to a worker; this one is a Model\. Rebuild it with tf\.sequential\(\)\./ });
  for (const m of [seq, functional]) m.dispose();
  for (const m of [model, fmodel]) m.dispose();
});

test.serial('optimiser options are checked before anything is sent (RangeError, with an example)', (t) => {
  const { bob } = world();
  const model = linear();
  const remote = model.send(bob);
  t.throws(() => new RemoteSGD(remote, { lr: -1 }), { instanceOf: RangeError, message: /new RemoteSGD: invalid options \(lr: .*\)\. For example: new RemoteSGD\(modelPtr, \{ lr: 0\.1, momentum: 0\.9 \}\)\./ });
  t.throws(() => new RemoteSGD(remote, { lr: 0.1, nesterov: true }), { instanceOf: RangeError, message: /new RemoteSGD: Nesterov momentum needs momentum > 0 and dampening 0 \(got momentum 0, dampening 0\), as in PyTorch\./ });
  t.throws(() => new RemoteAdam(remote, { betas: [0.9, 1] }), { instanceOf: RangeError, message: /new RemoteAdam: invalid options \(beta2: .*\)/ });
  t.throws(() => new RemoteSGD([], { lr: 0.1 }), { instanceOf: TypeError, message: /expected a model pointer \(model\.send\(bob\)\) or a non-empty array of pointers/ });
  t.throws(() => remote.parameter('weight'), { instanceOf: RangeError, message: /parameter: linear\(2→1\) has no parameter 'weight'; its parameters are linear\/kernel, linear\/bias\./ });
  model.dispose();
});

test.serial('OptimizerNotFoundError and OptimizerStepError: reported by the worker; a failed step changes nothing', async (t) => {
  const { sim, bob } = world();
  const e1 = await t.throwsAsync(sim.request('bob', 'optimizerStep', { id: 'o1', params: ['p'] }), { instanceOf: RemoteError });
  t.is((e1 as RemoteError).remoteName, 'OptimizerNotFoundError');
  t.regex(e1!.message, /bob has no optimiser o1 \(needed by step\)\. It was created on another worker, disposed, or the worker restarted without its state; create it with new RemoteSGD/);

  // A momentum optimiser re-bound to a model of another shape: its state does not fit.
  const small = linear(2);
  const big = linear(3);
  const x = tf.tensor2d([[1, 1]]).send(bob);
  const remote = small.send(bob);
  const opt = new RemoteSGD(remote, { lr: 0.1, momentum: 0.9 });
  const loss = sim.tidy(() => remote.forward(x).sum());
  loss.backward();
  opt.step();
  const other = big.send(bob);
  const x3 = tf.tensor2d([[1, 1, 1]]).send(bob);
  const loss3 = sim.tidy(() => other.forward(x3).sum());
  loss3.backward();
  opt.bind(other).step();
  await sim.settle();
  const failure = sim.remoteErrors.find((e) => e.remoteName === 'OptimizerStepError');
  t.truthy(failure);
  t.regex(failure!.message, /step of optimiser \d+ on bob failed at parameter slot 0: its state for this slot has shape \[2,1\], but parameter \d+ has shape \[3,1\]; bind the optimiser to a model of the same architecture\. Nothing was changed\./);
  const unchanged = await other.get();
  t.deepEqual(unchanged.getWeights().map((w) => [...w]), [[0.5, 0.5, 0.5], [0]], 'no slot was updated');

  // State removed by clearObjects(): the next step says so.
  await bob.clearObjects();
  const fresh = small.send(bob);
  const y = tf.tensor2d([[1, 1]]).send(bob);
  const l = sim.tidy(() => fresh.forward(y).sum());
  l.backward();
  opt.bind(fresh).step();
  await sim.settle();
  t.regex(sim.remoteErrors.at(-1)!.message, /step of optimiser \d+ on bob failed at parameter slot 0: its state \d+\.0\.momentum is gone \(clearObjects\(\) or a delete removed it\); create a new optimiser\./);
  for (const m of [small, big, unchanged]) m.dispose();
  opt.dispose();
  await bob.clearObjects();
});

test.serial('OptimsError: an optimiser for a worker Optims does not know, or before it was built', (t) => {
  const { alice } = world();
  const optims = new Optims(['bob'], (params) => new RemoteSGD(params, { lr: 0.1 }));
  t.throws(() => optims.getOptim('carol'), { instanceOf: OptimsError, message: "getOptim('carol'): Optims keeps one optimiser for each of [bob], and 'carol' is not one of them. List it when creating Optims: new Optims([…, 'carol'], factory)." });
  t.throws(() => optims.getOptim('bob'), { instanceOf: OptimsError, message: "getOptim('bob'): bob's optimiser does not exist yet; pass the parameters it updates the first time: optims.getOptim('bob', modelPtr)." });
  t.throws(() => new Optims(['bob', 'bob'], (p) => new RemoteSGD(p, { lr: 1 })), { instanceOf: OptimsError, message: /worker 'bob' is listed twice/ });
  const model = linear();
  t.throws(() => optims.getOptim('bob', model.send(alice)), { instanceOf: ModelLocationError, message: /getOptim\('bob'\): the parameters given are on alice, not on bob\. Send the model to bob first/ });
  model.dispose();
});

// ── federated data misuse ─────────────────────────────────────────────────────

test.serial('FederatedDataError: loader and data set misuse', async (t) => {
  const { bob, alice } = world();
  const x = tf.tensor2d([[1], [2], [3]]);
  const y3 = tf.tensor1d([1, 2, 3]);
  const y2 = tf.tensor1d([1, 2]);
  t.throws(() => new BaseDataset(x, y2), { instanceOf: FederatedDataError, message: 'BaseDataset: data has 3 rows but targets has 2; every sample needs exactly one target.' });
  const local = new BaseDataset(x, y3);
  t.throws(() => local.federate([]), { instanceOf: FederatedDataError, message: /federate: name the workers to spread the data over, e\.g\. dataset\.federate\(\[bob, alice\]\)\./ });
  const onBob = local.send(bob);
  t.throws(() => onBob.federate([alice]), { instanceOf: FederatedDataError, message: 'federate: this data set is already on bob; federate a local data set (new BaseDataset(tensor, tensor)).' });
  t.throws(() => new FederatedDataLoader(local as any), { instanceOf: FederatedDataError, message: /the data set is not a FederatedDataset; spread a local data set over workers first: new BaseDataset\(x, y\)\.federate\(\[bob, alice\]\)\./ });
  const fd = local.federate([bob, alice]);
  t.throws(() => new FederatedDataLoader(fd, { batchSize: 0 }), { instanceOf: FederatedDataError, message: 'FederatedDataLoader: batchSize must be a whole number ≥ 1, got 0.' });
  t.throws(() => new FederatedDataLoader(fd, { batchSize: 2, numIterators: 2 } as any), { instanceOf: FederatedDataError, message: /unknown option\(s\) numIterators; the options are batchSize, shuffle, dropLast, iterPerWorker, keepBatches\./ });
  t.throws(() => fd.get('carol'), { instanceOf: FederatedDataError, message: "FederatedDataset: no data on 'carol'; the data is on bob, alice." });
  const { FederatedDataset } = await import('../src/fl/index.js');
  t.throws(() => new FederatedDataset([onBob, local.send(bob)]), { instanceOf: FederatedDataError, message: /two data sets are on bob; give each worker one data set/ });
  fd.dispose();
  const loader = new FederatedDataLoader(fd, { batchSize: 2 });
  t.throws(() => [...loader], { instanceOf: PointerStateError, message: /slice: .* can no longer be used: it was disposed/ });
  tf.dispose([x, y3, y2]);
  await Promise.all([bob.clearObjects(), alice.clearObjects()]);
});
