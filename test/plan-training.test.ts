/**
 * Training as a Plan: the op list of one SGD step (forward, loss, grads, update),
 * run by a worker over every minibatch of every epoch from one message. Checked
 * against the same SGD steps written with tfjs, bit for bit; a round's message
 * count does not depend on the number of batches.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { createStream, GetNotPermittedError, RemoteError, trainingPlan, type RandomStream } from '../src/index.js';
import { bits, classification, countSent, Mlp } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const LR = 0.5;

/** One SGD step of Mlp (matMul, add, relu, matMul, add) on softmax cross-entropy, written with tfjs directly. */
function referenceStep(params: tf.Variable[], xb: tf.Tensor, yb: tf.Tensor): number {
  return tf.tidy(() => {
    const f = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
      const logits = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(xb as tf.Tensor2D, w1 as tf.Tensor2D), b1)) as tf.Tensor2D, w2 as tf.Tensor2D), b2);
      return tf.neg(tf.mean(tf.sum(tf.mul(yb, tf.logSoftmax(logits)), -1)));
    };
    const { value, grads } = tf.valueAndGrads(f as (...xs: tf.Tensor[]) => tf.Tensor)(params);
    params.forEach((p, i) => p.assign(tf.sub(p, tf.mul(grads[i], LR))));
    return value.dataSync()[0];
  });
}

/** The rows of each minibatch, epoch by epoch, as the worker draws them (one Fisher–Yates shuffle per epoch). */
function* batches(n: number, batchSize: number, epochs: number, rng: RandomStream): Generator<number[]> {
  const order = new Array<number>(n);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order);
    for (let start = 0; start < n; start += batchSize) yield order.slice(start, Math.min(n, start + batchSize));
  }
}

test.serial('a training plan run locally is bitwise the same SGD step written with tfjs (it trains the model in place)', (t) => {
  const sim = simulation();
  const model = new Mlp(4, 8, 3, { rng: sim.rng('model/init') });
  const reference = new Mlp(4, 8, 3, { rng: simulation().rng('model/init') });
  const plan = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, 4], [-1, 3]] });
  t.deepEqual(plan.definition!.stateNames, ['l1.weight', 'l1.bias', 'l2.weight', 'l2.bias'], "the plan's state is the model's parameters, by name");
  t.regex(plan.toString(), /%\d+, %\d+, %\d+, %\d+ = grads\(%\d+, wrt=\[l1\.weight, l1\.bias, l2\.weight, l2\.bias\]\)\n  %\d+ = mul\(%\d+, 0\.5\)\n  %\d+ = sub\(l1\.weight, %\d+\)\n  assign\(l1\.weight, %\d+\)/);
  const { x, y } = classification(sim, 12, 4, 3);
  reference.parameters(); // layers are initialised on first use: before counting tensors
  const before = tf.memory().numTensors;
  for (let step = 0; step < 3; step++) {
    const loss = plan(x, y) as tf.Tensor;
    const expected = referenceStep(reference.parameters(), x, y);
    t.is(loss.dataSync()[0], expected, `loss of step ${step}`);
    loss.dispose();
    t.deepEqual(model.parameters().map(bits), reference.parameters().map(bits), `parameters after step ${step}`);
  }
  t.is(tf.memory().numTensors, before, 'steps leave no tensor behind');
  tf.dispose([x, y]);
  for (const p of [model, reference, plan]) p.dispose();
});

