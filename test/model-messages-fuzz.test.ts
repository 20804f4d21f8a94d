/**
 * The remote-training messages under random input (fast-check): models, forwards,
 * copies, optimiser steps and permutations with random ids, shapes and rules, mixed
 * with backward and clear. The worker never stops answering, and no tensor leaks:
 * once the worker is cleared, the tensor count is back where it started.
 */
import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const ids = fc.constantFrom('1', '2', '3', '4', '5', 'm1', 'm2', 'o1', 'o2', 'bad id');
const shape = fc.constantFrom([2], [2, 1], [3], [1, 2]);
const program = fc.record({
  name: fc.constantFrom('p'),
  input: fc.constantFrom([-1, 2], [-1, 3], [1, 2]),
  params: fc.array(fc.record({ name: fc.constantFrom('k', 'b'), shape }), { maxLength: 2 }),
  steps: fc.array(
    fc.record({
      op: fc.constantFrom('matMul', 'add', 'relu', 'sum', 'nope', 'split'),
      args: fc.array(fc.oneof(fc.constant({ input: true }), fc.record({ param: fc.nat(2) }), fc.record({ step: fc.nat(3) }), fc.integer({ min: -1, max: 2 })), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});
const rule = fc.oneof(
  fc.record({ name: fc.constant('sgd'), lr: fc.constantFrom(0.1, -1), momentum: fc.constantFrom(0, 0.9), dampening: fc.constant(0), nesterov: fc.boolean(), weightDecay: fc.constant(0) }),
  fc.record({ name: fc.constant('adam'), lr: fc.constant(0.01), beta1: fc.constant(0.9), beta2: fc.constant(0.999), eps: fc.constant(1e-8), weightDecay: fc.constant(0.1) }),
);
type Recipe = { type: string; payload: any };
// A well-formed linear model (x[n,2]·k[2,1] + b[1]), so forwards, copies and steps often find what they name.
const linearProgram = { name: 'linear', input: [-1, 2], params: [{ name: 'k', shape: [2, 1] }, { name: 'b', shape: [1] }], steps: [{ op: 'matMul', args: [{ input: true }, { param: 0 }] }, { op: 'add', args: [{ step: 0 }, { param: 1 }] }] };
const validModel = fc
  .record({ id: ids, k: ids, b: ids })
  .map(({ id, k, b }) => ({ type: 'model', payload: { id, program: linearProgram, params: [{ id: k, withTensor: true, shape: [2, 1] }, { id: b, withTensor: true, shape: [1] }] } }));
const message: fc.Arbitrary<Recipe> = fc.oneof(
  { arbitrary: validModel, weight: 3 },
  fc.record({ id: ids, input: fc.constant('0'), resultId: ids }).map((payload) => ({ type: 'modelForward', payload })),
  fc.record({ id: ids, program, params: fc.array(fc.record({ id: ids, withTensor: fc.boolean(), shape }), { maxLength: 3 }) }).map((p) => ({ type: 'model', payload: p })),
  fc.record({ id: ids, input: ids, resultId: ids }).map((payload) => ({ type: 'modelForward', payload })),
  fc.record({ id: ids, newId: ids, paramIds: fc.array(ids, { minLength: 1, maxLength: 3 }) }).map((payload) => ({ type: 'modelCopy', payload })),
  fc.record({ id: ids, params: fc.boolean() }).map((payload) => ({ type: 'modelDelete', payload })),
  fc.record({ id: ids, rule }).map((payload) => ({ type: 'optimizer', payload })),
  fc.record({ id: ids, params: fc.array(ids, { minLength: 1, maxLength: 3 }) }).map((payload) => ({ type: 'optimizerStep', payload })),
  fc.record({ id: ids, params: fc.array(ids, { minLength: 1, maxLength: 3 }) }).map((payload) => ({ type: 'optimizerZeroGrad', payload })),
  fc.record({ id: ids }).map((payload) => ({ type: 'optimizerDelete', payload })),
  fc.record({ n: fc.constantFrom(0, 3, -1), resultId: ids }).map((payload) => ({ type: 'permutation', payload })),
  fc.record({ id: ids }).map((payload) => ({ type: 'backward', payload })),
  fc.record({ op: fc.constantFrom('sum', 'square'), args: fc.tuple(fc.record({ ref: ids })), resultIds: fc.tuple(ids) }).map((payload) => ({ type: 'command', payload })),
  fc.constant({ type: 'clear', payload: {} }),
);

/** Tensors are made only when the message is sent (the message owns them). */
function materialise({ type, payload }: Recipe): unknown {
  if (type !== 'model') return payload;
  return {
    id: payload.id,
    program: payload.program,
    params: payload.params.map((p: { id: string; withTensor: boolean; shape: number[] }) =>
      p.withTensor ? { id: p.id, tensor: tf.ones(p.shape) } : { id: p.id },
    ),
  };
}

test.serial('a worker survives random model, optimiser and permutation messages without leaking a tensor', async (t) => {
  let sent = 0;
  let failures = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(message, { minLength: 40, maxLength: 40 }), fc.boolean(), async (recipes, strict) => {
      const baseline = tf.memory().numTensors;
      const sim = simulation({ strict });
      const bob = sim.worker('bob');
      // Some data and a real model, so that the "found" paths run too.
      sim.send('bob', 'object', { id: '0', value: { kind: 'tensor', tensor: tf.tensor2d([[1, 2]]) }, meta: { requiresGrad: true } });
      for (const recipe of recipes) {
        sim.send('bob', recipe.type, materialise(recipe));
        sent++;
      }
      await sim.settle();
      failures += sim.remoteErrors.length;
      const answered = await sim.request('bob', 'getShape', { id: 'none' }).then(
        () => 'answered',
        (error: unknown) => (error as Error).name,
      );
      if (answered !== 'RemoteError') throw new Error(`the worker stopped answering (${answered})`);
      await bob.clearObjects();
      if (tf.memory().numTensors !== baseline) throw new Error(`${tf.memory().numTensors - baseline} tensor(s) leaked`);
    }),
    { numRuns: 40, seed: 20240611 },
  );
  t.true(sent >= 1600);
  t.true(failures < sent * 0.9, `most messages should not fail (${failures} of ${sent} did)`);
  t.log(`${sent} messages, ${failures} refused`);
});
