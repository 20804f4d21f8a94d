/**
 * Issue #12, item 1: sharing must not be a way around allowedUsers. Each test is an attack a
 * data scientist acting as `me` could try on bob's private data: the label travels with the
 * fixed-precision value, every share, every share-wise and Beaver result and every
 * reconstruction, so every attempt ends in GetNotPermittedError — and the data is still there
 * to compute on.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { AdditiveSharingTensor, GetNotPermittedError, remoteFailure, type Simulation, type VirtualWorker } from '../src/index.js';
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

test('a share sent by me with a forged label counts as me\'s own contribution, and a share sent by a spawned actor is not believed either', async (t) => {
  const { sim, alice } = setting();
  const id = sim.nextId();
  sim.tell('alice', 'smpc/share', { id, share: { values: BigUint64Array.of(1n), shape: [1], field: (2n ** 64n).toString() }, allowedUsers: ['bob'], contributions: [['bob', '1/1']] });
  await sim.settle();
  const label = sim.inspect(alice).labelOf(id)!;
  t.deepEqual(label.allowedUsers, ['bob'], 'the restriction is kept (restricting is always allowed)');
  t.deepEqual([...label.contributions!.keys()], ['me'], 'but the contribution is me\'s, not bob\'s');
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