test.serial('train(): E epochs of B batches in one request; a round costs the same messages for 2 or 8 batches; parameters equal local SGD bitwise', async (t) => {
  const messages: number[] = [];
  for (const n of [16, 64]) {
    const sim = simulation({ seed: 21 });
    const bob = sim.worker('bob');
    const model = new Mlp(5, 7, 2, { rng: sim.rng('model/init') });
    const reference = new Mlp(5, 7, 2, { rng: simulation({ seed: 21 }).rng('model/init') });
    const { x, y } = classification(sim, n, 5, 2);
    const plan = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, 5], [-1, 2]] });
    const data = x.send(bob);
    const target = y.send(bob);
    await sim.settle();
    reference.parameters(); // layers are initialised on first use: before counting tensors
    const before = tf.memory().numTensors;

    const sent = countSent(sim);
    const ptr = plan.send(bob); // the round: send the plan, train, fetch it back
    const result = await ptr.train({ data, target, epochs: 3, batchSize: 8 });
    const trained = await ptr.get();
    messages.push(sent.total());
    t.is(sent.of('runPlanLoop'), 1);
    t.deepEqual({ steps: result.steps, samples: result.samples }, { steps: (n / 8) * 3, samples: n * 3 });

    // The same steps here: the worker's shuffle stream is actor/bob/shuffle.
    let lossSum = 0;
    for (const rows of batches(n, 8, 3, createStream(sim.seed, 'actor/bob/shuffle'))) {
      const [xb, yb] = tf.tidy(() => [tf.gather(x, tf.tensor1d(rows, 'int32')), tf.gather(y, tf.tensor1d(rows, 'int32'))]);
      lossSum += referenceStep(reference.parameters(), xb, yb) * rows.length;
      tf.dispose([xb, yb]);
    }
    t.is(result.meanLoss, lossSum / (n * 3));
    t.deepEqual([...trained.stateTensors().values()].map(bits), reference.parameters().map(bits), `${n} samples`);
    t.notDeepEqual(model.parameters().map(bits), reference.parameters().map(bits), 'training happened on bob, not here');
    model.loadState(trained);
    t.deepEqual(model.parameters().map(bits), reference.parameters().map(bits), 'loadState copies the trained values in');
    trained.dispose();
    t.is(tf.memory().numTensors, before, 'the round leaves no tensor behind on either side');
    tf.dispose([x, y]);
    for (const p of [model, reference, plan]) p.dispose();
  }
  t.is(messages[0], messages[1], 'constant in the number of batches');
  t.is(messages[0], 5, 'object, runPlanLoop + reply, objectRequest + reply');
});

test.serial('shuffle: false and dropLast: the batches are the rows in order, the short last one skipped', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = new Mlp(3, 4, 2, { rng: sim.rng('model/init') });
  const reference = new Mlp(3, 4, 2, { rng: simulation().rng('model/init') });
  const { x, y } = classification(sim, 10, 3, 2);
  const ptr = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, 3], [-1, 2]] }).send(bob);
  const result = await ptr.train({ data: x.send(bob), target: y.send(bob), epochs: 2, batchSize: 4, shuffle: false, dropLast: true });
  t.deepEqual({ steps: result.steps, samples: result.samples }, { steps: 4, samples: 16 });
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const start of [0, 4]) {
      const [xb, yb] = [x.slice(start, 4), y.slice(start, 4)];
      referenceStep(reference.parameters(), xb, yb);
      tf.dispose([xb, yb]);
    }
  }
  const trained = await ptr.get();
  t.deepEqual([...trained.stateTensors().values()].map(bits), reference.parameters().map(bits));
  trained.dispose();
  tf.dispose([x, y]);
});

