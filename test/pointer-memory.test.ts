/**
 * Deterministic disposal: remote objects live exactly as long as their pointers say
 * (dispose, `using`, sim.tidy), never as long as a garbage collector decides.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { type PointerTensor, rt } from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

test.serial('10,000 iterations of op + dispose keep the store size and tf.memory().numTensors constant', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2, 3, 4, 5]).send(bob);
  const y = tf.tensor([1, 1, 1, 1, 1]).send(bob);
  await sim.settle();
  const objects = sim.inspect(bob).objects.size;
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 10_000; i++) {
    const z = x.add(y);
    z.dispose();
    if (i % 2_500 === 0) {
      await sim.settle();
      t.is(sim.inspect(bob).objects.size, objects);
      t.is(tf.memory().numTensors, tensors);
    }
  }
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, objects);
  t.is(tf.memory().numTensors, tensors);
  t.is(sim.remoteErrors.length, 0);
});

test.serial('`using` deletes the remote object at the end of the block', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  const tensors = tf.memory().numTensors;
  {
    using doubled = x.mul(2);
    using shifted = doubled.add(1);
    t.deepEqual(await shifted.getShape(), [2]);
    t.is(sim.inspect(bob).objects.size, 3);
  }
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 1);
  t.is(tf.memory().numTensors, tensors);
});

test.serial('sim.tidy disposes every pointer made inside except what it returns, with one delete message per worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2, 3]).send(bob);
  const y = tf.tensor([4, 5, 6]).send(alice);
  await sim.settle();
  const deletesBefore = sim.log.events.filter((e) => e.ev === 'sent' && e.type === 'delete').length;
  const { kept, alsoKept } = sim.tidy(() => {
    const a = x.add(1).mul(2).sub(3); // two intermediates on bob
    const b = y.square().sum(); // one intermediate on alice
    return { kept: a, alsoKept: [b] };
  });
  const deletes = sim.log.events.filter((e) => e.ev === 'sent' && e.type === 'delete');
  t.is(deletes.length - deletesBefore, 2, 'one delete per worker');
  await sim.settle();
  t.deepEqual([...sim.inspect(bob).objects.keys()], [x.idAtLocation, kept.idAtLocation]);
  t.deepEqual([...sim.inspect(alice).objects.keys()], [y.idAtLocation, alsoKept[0].idAtLocation]);
  t.true(kept.isLive);
  t.deepEqual((await kept.get()).arraySync(), [1, 3, 5]);
});

test.serial('sim.tidy nests, passes returned pointers to the enclosing scope, and works with async functions', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  await sim.settle();
  let inner!: PointerTensor;
  const outer = await sim.tidy(async () => {
    inner = sim.tidy(() => x.add(1).add(1));
    const shape = await inner.getShape();
    t.deepEqual(shape, [2]);
    return inner.mul(10);
  });
  await sim.settle();
  t.false(inner.isLive, 'the inner result was returned by the inner scope, then disposed by the outer one');
  t.true(outer.isLive);
  t.deepEqual([...sim.inspect(bob).objects.keys()], [x.idAtLocation, outer.idAtLocation]);
  t.deepEqual((await outer.get()).arraySync(), [30, 40]);
});

test.serial('a remote training loop (autograd + in-place update) keeps memory constant', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const w = tf.variable(tf.tensor([[0.5], [-0.5]])).send(bob);
  const data = tf.tensor([[1, 2], [3, 4], [5, 6]]).send(bob);
  const target = tf.tensor([[1], [2], [3]]).send(bob);
  await sim.settle();
  const objects = sim.inspect(bob).objects.size;
  let tensors = 0;
  const losses: number[] = [];
  for (let step = 0; step < 60; step++) {
    const loss = sim.tidy(() => rt.matMul(data, w).sub(target).square().mean());
    await loss.backward();
    sim.tidy(() => {
      w.assignSub(w.grad.mul(0.01));
    });
    w.zeroGrad();
    const value = await loss.get();
    losses.push(value.dataSync()[0]);
    value.dispose();
    await sim.settle();
    if (step === 5) tensors = tf.memory().numTensors;
    if (step > 5) t.is(tf.memory().numTensors, tensors, `step ${step}`);
    t.is(sim.inspect(bob).objects.size, objects);
  }
  t.true(losses.at(-1)! < losses[0] / 10, `the loss goes down: ${losses[0]} → ${losses.at(-1)}`);
});

test.serial('deleting a pointer held by a worker deletes its target too (owned pointer chains)', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const tensors = tf.memory().numTensors;
  const chain = tf.tensor([1, 2, 3]).send(bob).send(alice);
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 1);
  t.is(sim.inspect(alice).objects.size, 1);
  chain.dispose();
  await sim.settle();
  t.is(sim.inspect(alice).objects.size, 0);
  t.is(sim.inspect(bob).objects.size, 0, 'alice forwarded the delete to bob');
  t.is(tf.memory().numTensors, tensors + 1, 'only the local source tensor remains');
});

test.serial('search results do not own their objects: disposing them deletes nothing', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  tf.tensor([1, 2]).send(bob).tag('#fashion');
  const found = await bob.search('#fashion');
  t.is(found.length, 1);
  found[0].dispose();
  await sim.settle();
  t.is(sim.inspect(bob).objects.size, 1);
});

test.serial('faults do not leak tensors: dropped messages free theirs, a restart that loses state frees the old store', async (t) => {
  const tensors = tf.memory().numTensors;
  const sim = simulation({ seed: 4, faults: { drop: 0.3 } });
  const bob = sim.worker('bob');
  for (let i = 0; i < 40; i++) {
    const local = tf.tensor([i, i + 1]);
    local.send(bob);
    local.dispose();
  }
  await sim.settle();
  const dropped = sim.log.events.filter((e) => e.ev === 'dropped').length;
  t.true(dropped > 0, 'the plan dropped some sends');
  t.is(sim.inspect(bob).objects.size, 40 - dropped);
  t.is(tf.memory().numTensors, tensors + sim.inspect(bob).objects.size, 'only what bob holds is alive');
  sim.crash('bob');
  sim.restart('bob', true);
  t.is(sim.inspect(bob).objects.size, 0);
  t.is(tf.memory().numTensors, tensors);
});
