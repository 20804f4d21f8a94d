/**
 * Issue #12, item 1: privacy labels travel with every derived value, so neither sharing nor any
 * other producer is a way around allowedUsers. Each test is an attack a data scientist acting
 * as `me` could try on bob's private data: through fixed precision, every share, share-wise and
 * Beaver results and reconstruction (which used to reveal it), and through move, copy, pointer
 * chains, remoteGet, assignment, gradients, models, optimisers, plans and listings. Every
 * attempt ends in GetNotPermittedError — and the data is still there to compute on.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import {
  AdditiveSharingTensor,
  F,
  func2plan,
  GetNotPermittedError,
  type PointerTensor,
  remoteFailure,
  RemoteSGD,
  type Simulation,
  trainingPlan,
  type VirtualWorker,
} from '../src/index.js';
import { nn, restoreModel } from '../src/fl/index.js';
import { classification, Mlp } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const SECRET = [4817.263, -12.5, 7];

function setting(): { sim: Simulation; bob: VirtualWorker; alice: VirtualWorker; carol: VirtualWorker; james: VirtualWorker } {
  const sim = simulation();
  return { sim, bob: sim.worker('bob'), alice: sim.worker('alice'), carol: sim.worker('carol'), james: sim.worker('james') };
}

/** bob's private data, loaded by bob's owner. */
const privateData = (bob: VirtualWorker, values = SECRET) => bob.load(tf.tensor(values), { allowedUsers: ['bob'] });

async function refused(t: import('ava').ExecutionContext, answer: PromiseLike<unknown>, what: string): Promise<void> {
  // Raw requests answer with a RemoteError; the pointer layer's typed error is what remoteFailure() rebuilds.
  const typed = Promise.resolve(answer).catch((error) => {
    throw remoteFailure(error);
  });
  const error = await t.throwsAsync(typed, { instanceOf: GetNotPermittedError }, what);
  t.deepEqual(error?.allowedUsers, ['bob'], `${what}: refused because it is private to bob`);
}

test('fixPrecision().share(alice, carol).get() of bob\'s private tensor is refused: every share carries the label', async (t) => {
  const { bob, alice, carol } = setting();
  const shared = privateData(bob).fixPrecision().share(alice, carol);
  await refused(t, shared.get(), 'reconstruction from two non-owner workers');
});

test('sharing among bob himself and alice, then reconstructing, is refused too', async (t) => {
  const { bob, alice } = setting();
  await refused(t, privateData(bob).fixPrecision().share(bob, alice).get(), 'share(bob, alice)');
});

test('share-wise ops keep the label: add(0), sub(0), neg(), mul(1), a public offset', async (t) => {
  const { bob, alice, carol } = setting();
  const secret = privateData(bob);
  const ops: Array<[string, (x: AdditiveSharingTensor) => AdditiveSharingTensor]> = [
    ['add(0)', (x) => x.add(0)],
    ['sub(0)', (x) => x.sub(0)],
    ['neg().neg()', (x) => x.neg().neg()],
    ['mul(1)', (x) => x.mul(1)],
    ['add(public tensor)', (x) => x.add(tf.tensor([1, 2, 3]))],
    ['mul(0.5) (local truncation)', (x) => x.mul(0.5)],
  ];
  for (const [name, op] of ops) await refused(t, op(secret.fixPrecision().share(alice, carol)).get(), name);
});

test('a Beaver product with a public shared value, and a shared matMul, stay private', async (t) => {
  const { bob, alice, carol, james } = setting();
  const one = tf.tensor([1, 1, 1]).fixPrecision().share(alice, carol, { cryptoProvider: james });
  const x = privateData(bob).fixPrecision().share(alice, carol, { cryptoProvider: james });
  await refused(t, x.mul(one).get(), 'Beaver mul(1)');
  const row = bob.load(tf.tensor([SECRET]), { allowedUsers: ['bob'] }).fixPrecision().share(alice, carol, { cryptoProvider: james });
  const identity = tf.eye(3).fixPrecision().share(alice, carol, { cryptoProvider: james });
  await refused(t, row.matMul(identity).get(), 'Beaver matMul with the identity');
  const twice = privateData(bob).fixPrecision().share(alice, carol, { cryptoProvider: james });
  await refused(t, twice.mul(0.5).get(), 'truncation by the crypto provider');
});

test('a sum with a public shared value, and a secret minus itself (nothing left but the label), stay private', async (t) => {
  const { bob, alice, carol } = setting();
  const zeros = tf.tensor([0, 0, 0]).fixPrecision().share(alice, carol);
  const x = privateData(bob).fixPrecision().share(alice, carol);
  await refused(t, AdditiveSharingTensor.sum([x, zeros]).get(), 'sum with a public zero');
  const y = privateData(bob).fixPrecision().share(alice, carol);
  await refused(t, y.sub(y).get(), 'x − x');
});