test.serial('mse training reduces the loss; a failing batch names epoch, batch and op, and leaves the plan as it was', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = new Mlp(2, 6, 1, { rng: sim.rng('model/init') });
  const plan = trainingPlan(model, { loss: 'mse', optimizer: { lr: 0.1 }, argsShape: [[-1, 2], [-1, 1]] });
  const xs = tf.tensor2d([0, 0, 0, 1, 1, 0, 1, 1, 0.5, 0.5, 0.2, 0.9], [6, 2]);
  const ys = tf.tensor2d([0, 1, 1, 2, 1, 1.1], [6, 1]);
  const ptr = plan.send(bob);
  const data = xs.send(bob);
  const first = await ptr.train({ data, target: ys.send(bob), epochs: 1, batchSize: 2 });
  const later = await ptr.train({ data, target: ys.send(bob), epochs: 30, batchSize: 2 });
  t.true(later.meanLoss < first.meanLoss, `${later.meanLoss} < ${first.meanLoss}`);

  const fetched = await ptr.get();
  const trainedBits = [...fetched.stateTensors().values()].map(bits);
  const again = fetched.send(bob);
  const [threeWide, ones] = [tf.ones([6, 3]), tf.ones([6, 3])];
  const before = tf.memory().numTensors;
  const target = ys.send(bob);
  const wrong = threeWide.send(bob); // 3 features per row where the model takes 2
  const error = await t.throwsAsync(again.train({ data: wrong, target, epochs: 2, batchSize: 2 }), { instanceOf: RemoteError });
  t.is(error.remoteName, 'PlanFailedError');
  t.regex(error.remoteMessage, /^runPlanLoop \(epoch 1, batch 1\) of plan 'Mlp\.train' \(object \d+\) failed on bob at op #0 `%6 = matMul\(x, l1\.weight\)`: Error in matMul: inner shapes \(3\) and \(2\)/);
  // Forward fine (broadcasting), backward not: the failure is the grads op's.
  const wide = ones.send(bob);
  const backward = await t.throwsAsync(again.train({ data, target: wide, epochs: 1, batchSize: 2 }), { instanceOf: RemoteError });
  t.regex(backward.remoteMessage, /failed on bob at op #7 `%13, %14, %15, %16 = grads\(%12, wrt=\[l1\.weight, l1\.bias, l2\.weight, l2\.bias\]\)`: Error in gradient for op SquaredDifference/);
  for (const p of [target, wrong, wide]) p.dispose();
  await sim.settle();
  t.is(tf.memory().numTensors, before, 'the failed loop freed what it made');
  const unchanged = await again.get();
  t.deepEqual([...unchanged.stateTensors().values()].map(bits), trainedBits, "the plan's state is as before the failed loop");
  for (const p of [fetched, unchanged, model, plan]) p.dispose();
  tf.dispose([xs, ys, threeWide, ones]);
});

test.serial('trained on private data, the plan inherits its restriction: it cannot be fetched by others', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = new Mlp(3, 4, 2, { rng: sim.rng('model/init') });
  const { x, y } = classification(sim, 8, 3, 2);
  const ptr = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, 3], [-1, 2]] }).send(bob);
  await ptr.train({ data: bob.load(x, { allowedUsers: ['bob'] }), target: bob.load(y, { allowedUsers: ['bob'] }), epochs: 1, batchSize: 4 });
  const error = await t.throwsAsync(ptr.get(), { instanceOf: GetNotPermittedError });
  t.deepEqual(error.allowedUsers, ['bob']);
  t.true(ptr.isLive, 'a refused get() leaves the plan (and the pointer) in place');
  tf.dispose([x, y]);
  model.dispose();
});

test.serial('train() needs a plan of two arguments and pointers on its worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const model = new Mlp(2, 2, 2, { rng: sim.rng('model/init') });
  model.build(tf.ones([1, 2]));
  const ptr = model.send(bob);
  const x = tf.ones([4, 2]).send(bob);
  const error = await t.throwsAsync(ptr.train({ data: x, target: x, epochs: 1, batchSize: 2 }), { instanceOf: RemoteError });
  t.regex(error.remoteMessage, /plan 'Mlp' takes 1 argument\(s\); a training loop runs a plan of two, \(x, y\), on minibatches of data and target/);
  t.throws(() => ptr.train({ data: x, target: x, epochs: 0, batchSize: 2 }), { instanceOf: RangeError, message: /epochs must be a positive integer/ });
  model.dispose();
});

test.serial('plan.train(...) here equals ptr.train(...) on a worker, bit for bit, given the worker’s shuffle stream (what an FL client actor can call)', async (t) => {
  const sim = simulation({ seed: 4 });
  const bob = sim.worker('bob');
  const remoteModel = new Mlp(4, 6, 3, { rng: sim.rng('model/init') });
  const localModel = new Mlp(4, 6, 3, { rng: simulation({ seed: 4 }).rng('model/init') });
  const { x, y } = classification(sim, 23, 4, 3);
  const options = { loss: 'softmaxCrossEntropy' as const, optimizer: { lr: LR }, argsShape: [[-1, 4], [-1, 3]] as const };
  const ptr = trainingPlan(remoteModel, options).send(bob);
  const remote = await ptr.train({ data: x.send(bob), target: y.send(bob), epochs: 2, batchSize: 5 });
  const trained = await ptr.get();
  const plan = trainingPlan(localModel, options);
  const before = tf.memory().numTensors;
  const local = plan.train(x, y, { epochs: 2, batchSize: 5, rng: createStream(sim.seed, 'actor/bob/shuffle') });
  t.is(tf.memory().numTensors, before, 'the local loop leaves no tensor behind');
  t.deepEqual(local, remote);
  t.deepEqual(localModel.parameters().map(bits), [...trained.stateTensors().values()].map(bits), 'the model was trained in place');
  t.throws(() => localModel.train(x, y, { epochs: 1, batchSize: 5 }), { message: /a training loop runs a built plan of two arguments \(x, y\)/ });
  trained.dispose();
  tf.dispose([x, y]);
  for (const p of [remoteModel, localModel, plan]) p.dispose();
});
