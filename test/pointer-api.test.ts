/**
 * The rest of the pointer API: workers and their printouts, hook(tf) and me.send,
 * shapes, copy, tags and search, the rt namespace, multi-pointer ops, verbose and
 * message history.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { hook, MultiPointerTensor, PointerTensor, rt, TensorsNotCollocatedError } from '../src/index.js';
import { ready, rounded, simulation } from './helpers/pointers.js';

test.before(ready);

test('workers print as PySyft did, and sim.me is the local client worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  t.is(String(bob), '<VirtualWorker id:bob #objects:0>');
  t.is(String(sim.me), '<VirtualWorker id:me #objects:0>');
  t.true(sim.me.isClient);
  t.is(sim.driver.id, 'me');
  t.is(sim.workerOf('bob'), bob);
  t.is(sim.workerOf('me'), sim.me);
  t.deepEqual(sim.workers, [bob]);
  const x = sim.me.send(tf.tensor([1, 2]), bob) as PointerTensor;
  await sim.settle();
  t.is(String(bob), '<VirtualWorker id:bob #objects:1>');
  t.is(sim.inspect(bob).format(), '{1: tensor([1, 2])}');
  t.is(x.owner, sim.me);
  t.is(String(sim.me), '<VirtualWorker id:me #objects:0>', 'me stores nothing: it holds pointers');
  await bob.clearObjects();
  t.is(sim.inspect(bob).objects.size, 0);
});

test('hook(tf) installs send() once per process; a foreign send() is not overwritten', (t) => {
  t.notThrows(() => hook(tf));
  t.notThrows(() => hook(tf));
  const descriptor = Object.getOwnPropertyDescriptor(tf.Tensor.prototype, 'send');
  t.false(descriptor?.enumerable);
  const fake = { Tensor: class {} } as unknown as typeof tf;
  (fake.Tensor.prototype as unknown as { send: () => void }).send = () => {};
  t.throws(() => hook(fake), { message: /already has a different `send` method/ });
  t.throws(() => (tf.tensor([1]) as unknown as { send: () => void }).send(), { message: /name a worker to send to/ });
});

test('pointers know shape and dtype from send; op results fetch them by message', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([[1, 2, 3]], undefined, 'int32').send(bob);
  t.deepEqual(x.shape, [1, 3]);
  t.is(x.dtype, 'int32');
  const y = rt.transpose(x);
  t.is(y.shape, undefined);
  const requests = sim.log.events.filter((e) => e.ev === 'sent' && e.type === 'getShape').length;
  t.deepEqual(await y.getShape(), [3, 1]);
  t.is(y.dtype, 'int32');
  t.deepEqual(await y.getShape(), [3, 1]);
  t.is(sim.log.events.filter((e) => e.ev === 'sent' && e.type === 'getShape').length, requests + 1, 'asked once, then known');
});

test('copy() makes a new remote object with a new id; get() of the copy leaves the original', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([5, 6]).send(bob);
  const copy = x.copy();
  t.not(copy.idAtLocation, x.idAtLocation);
  t.not(copy.id, x.id);
  t.deepEqual((await copy.get()).arraySync(), [5, 6]);
  await sim.settle();
  t.deepEqual([...sim.inspect(bob).objects.keys()], [x.idAtLocation]);
});

test('tags, descriptions and search: search returns pointers to the matching objects', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  tf.tensor([1, 2]).send(bob).tag('#fashion', '#train').describe('images, train split');
  tf.tensor([3]).send(bob, { tags: ['#fashion', '#test'], description: 'images, test split' });
  tf.tensor([4]).send(bob).tag('#text');
  const fashion = await bob.search('#fashion');
  t.deepEqual(fashion.map((p) => p.idAtLocation), ['1', '3']);
  t.true(fashion.every((p) => p instanceof PointerTensor && p.location === bob && !p.owned));
  t.deepEqual(fashion[0].shape, [2]);
  t.deepEqual((await bob.search('#fashion', '#test')).map((p) => p.idAtLocation), ['3']);
  t.deepEqual(await bob.search('#nothing'), []);
  t.is((await bob.search()).length, 3, 'an empty query lists everything');
  t.deepEqual((await fashion[1].get()).arraySync(), [3], 'a search pointer can fetch');
});

test('rt runs any catalogued tfjs op remotely — and locally when no argument is a pointer', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const a = tf.tensor([[1, 2], [3, 4]]).send(bob);
  const b = tf.tensor([[10, 20], [30, 40]]).send(bob);
  t.deepEqual((await rt.concat([a, b], 0).get()).arraySync(), [[1, 2], [3, 4], [10, 20], [30, 40]]);
  t.deepEqual((await rt.where(rt.greater(a, 2), a, b).get()).arraySync(), [[10, 20], [3, 4]]);
  t.deepEqual((await rt.sum(a, 1, true).get()).arraySync(), [[3], [7]]);
  t.deepEqual(rounded(await rt.softmax(rt.cast(a, 'float32')).get(), 3), [[0.269, 0.731], [0.269, 0.731]]);
  const [left, right] = rt.split(a, 2, 1);
  t.deepEqual((await left.get()).arraySync(), [[1], [3]]);
  t.deepEqual((await right.get()).arraySync(), [[2], [4]]);
  const local = rt.add(tf.tensor([1]), 1);
  t.true(local instanceof tf.Tensor, 'no pointer among the arguments: a local tfjs op');
  t.deepEqual((local as tf.Tensor).arraySync(), [2]);
  t.throws(() => rt.add(a, Number.NaN), { instanceOf: TypeError, message: /add: argument 2 is NaN; only finite numbers can be sent as literals/ });
  t.throws(() => rt.add(a, new Float32Array(2) as unknown as number), { instanceOf: TypeError, message: /typed arrays are data/ });
});

test('multi-pointers run ops on every worker, with literals or with multi-pointers on the same workers', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const carol = sim.worker('carol');
  const x = tf.tensor([1, 2]).send(bob, alice);
  const y = tf.tensor([10, 20]).send(bob, alice);
  t.true(x instanceof MultiPointerTensor);
  const z = x.mul(y).add(1);
  t.true(z instanceof MultiPointerTensor);
  t.deepEqual([...z.children.keys()], ['bob', 'alice']);
  t.deepEqual((await z.get({ sumResults: true })).arraySync(), [22, 82]);
  const other = tf.tensor([1, 2]).send(bob, carol);
  t.throws(() => x.add(other), { instanceOf: TensorsNotCollocatedError, message: /do not span the same workers/ });
  const single = tf.tensor([1, 2]).send(bob);
  t.throws(() => x.add(single), { instanceOf: TensorsNotCollocatedError, message: /lives on one worker, but the multi-pointer argument spans \[bob, alice\]/ });
  x.dispose();
  await sim.settle();
  t.false(sim.inspect(bob).objects.has(x.children.get('bob')!.idAtLocation));
});

test('verbose workers print what they receive; logMsgs keeps the history', async (t) => {
  const lines: string[] = [];
  const sim = simulation();
  const bob = sim.worker('bob', { verbose: true, logMsgs: true, print: (line) => lines.push(line) });
  const x = tf.tensor([1]).send(bob);
  (await x.add(x).get()).dispose();
  t.deepEqual(lines, ['bob received object', 'bob received command add', 'bob received objectRequest']);
  t.deepEqual(bob.msgHistory.map((m) => [m.from, m.type]), [['me', 'object'], ['me', 'command'], ['me', 'objectRequest']]);
});

test('pointers print as [PointerTensor | me:ID -> bob:ID], chains as the worker holding them', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1]).send(bob);
  t.is(String(x), '[PointerTensor | me:2 -> bob:1]');
  const chain = x.send(alice);
  t.is(String(chain), '[PointerTensor | me:4 -> alice:3]');
  await sim.settle();
  t.is(String(sim.inspect(alice).objects.get('3')), '[PointerTensor | alice:3 -> bob:1]');
  t.true(chain.pointsToPointer);
});
