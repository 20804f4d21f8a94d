/**
 * Seed 004's toy federated loop (scenarios/toy-federated.ts): the model goes to bob,
 * then alice, one SGD step each, for 10 iterations. The loss trajectory and the final
 * weights are checked against the same loop computed independently in float64
 * (test/helpers/linear-reference.ts), to 1e-5.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import toyFederated, { INITIAL_WEIGHTS, ITERATIONS, LEARNING_RATE, torchScalar } from '../scenarios/toy-federated.js';
import { ALICE, BOB, type Linear, sgdStep } from './helpers/linear-reference.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

function reference(): { losses: number[]; final: Linear } {
  let model: Linear = { w: [...INITIAL_WEIGHTS.kernel], b: INITIAL_WEIGHTS.bias[0] };
  const losses: number[] = [];
  for (let iter = 0; iter < ITERATIONS; iter++) {
    for (const { x, t } of [BOB, ALICE]) {
      const { loss, next } = sgdStep(model, x, t, LEARNING_RATE);
      losses.push(loss);
      model = next;
    }
  }
  return { losses, final: model };
}

const close = (actual: number, expected: number) => Math.abs(actual - expected) <= 1e-5;

for (const strict of [false, true]) {
  test.serial(`toy federated loop: 20 losses and the final weights match the float64 reference to 1e-5${strict ? ' (strict)' : ''}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await toyFederated(sim);
    const expected = reference();
    const losses = observed.losses as number[];
    t.is(losses.length, 2 * ITERATIONS);
    losses.forEach((loss, i) => t.true(close(loss, expected.losses[i]), `loss ${i}: ${loss} vs ${expected.losses[i]}`));
    const kernel = observed.kernel as number[];
    const bias = observed.bias as number[];
    t.true(close(kernel[0], expected.final.w[0]) && close(kernel[1], expected.final.w[1]), `kernel ${kernel} vs ${expected.final.w}`);
    t.true(close(bias[0], expected.final.b), `bias ${bias} vs ${expected.final.b}`);
    // What the tutorial prints: one `tensor(…)` per step, then the final weights.
    t.deepEqual(printed.slice(0, 20), expected.losses.map(torchScalar));
    t.is(printed[0], 'tensor(0.0200)', 'bob first: residuals 0.1 and −0.1');
    t.is(printed[1], 'tensor(0.9684)');
    t.is(sim.remoteErrors.length, 0);
    t.deepEqual((await Promise.all(sim.workers.map(async (w) => (await w.listObjects()).size))), [0, 0], 'nothing left on the workers');
    t.is(tf.memory().numTensors, before, 'no tensor left behind');
  });
}

test.serial('the reference itself: the first step on bob is worked out by hand', (t) => {
  // w = [0.3, −0.2], b = 0.1 on bob's rows [0,0]→0 and [0,1]→0: predictions 0.1 and −0.1.
  const { loss, next } = sgdStep({ w: [0.3, -0.2], b: 0.1 }, BOB.x, BOB.t, 0.1);
  t.true(Math.abs(loss - 0.02) < 1e-15);
  // ∂L/∂w = 2·[0·0.1 + 0·(−0.1), 0·0.1 + 1·(−0.1)] = [0, −0.2]; ∂L/∂b = 2·(0.1 − 0.1) = 0
  t.true(Math.abs(next.w[0] - 0.3) < 1e-15 && Math.abs(next.w[1] + 0.18) < 1e-15 && Math.abs(next.b - 0.1) < 1e-15);
});
