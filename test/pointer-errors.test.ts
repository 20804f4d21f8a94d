/**
 * Every error of the pointer API and of the worker protocol: its type, and a message
 * that says what happened, where (worker, object id, op) and what to do.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import {
  GetNotPermittedError,
  ObjectNotFoundError,
  PointerStateError,
  RemoteError,
  rt,
  Simulation,
  TensorsNotCollocatedError,
  type PointerTensor,
} from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

/** Store contents as plain data, to check a rejected message changed nothing. */
const snapshot = (sim: Simulation, id: string) => [...sim.inspect(id).objects].map(([k, v]) => [k, String(v)]);

test('a second get() fails with ObjectNotFoundError naming the id and the worker, and hinting that get() was already called', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2, 3]).send(bob);
  (await x.get()).dispose();
  const error = await t.throwsAsync(x.get(), { instanceOf: ObjectNotFoundError });
  t.true(error instanceof RemoteError, 'it is a RemoteError too');
  t.is(error.objectId, x.idAtLocation);
  t.is(error.worker, 'bob');
  t.is(error.where.op, 'get');
  t.regex(error.message, /^bob has no object 1 \(needed by get\)\./);
  t.regex(error.message, /get\(\) was already called on \[PointerTensor \| me:2 -> bob:1\]/);
  t.regex(error.message, /copy\(\) the pointer before get\(\)/);
});

test('ObjectNotFoundError without a previous get() does not claim one', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1]).send(bob);
  await bob.clearObjects();
  const error = await t.throwsAsync(x.get(), { instanceOf: ObjectNotFoundError });
  t.notRegex(error.message, /already called/);
  t.regex(error.message, /clearObjects\(\)/);
});

test('TensorsNotCollocatedError names both locations and suggests move/get/send (no literal {} placeholders)', (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2]).send(bob);
  const y = tf.tensor([3, 4]).send(alice);
  const sent = sim.log.length;
  const error = t.throws(() => x.add(y), { instanceOf: TensorsNotCollocatedError });
  t.is(error.message, 'add: its arguments live on different workers: argument 1 on bob (object 1), argument 2 on alice (object 3). A remote op runs on one worker: first move the tensors together (await ptr.move(bob), or send the tensor there), or get() them and compute here.');
  t.deepEqual(error.locations, ['bob', 'alice']);
  t.false(error.message.includes('{}'));
  t.is(sim.log.length, sent, 'nothing was sent');
  t.throws(() => rt.matMul(x, y), { instanceOf: TensorsNotCollocatedError, message: /argument 1 on bob .* argument 2 on alice/ });
});

test('a local tensor mixed with a pointer is a TensorsNotCollocatedError: no data moves silently', (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  const local = tf.tensor([3, 4]);
  const error = t.throws(() => x.mul(local), { instanceOf: TensorsNotCollocatedError });
  t.is(error.message, 'mul: argument 2 here on me (a local tensor of shape [2]) but argument 1 on bob (object 1). fedsim never moves data silently: send the local tensor to bob first (t.send(bob)), or fetch the remote one with await ptr.get() and compute here.');
  t.deepEqual(error.locations, ['bob', 'me']);
  t.throws(() => rt.concat([x, local]), { instanceOf: TensorsNotCollocatedError, message: /argument 1\.2 here on me/ });
  local.dispose();
});

test('a failed op surfaces as a RemoteError (worker, op, cause) at the next await of a dependent result', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const a = tf.tensor([[1, 2, 3]]).send(bob);
  const b = tf.tensor([[1, 2]]).send(bob);
  const product = rt.matMul(a, b); // returns at once: the failure is only known on bob
  const dependent = product.add(1).relu();
  const error = await t.throwsAsync(dependent.get(), { instanceOf: RemoteError });
  t.is(error.actor, 'bob');
  t.is(error.remoteName, 'OpFailedError');
  t.is(error.where.worker, 'bob');
  t.is(error.where.op, 'matMul', 'the root cause, not the dependent op');
  t.is(error.where.objectId, product.idAtLocation);
  t.regex(error.message, /^bob failed: OpFailedError: input \d+ of relu holds an earlier failure: input \d+ of add holds an earlier failure: matMul failed on bob \(result \d+\): Error in matMul: inner shapes \(3\) and \(1\)/);
  t.regex(error.message, /Check the arguments' shapes and dtypes/);
  const direct = await t.throwsAsync(product.get(), { instanceOf: RemoteError });
  t.regex(direct.message, /^bob failed: OpFailedError: matMul failed on bob/);
  t.is(sim.remoteErrors.length, 3, 'each failed one-way command was also reported back to me');
  t.is(sim.remoteErrors[0].where.op, 'matMul');
});

test('incompatible shapes in an element-wise op: error reply, nothing stored but the failure, worker keeps serving', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2, 3]).send(bob);
  const y = tf.tensor([1, 2]).send(bob);
  const z = x.add(y);
  await t.throwsAsync(z.get(), { instanceOf: RemoteError, message: /add failed on bob \(result 5\): Operands could not be broadcast together with shapes 3 and 2/ });
  t.deepEqual((await x.add(x).get()).arraySync(), [2, 4, 6]);
});

