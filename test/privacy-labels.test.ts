/**
 * Issue #12, item 1: the label travels with every derived value, whatever produces it. These
 * are the other ways a data scientist could try to get bob's private data out — move, copy,
 * pointer chains, remoteGet, assignment into a public variable, gradients, a model's forward
 * and its trained weights, an optimiser's state, a plan run on it (its results, its state,
 * the plan itself), and the listing — each refused, with the data still usable.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { F, func2plan, GetNotPermittedError, RemoteSGD, trainingPlan, type PointerTensor, type Simulation, type VirtualWorker } from '../src/index.js';
import { nn, restoreModel } from '../src/fl/index.js';
import { classification, Mlp } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

function world(): { sim: Simulation; bob: VirtualWorker; alice: VirtualWorker; secret: PointerTensor } {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  return { sim, bob, alice, secret: bob.load(tf.tensor2d([[4817263, 5]]), { allowedUsers: ['bob'] }) };
}

const denied = (t: import('ava').ExecutionContext, answer: PromiseLike<unknown>, what: string) => t.throwsAsync(Promise.resolve(answer), { instanceOf: GetNotPermittedError }, what);

test('move, copy, pointer chains and remoteGet keep the data where its label allows', async (t) => {
  const { sim, alice, secret } = world();
  await denied(t, secret.move(alice), 'move to alice');
  await denied(t, secret.copy().get(), 'copy, then get');
  const chain = secret.send(alice); // alice holds a pointer to bob's object
  await denied(t, chain.remoteGet(), 'alice pulling it through her pointer');
  const shared = sim.worker('carol');
  const both = shared.load(tf.tensor([1, 2]), { allowedUsers: ['carol', 'alice'] });
  await both.move(alice); // allowed: alice may see it
  await denied(t, both.get(), 'after a permitted move, me still may not get it');
  t.deepEqual(sim.inspect(alice).labelOf(both.idAtLocation)?.allowedUsers, ['carol', 'alice'], 'the label moved with it');
});

test('assigning private data into a public variable makes the variable private; gradients are as private as the loss', async (t) => {
  const { bob, secret } = world();
  const variable = tf.variable(tf.tensor2d([[0, 0]])).send(bob);
  variable.assign(secret);
  await denied(t, variable.get(), 'public variable after assign(private)');
  const w = tf.tensor2d([[1], [1]]).send(bob, { requiresGrad: true });
  const loss = secret.matMul(w).sum();
  loss.backward();
  await denied(t, w.grad.get(), 'gradient of a private loss');
  t.deepEqual(await w.getShape(), [2, 1], 'shapes stay public');
});

test("a model's forward on private data, its trained weights, a copy of it and the optimiser's state are private", async (t) => {
  const { bob, alice, secret } = world();
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(1, 1), Float32Array.of(0)] });
  const remote = model.send(bob);
  model.dispose();
  const opt = new RemoteSGD(remote, { lr: 0.1, momentum: 0.9 });
  const out = remote.forward(secret);
  await denied(t, out.get(), 'forward output');
  opt.zeroGrad();
  out.sum().backward();
  opt.step();
  await denied(t, remote.get(), 'trained weights');
  await denied(t, remote.copy().get(), 'a copy of the trained model');
  await denied(t, remote.move(alice), 'moving the trained model to alice');
  const momentum = (await bob.search('#optimizer-state'))[0];
  await denied(t, momentum.get(), "the optimiser's momentum buffer");
  opt.dispose();
});

test('a plan run on private data: its results, its trained state and the plan itself are private', async (t) => {
  const { sim, bob, secret } = world();
  const double = func2plan((x: any) => F.mul(x, 2), { argsShape: [[1, 2]], name: 'double' }).send(bob);
  await denied(t, double(secret).get(), 'plan result');
  t.true(double.isLive);
  const { x, y } = classification(sim, 8, 3, 2);
  const model = new Mlp(3, 4, 2, { rng: sim.rng('model/init') });
  const training = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: 0.1 }, argsShape: [[-1, 3], [-1, 2]] }).send(bob);
  await training.train({ data: bob.load(x, { allowedUsers: ['bob'] }), target: bob.load(y, { allowedUsers: ['bob'] }), epochs: 1, batchSize: 4 });
  await denied(t, training.get(), 'a plan trained on private data');
  tf.dispose([x, y]);
  model.dispose();
});

test('the listing shows a private object as private, whatever produced it', async (t) => {
  const { bob, secret } = world();
  const derived = secret.mul(3);
  const listing = await bob.listObjects();
  t.is(listing.shown(derived.idAtLocation), '<private to [bob]: tensor float32 [1,2]>');
  t.false(String(listing).includes('4817263') || String(listing).includes('14451789'));
});