test("bob's own fixed-precision value: get(), floatPrecision().get() and raw smpc affine/combine commands are refused", async (t) => {
  const { sim, bob } = setting();
  await refused(t, privateData(bob).fixPrecision().get(), 'FixedPrecisionPointer.get()');
  await refused(t, privateData(bob).fixPrecision().floatPrecision().get(), 'floatPrecision().get()');
  const fixed = privateData(bob).fixPrecision();
  const affine = sim.nextId();
  sim.tell('bob', 'smpc', { op: 'affine', source: fixed.idAtLocation, scalar: '1', resultId: affine });
  await refused(t, sim.ask('bob', 'smpc/get', { id: affine }), 'raw affine then smpc/get');
  const combined = sim.nextId();
  sim.tell('bob', 'smpc', { op: 'combine', terms: [{ id: fixed.idAtLocation, sign: 1 }], resultId: combined });
  await refused(t, sim.ask('bob', 'smpc/get', { id: combined }), 'raw combine then smpc/get');
});

test('an int32 private tensor shared as it is, and a share re-shared by its owner, stay private', async (t) => {
  const { bob, alice, carol } = setting();
  const ints = bob.load(tf.tensor([48, -12, 7], undefined, 'int32'), { allowedUsers: ['bob'] });
  await refused(t, ints.share(alice, carol).get(), 'int32 share');
  const x = privateData(bob).fixPrecision().share(alice, carol);
  const dave = alice.sim.worker('dave');
  const erin = alice.sim.worker('erin');
  // alice splits her share of x again, among dave and erin: still a share of bob's data.
  const resharedId = alice.sim.nextId();
  alice.sim.tell('alice', 'smpc', { op: 'share', source: x.id, resultId: resharedId, owners: ['dave', 'erin'], field: (2n ** 64n).toString() });
  await refused(t, alice.sim.ask('dave', 'smpc/get', { id: resharedId }), "a re-share of alice's share");
  t.true(dave !== erin);
});

test('shares, openings and triples go only to workers of the federation: me cannot name itself an owner or a crypto provider', async (t) => {
  const { sim, bob, alice } = setting();
  const fixed = privateData(bob).fixPrecision();
  const id = sim.nextId();
  // bob would send a share to me directly …
  sim.tell('bob', 'smpc', { op: 'share', source: fixed.idAtLocation, resultId: id, owners: ['alice', 'me'], field: (2n ** 64n).toString() });
  const error = await t.throwsAsync(sim.ask('alice', 'smpc/get', { id }));
  t.regex(error!.message, /'me' is not a worker of this federation/);
  // … or open d = x − a to me, with a triple me dealt itself.
  const x = privateData(bob).fixPrecision().share(alice, bob);
  const product = sim.nextId();
  sim.tell('alice', 'smpc', { op: 'beaver', kind: 'mul', x: x.id, y: x.id, resultId: product, party: 0, owners: ['alice', 'me'], dealer: 'me' });
  const beaver = await t.throwsAsync(sim.ask('alice', 'smpc/get', { id: product }));
  t.regex(beaver!.message, /'me' is not a worker of this federation/);
});

test('a share sent by me with a forged label counts as me\'s own contribution (an outside actor\'s: test/privacy-release-counting.test.ts)', async (t) => {
  const { sim, alice } = setting();
  const id = sim.nextId();
  sim.tell('alice', 'smpc/share', { id, share: { values: BigUint64Array.of(1n), shape: [1], field: (2n ** 64n).toString() }, allowedUsers: ['bob'], contributions: [['bob#1', 'bob', '1/1', ['bob']]] });
  await sim.settle();
  const label = sim.inspect(alice).labelOf(id)!;
  t.deepEqual(label.allowedUsers, ['bob'], 'the restriction is kept (restricting is always allowed)');
  const parts = [...label.contributions!.values()];
  t.deepEqual(parts.map((part) => part.contributor), ['me'], 'but the contribution is me\'s, not bob\'s');
  t.deepEqual(parts[0].visibleTo, ['bob'], 'visible to whom me said: only the claim about who contributed is not believed');
});

test('the data stays usable: computing on it and on its shares works, only revealing it is refused', async (t) => {
  const { bob, alice, carol } = setting();
  const secret = privateData(bob);
  t.deepEqual(await secret.add(1).getShape(), [3]);
  const shared = secret.fixPrecision().share(alice, carol).add(1);
  await refused(t, shared.get(), 'shared + 1');
  const listing = await alice.listObjects();
  t.true(listing.toString().includes('<private to [bob]: ring [3]>'), `alice lists her share as private: ${listing}`);
});

// ── the other producers ──────────────────────────────────────────────────────

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