test('using a pointer after get(), send() or dispose() is a PointerStateError, before any message is sent', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1]).send(bob);
  (await x.get()).dispose();
  t.throws(() => x.add(1), { instanceOf: PointerStateError, message: /add: \[PointerTensor \| me:2 -> bob:1\] can no longer be used: its object was fetched with get\(\)/ });
  const y = tf.tensor([1]).send(bob);
  y.send(alice);
  t.throws(() => y.neg(), { instanceOf: PointerStateError, message: /it was sent on with send\(\), which handed its object to the new pointer/ });
  const z = tf.tensor([1]).send(bob);
  z.dispose();
  t.throws(() => z.move(alice), { instanceOf: PointerStateError, message: /it was disposed, which deleted its object/ });
});

test('ops on a pointer to a pointer are refused with a hint to remoteGet()', (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const chain = tf.tensor([1, 2]).send(bob).send(alice);
  t.throws(() => chain.add(1), { instanceOf: PointerStateError, message: /points to a pointer on alice, not to a tensor.*remoteGet\(\)/ });
});

test('GetNotPermittedError: a private object cannot be fetched, but can be computed on; results inherit the restriction', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const secret = tf.tensor([42, 7]).send(bob, { allowedUsers: ['bob'] });
  const error = await t.throwsAsync(secret.get(), { instanceOf: GetNotPermittedError });
  t.is(error.message, 'me may not get object 1 from bob: it is private to [bob]. Computing on it remotely is allowed, but results inherit the restriction; release only what its owners agree to share (e.g. an aggregate computed by a secure worker).');
  t.deepEqual(error.allowedUsers, ['bob']);
  t.is(error.objectId, '1');
  // computation is allowed …
  const doubled = secret.mul(2);
  t.deepEqual(await doubled.getShape(), [2]);
  // … but no result computed from it leaks the data
  await t.throwsAsync(secret.add(0).get(), { instanceOf: GetNotPermittedError });
  const pub = tf.tensor([1, 1]).send(bob);
  await t.throwsAsync(pub.add(secret).get(), { instanceOf: GetNotPermittedError }, 'public ∩ private is private');
  // moving it to someone not allowed is refused too, and bob keeps it
  await t.throwsAsync(secret.move(alice), { instanceOf: GetNotPermittedError, message: /alice may not receive object 1 from bob/ });
  t.true(sim.inspect(bob).objects.has('1'));
  // the pointer is still usable after a refused get
  t.notThrows(() => secret.neg());
});

test('bob.load(t, { allowedUsers }) puts private data on bob that me cannot get', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const data = bob.load(tf.tensor([1, 2, 3]), { allowedUsers: ['bob'], tags: ['#records'] });
  await t.throwsAsync(data.sum().get(), { instanceOf: GetNotPermittedError });
  data.dispose(); // not owned: deletes nothing
  await sim.settle();
  t.true(sim.inspect(bob).objects.has(data.idAtLocation));
});

test('grad of a tensor that never took part in backward() fails with a clear cause', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const w = tf.tensor([1, 2]).send(bob, { requiresGrad: true });
  await t.throwsAsync(w.grad.get(), { instanceOf: RemoteError, message: /object 1 has no gradient yet: call backward\(\) on a loss computed from it/ });
});

test('backward() of a loss that tracks nothing is a BackwardError', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  const loss = x.sum();
  const error = await t.throwsAsync(loss.backward(), { instanceOf: RemoteError });
  t.is(error.remoteName, 'BackwardError');
  t.regex(error.message, /backward\(\) of object 3 on bob failed: it does not depend on any tensor that tracks gradients\. Send the inputs with \{ requiresGrad: true \}, or use variables\./);
});

test('in-place assignment needs a variable of the same shape', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const plain = tf.tensor([1, 2]).send(bob);
  plain.assignSub(1);
  const v = tf.variable(tf.tensor([1, 2])).send(bob);
  v.assign(tf.tensor([1, 2, 3]).send(bob));
  await sim.settle();
  t.regex(sim.remoteErrors[0].message, /assignSub failed on bob \(result 1\): object 1 is a plain tensor, and tensors are immutable; send a tf\.variable/);
  t.regex(sim.remoteErrors[1].message, /assign failed on bob \(result 3\): shape of the new value \(3\) and previous value \(2\) must match/);
  t.deepEqual((await v.get()).arraySync(), [1, 2], 'the variable is unchanged');
});

