/**
 * The tutorial flows (seeds 000–003) as scenarios: what they print and observe, in
 * the default mode and in strict mode (every message encoded and decoded), and that
 * each leaves no tensor behind.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import pointersBasics from '../scenarios/pointers-basics.js';
import pointerChains from '../scenarios/pointer-chains.js';
import remoteAutograd from '../scenarios/remote-autograd.js';
import tfVariables from '../scenarios/tf-variables.js';
import multiPointer from '../scenarios/multi-pointer.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const modes = [{ strict: false }, { strict: true }];

for (const { strict } of modes) {
  const mode = strict ? ' (strict)' : '';

  test.serial(`pointers-basics prints the tutorial's objects, metadata and results${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await pointersBasics(sim);
    t.deepEqual(printed, [
      'bob.objects: {}',
      'bob.objects: {1: tensor([1, 2, 3, 4, 5]), 3: tensor([1, 1, 1, 1, 1])}',
      'z_ptr: [PointerTensor | me:6 -> bob:5]',
      'bob.objects: {1: tensor([1, 2, 3, 4, 5]), 3: tensor([1, 1, 1, 1, 1]), 5: tensor([2, 4, 6, 8, 10])}',
      'x_ptr.location: <VirtualWorker id:bob #objects:3>',
      'bob == x_ptr.location: true',
      'x_ptr.id_at_location: 1',
      'x_ptr.id: 2',
      'x_ptr.owner: <VirtualWorker id:me #objects:0>',
      'me == x_ptr.owner: true',
      'x_ptr.get(): tensor([1, 2, 3, 4, 5])',
      'y_ptr.get(): tensor([1, 1, 1, 1, 1])',
      'z_ptr.get(): tensor([2, 4, 6, 8, 10])',
      'bob.objects: {}',
      'z.get(): tensor([[2, 4], [6, 8]])',
      '(x_ptr + y_ptr).get(): tensor([6, 6, 6, 6, 6])',
    ]);
    t.deepEqual(observed.product, [[2, 4], [6, 8]]);
    t.deepEqual(observed.sum, [6, 6, 6, 6, 6]);
    t.is(sim.remoteErrors.length, 0);
    t.is(tf.memory().numTensors, before, 'the scenario leaves no tensor behind');
  });

  test.serial(`pointer-chains: bob holds the tensor, alice a pointer; get, remoteGet and move${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await pointerChains(sim);
    t.deepEqual(printed, [
      '<VirtualWorker id:me #objects:0>',
      '<VirtualWorker id:me #objects:0>',
      '{1: tensor([1, 2, 3, 4])}',
      '{3: [PointerTensor | alice:3 -> bob:1]}',
      'pointer_to_x_ptr.get(): [PointerTensor | me:5 -> bob:1]',
      '  bob: {1: tensor([1, 2, 3, 4])}',
      'alice: {}',
      '.get() again: tensor([1, 2, 3, 4])',
      'after remoteGet  bob: {}',
      'after remoteGet alice: {8: tensor([5, 6, 7])}',
      'chain.get(): tensor([5, 6, 7])',
      '  bob: {10: tensor([1, 2, 3, 4, 5])}',
      'alice: {}',
      '[PointerTensor | me:11 -> bob:10]',
      '  bob: {}',
      'alice: {10: tensor([1, 2, 3, 4, 5])}',
      '[PointerTensor | me:11 -> alice:10]',
      'moved.get(): tensor([1, 2, 3, 4, 5])',
    ]);
    t.deepEqual(observed.moveTraffic, { meToAlice: 0, bobToAlice: 1 }, 'move() sends nothing from me to alice: the tensor travels bob → alice');
    t.is(tf.memory().numTensors, before);
  });

  test.serial(`remote-autograd: the L1 loss's gradient on the clinic's worker is [1, 1]${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await remoteAutograd(sim);
    t.deepEqual(printed, [
      '[PointerTensor | me:2 -> clinic:1]',
      '{1: tensor([0, 1, 2, 1, 2])}',
      'tensor([0, 1, 2, 1, 2])',
      '{}',
      '[PointerTensor | me:8 -> clinic:7]',
      'tensor([9.28, 9.56])',
      'tensor([2.4, 6.2])',
      'tensor([1, 1])',
      'after two backward(): tensor([4, -8, 12])',
      'after zeroGrad() and one more backward(): tensor([3, 3, 3])',
    ]);
    t.deepEqual(observed.grad, [1, 1]);
    t.deepEqual(observed.accumulated, [4, -8, 12], 'd(sum w²)/dw = 2w, accumulated twice');
    t.deepEqual(observed.afterZero, [3, 3, 3]);
    t.is(tf.memory().numTensors, before);
  });

  test.serial(`tf-variables: assignSub updates the variable in place on bob${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await tfVariables(sim);
    const initial = observed.initial as number[][];
    const updated = observed.updated as number[][];
    t.true(observed.isVariable as boolean, 'get() returns a tf.Variable, as the tutorial prints <tf.Variable …>');
    t.deepEqual(observed.autograd, [[1], [0]]);
    t.deepEqual(observed.manual, [[1], [0]]);
    t.true(Math.abs(updated[0][0] - (initial[0][0] - 1)) < 1e-6, 'w[0] decreased by dz/dw[0] = 1');
    t.is(updated[1][0], initial[1][0], 'w[1] unchanged (dz/dw[1] = 0)');
    t.regex(printed[0], /^z = matmul\(x, w\): \[PointerTensor \| me:\d+ -> bob:\d+\]$/);
    t.regex(printed[3], /^Updated:  tensor\(\[\[-?\d\.\d+\], \[-?\d\.\d+\]\]\) \(a tf\.Variable of shape \[2,1\]\)$/);
    t.is(tf.memory().numTensors, before);
  });

  test.serial(`multi-pointer: send(bob, alice), get() → both, get({ sumResults }) → their sum${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await multiPointer(sim);
    t.deepEqual(printed, [
      '[MultiPointerTensor]\n\t-> [PointerTensor | me:2 -> bob:1]\n\t-> [PointerTensor | me:4 -> alice:3]',
      '{bob: [PointerTensor | me:2 -> bob:1], alice: [PointerTensor | me:4 -> alice:3]}',
      '[tensor([1, 2, 3, 4, 5]), tensor([1, 2, 3, 4, 5])]',
      'tensor([2, 4, 6, 8, 10])',
      '(x + x) on both, summed: tensor([4, 8, 12, 16, 20])',
    ]);
    t.deepEqual(observed.children, ['bob', 'alice']);
    t.deepEqual(observed.objects, { bob: 1, alice: 1 }, 'x+x is gone with get(); y stays until disposed');
    t.is(tf.memory().numTensors, before);
  });
}

test.serial('the same scenario gives the same printed lines under seeds and strategies that change the delivery order', async (t) => {
  const reference = (await pointerChains(simulation({ seed: 1 }))).printed;
  for (const seed of [2, 3, 99]) {
    for (const strategy of ['fifo-random' as const, { name: 'pct' as const, depth: 3, maxSteps: 200 }]) {
      t.deepEqual((await pointerChains(simulation({ seed, strategy }))).printed, reference, `seed ${seed}, ${JSON.stringify(strategy)}`);
    }
  }
});