test('sending to a worker of another simulation is refused', (t) => {
  const sim = simulation();
  const other = simulation().worker('bob');
  sim.worker('bob');
  const mine = tf.tensor([1]).send(sim.workerOf('bob'));
  t.throws(() => mine.move(other), { message: /move: bob is not a worker of this simulation/ });
  t.throws(() => sim.me.send(tf.tensor([1]), other), { message: /bob is not a worker of this simulation \(seed 7\); create workers with this simulation's sim\.worker\(\)/ });
});

// ── the worker protocol, with raw messages ──────────────────────────────────

test('an unknown op gets an UnknownOpError reply and leaves the store unchanged', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  tf.tensor([1, 2]).send(bob);
  await sim.settle();
  const before = snapshot(sim, 'bob');
  const error = await t.throwsAsync(sim.request('bob', 'command', { op: 'launchMissiles', args: [{ ref: '1' }], resultIds: ['9'] }), { instanceOf: RemoteError });
  t.is(error.remoteName, 'UnknownOpError');
  t.regex(error.message, /bob has no op 'launchMissiles'\. Remote ops are tfjs op names from fedsim's allow-list/);
  t.deepEqual(snapshot(sim, 'bob').filter(([id]) => id !== '9'), before);
  t.regex(String(sim.inspect(bob).objects.get('9')), /UnknownOpError/, 'the result id holds the failure, for dependents');
  // Names that exist on tf or on Object.prototype are not ops either.
  for (const op of ['setBackend', 'constructor', '__proto__', 'dispose']) {
    await t.throwsAsync(sim.request('bob', 'command', { op, args: [], resultIds: [] }), { message: /has no op/ });
  }
});

test('wrong arity and wrong result counts get an InvalidMessageError reply', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  tf.tensor([1, 2]).send(bob);
  await sim.settle();
  const cases: Array<[unknown, RegExp]> = [
    [{ op: 'add', args: [{ ref: '1' }], resultIds: ['5'] }, /add takes 2 argument\(s\), got 1/],
    [{ op: 'sum', args: [{ ref: '1' }, 0, true, 4], resultIds: ['5'] }, /sum takes 1 to 3 argument\(s\), got 4/],
    [{ op: 'neg', args: [{ ref: '1' }], resultIds: ['5', '6'] }, /neg produces 1 result\(s\), but the command names 2 result id\(s\)/],
    [{ op: 'split', args: [{ ref: '1' }, 2], resultIds: ['5', '5'] }, /result ids repeat/],
  ];
  for (const [payload, message] of cases) {
    const before = snapshot(sim, 'bob').length;
    await t.throwsAsync(sim.request('bob', 'command', payload), { instanceOf: RemoteError, message });
    t.true(snapshot(sim, 'bob').length <= before + 2, 'at most the failure placeholders were added');
  }
});

test('malformed envelopes get error replies and the worker keeps serving', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  await sim.settle();
  const before = snapshot(sim, 'bob');
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['teleport', {}, 'UnknownMessageTypeError', /bob does not understand messages of type 'teleport'/],
    ['command', 'add', 'InvalidMessageError', /bob rejected a 'command' message: \(payload\): /],
    ['command', { op: 'add', args: [{ ref: 'x y' }], resultIds: ['5'] }, 'InvalidMessageError', /args\.0/],
    ['object', { id: '9', value: { kind: 'tensor', tensor: [1, 2] } }, 'InvalidMessageError', /value\.tensor: a live tf\.Tensor/],
    ['delete', { ids: [] }, 'InvalidMessageError', /ids/],
    ['objectRequest', null, 'InvalidMessageError', /rejected a 'objectRequest' message/],
    ['command', { op: 'add', args: [NaN], resultIds: ['5'] }, 'InvalidMessageError', /args\.0/],
    ['move', { id: '1', to: 'nobody' }, 'InvalidMessageError', /there is no worker 'nobody' to move object 1 to/],
  ];
  for (const [type, payload, name, message] of cases) {
    const error = await t.throwsAsync(sim.request('bob', type, payload), { instanceOf: RemoteError });
    t.is(error.remoteName, name, type);
    t.regex(error.message, message);
    t.regex(error.message, /Nothing was changed|nothing was changed/);
    t.deepEqual(snapshot(sim, 'bob'), before, `${type} left the store unchanged`);
  }
  t.deepEqual((await x.mul(10).get()).arraySync(), [10, 20], 'bob still serves');
});

test('storing under an id that is taken is an ObjectExistsError', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1]).send(bob);
  await sim.settle();
  const error = await t.throwsAsync(sim.request('bob', 'command', { op: 'neg', args: [{ ref: x.idAtLocation }], resultIds: [x.idAtLocation] }), { instanceOf: RemoteError });
  t.is(error.remoteName, 'ObjectExistsError');
  t.regex(error.message, /bob already holds an object 1, so neg cannot store another under that id; nothing was changed/);
  t.deepEqual((await x.get()).arraySync(), [1]);
});

test('a raw op on a pointer record is a NotATensorError', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const chain: PointerTensor<any> = tf.tensor([1]).send(bob).send(alice);
  await sim.settle();
  const error = await t.throwsAsync(sim.request('alice', 'command', { op: 'neg', args: [{ ref: chain.idAtLocation }], resultIds: ['99'] }), { instanceOf: RemoteError });
  t.is(error.remoteName, 'NotATensorError');
  t.regex(error.message, /neg needs a tensor, but object 3 on alice is a pointer to bob:1 \(a pointer chain\).*remoteGet\(\)/);
});
