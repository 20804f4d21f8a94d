/**
 * Fixed precision and additive sharing in the pointer layer (PySyft 0.2's
 * `x.fix_precision().share(bob, alice, crypto_provider=james)`): encoding, sharing from
 * here and from a worker, share-wise ops, Beaver mul / matMul with a crypto provider,
 * truncation, get(); PySyft's errors; who sees what in the event log; wire sizes; strict
 * mode; determinism; shares that arrive after the commands that use them.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { AdditiveSharingTensor, FixedPrecisionTensor, PointerStateError, RemoteError, type SimEvent, type Simulation } from '../src/index.js';
import { RingTensor, engineOf, type VirtualWorkerContext } from '../src/actors/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const close = (actual: tf.Tensor, expected: number[] | number[][], tolerance: number) => {
  const a = (actual.arraySync() as number[] | number[][]).flat();
  const e = expected.flat();
  return a.length === e.length && a.every((v, i) => Math.abs(v - e[i]) <= tolerance);
};
const values = (t: tf.Tensor) => (t.arraySync() as number[] | number[][]).flat();
const sent = (sim: Simulation) => sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent');

function world(options: Parameters<typeof simulation>[0] = {}) {
  const sim = simulation(options);
  return { sim, bob: sim.worker('bob'), alice: sim.worker('alice'), carol: sim.worker('carol'), james: sim.worker('james') };
}

test('fixPrecision() encodes round(x · 10^3) in Z_2^64 and floatPrecision() decodes it; options change the scale', (t) => {
  const x = tf.tensor([0.1, -0.2, 3.14159, -1000]);
  const fp = x.fixPrecision();
  t.true(fp instanceof FixedPrecisionTensor);
  t.deepEqual([fp.base, fp.precisionFractional], [10, 3]);
  t.deepEqual(Array.from(fp.values, (v) => BigInt.asIntN(64, v)), [100n, -200n, 3142n, -1000000n]);
  t.true(close(fp.floatPrecision(), [0.1, -0.2, 3.142, -1000], 1e-6));
  const fine = x.fixPrecision({ base: 2, precisionFractional: 16 });
  t.true(close(fine.floatPrecision(), values(x), 0.5 / 2 ** 16 + 1e-4));
  t.throws(() => tf.tensor([1], [1], 'bool').fixPrecision(), { message: /only float32 and int32/ });
  t.throws(() => x.fixPrecision({ precisionFractional: -1 }), { message: /precisionFractional/ });
});

test('share() among owners: each holds one share that looks random; get() adds them up and the owners forget them', async (t) => {
  const { sim, bob, alice, james } = world();
  const x = tf.tensor([0.5, -1.25, 2]).fixPrecision().share(bob, alice, { cryptoProvider: james });
  t.true(x instanceof AdditiveSharingTensor);
  t.is(String(x), `[AdditiveSharingTensor]\n\t-> [PointerTensor | me:${x.id} -> bob:${x.id}]\n\t-> [PointerTensor | me:${x.id} -> alice:${x.id}]\n\t*crypto provider: james*`);
  await sim.settle();
  const shares = [bob, alice].map((w) => sim.inspect(w).objects.get(x.id));
  t.true(shares.every((s) => s instanceof RingTensor));
  const encoded = [500n, -1250n, 2000n];
  for (const share of shares as RingTensor[]) t.notDeepEqual(Array.from(share.values, (v) => BigInt.asIntN(64, v)), encoded, 'a share is not the value');
  t.deepEqual(
    Array.from((shares[0] as RingTensor).values, (v, i) => BigInt.asIntN(64, v + (shares[1] as RingTensor).values[i])),
    encoded,
    'the shares add up to the value mod 2^64',
  );
  t.regex(sim.inspect(bob).format(), /^\{\d+: tensor\(\[-?\d+, -?\d+, -?\d+\]\)\}$/, 'shares print as int64 tensors, as in PySyft');
  const back = await x.get();
  t.true(close(back.floatPrecision(), [0.5, -1.25, 2], 1e-6));
  await sim.settle();
  t.is(sim.inspect(bob).objects.size + sim.inspect(alice).objects.size, 0);
  t.throws(() => x.add(x), { instanceOf: PointerStateError, message: /fetched with get\(\)/ });
});

test('share-wise ops: add, sub (shared and public), neg, scalar mul — exact up to the encoding', async (t) => {
  const { bob, alice, carol } = world();
  const x = tf.tensor([1.5, -2, 0.25]).fixPrecision().share(bob, alice, carol);
  const y = tf.tensor([0.5, 3, -1]).fixPrecision().share(bob, alice, carol);
  const results = await Promise.all([x.add(y).get(), x.sub(y).get(), x.neg().get(), x.add(1).get(), x.sub(tf.tensor([1, 1, 1])).get(), x.mul(3).get(), x.mul(-2).add(y).get()]);
  const expected = [[2, 1, -0.75], [1, -5, 1.25], [-1.5, 2, -0.25], [2.5, -1, 1.25], [0.5, -3, -0.75], [4.5, -6, 0.75], [-2.5, 7, -1.5]];
  results.forEach((r, i) => t.true(close(r.floatPrecision(), expected[i], 1e-6), `op ${i}: ${values(r.floatPrecision())}`));
});

test('integer shares (an int32 tensor shared as it is): add and integer mul; get() gives an int32 tensor', async (t) => {
  const { bob, alice } = world();
  const x = tf.tensor([1, -2, 300], [3], 'int32').share(bob, alice);
  const z = await x.add(x).mul(-7).add(5).get();
  t.is(z.dtype, 'int32');
  t.deepEqual(values(z), [-9, 33, -4195]);
});

test('mul and matMul of shared values with Beaver triples from the crypto provider, and fixed-point truncation', async (t) => {
  const { sim, bob, alice, carol, james } = world();
  const x = tf.tensor([0.1, 0.2, -0.3, 4]).fixPrecision().share(bob, alice, carol, { cryptoProvider: james });
  const y = tf.tensor([1.5, -2, 3, 0.25]).fixPrecision().share(bob, alice, carol, { cryptoProvider: james });
  const a = tf.tensor([[1, 2], [3, 4], [-1, 0.5]]).fixPrecision().share(bob, alice, carol, { cryptoProvider: james });
  const b = tf.tensor([[0.5, -1], [2, 0.25]]).fixPrecision().share(bob, alice, carol, { cryptoProvider: james });
  const [product, matrix, halved, square] = await Promise.all([x.mul(y).get(), a.matMul(b).get(), x.mul(0.5).get(), x.mul(x).get()]);
  // beaver.ts: |z − x·y| ≤ 2/S + (|x| + |y|)/(2S) + 1/(4S²) for the truncated product.
  const bound = (p: number, q: number) => 2 / 1000 + (Math.abs(p) + Math.abs(q)) / 2000 + 1e-6;
  const xs = [0.1, 0.2, -0.3, 4];
  const ys = [1.5, -2, 3, 0.25];
  values(product.floatPrecision()).forEach((v, i) => t.true(Math.abs(v - xs[i] * ys[i]) <= bound(xs[i], ys[i]), `x·y[${i}] = ${v}`));
  t.true(close(matrix.floatPrecision(), [[4.5, -0.5], [9.5, -2], [0.5, 1.125]], 0.02), `${values(matrix.floatPrecision())}`);
  t.deepEqual(matrix.shape, [3, 2]);
  t.true(close(halved.floatPrecision(), [0.05, 0.1, -0.15, 2], 0.0021));
  t.true(close(square.floatPrecision(), xs.map((v) => v * v), 0.01));
  await sim.settle();
  t.deepEqual(sim.remoteErrors, []);
  // The crypto provider only ever received deal commands: no share, no opening.
  t.deepEqual([...new Set(sent(sim).filter((e) => e.to === 'james').map((e) => e.type))], ['smpc']);
  // Openings travel between owners only; `me` never sees one.
  const opens = sent(sim).filter((e) => e.type === 'smpc/open');
  t.true(opens.length > 0 && opens.every((e) => ['bob', 'alice', 'carol'].includes(e.from) && ['bob', 'alice', 'carol'].includes(e.to)));
  t.true(sent(sim).filter((e) => e.to === 'me').every((e) => e.type === 'reply'));
});

test('two owners without a crypto provider: a real scalar uses PySyft 0.2\'s local truncation', async (t) => {
  const { bob, alice } = world();
  const x = tf.tensor([1.5, -2.25]).fixPrecision().share(bob, alice);
  t.true(close((await x.mul(0.5).get()).floatPrecision(), [0.75, -1.125], 0.002));
});

test('PySyft\'s errors: a float tensor without fixed precision, fewer than two owners, mul without a crypto provider', async (t) => {
  const { bob, alice, carol, james } = world();
  t.throws(() => tf.tensor([1.5]).share(bob, alice), { instanceOf: TypeError, message: /float tensor cannot be shared.*fixPrecision\(\)\.share/ });
  t.throws(() => tf.tensor([1.5]).send(bob).share(alice, carol), { instanceOf: TypeError, message: /float32 tensor.*ptr\.fixPrecision\(\)\.share/ });
  t.throws(() => tf.tensor([1.5]).fixPrecision().share(bob), { message: /at least two owners, got 1 \(bob\)/ });
  t.throws(() => tf.tensor([1.5]).fixPrecision().share(), { message: /at least two owners, got 0/ });
  const x = tf.tensor([1.5]).fixPrecision().share(bob, alice);
  t.throws(() => x.mul(x), { message: /needs Beaver triples from a crypto provider.*cryptoProvider: james/ });
  t.throws(() => x.matMul(x), { message: /matMul: cannot multiply shapes/ });
  const three = tf.tensor([1.5]).fixPrecision().share(bob, alice, carol);
  t.throws(() => three.mul(0.5), { message: /needs a crypto provider/ });
  t.throws(() => tf.tensor([1.5]).fixPrecision().share(bob, james, { cryptoProvider: james }), { message: /crypto provider james is also an owner/ });
  const y = tf.tensor([1, 2]).fixPrecision().share(bob, alice, { cryptoProvider: james });
  t.throws(() => x.add(y), { message: /shapes \[1\] and \[2\] differ/ });
  const other = tf.tensor([1]).fixPrecision().share(bob, carol, { cryptoProvider: james });
  t.throws(() => x.mul(other), { message: /shared among different workers/ });
  const ints = tf.tensor([1], [1], 'int32').share(bob, alice);
  t.throws(() => ints.mul(0.5), { message: /integers, which can be multiplied by integers only/ });
  t.throws(() => x.add(tf.tensor([1], [1], 'int32').share(bob, alice) as never), { message: /different fixed-point scales/ });
});

test('a worker that cannot share (a float tensor whose dtype is not known here) makes the dependents fail with the cause', async (t) => {
  const { sim, bob, alice, carol } = world();
  const ptr = tf.tensor([1.5, 2.5]).send(bob).mul(2); // an op result: dtype unknown here
  await ptr.getShape(); // shape known, dtype too after this — forget the dtype to force the worker-side check
  ptr.dtype = undefined;
  const shared = ptr.share(alice, carol);
  const sum = shared.add(shared);
  const error = await t.throwsAsync(sum.get());
  t.true(error instanceof RemoteError);
  t.is((error as RemoteError).remoteName, 'ShareError');
  t.regex(error!.message, /float32 tensor, and additive shares are integers.*fixPrecision\(\)\.share/);
  await sim.settle();
  t.true(sim.remoteErrors.some((e) => e.remoteName === 'ShareError' && e.actor === 'bob'));
});

test('a worker shares its own tensor: the shares go from it to the owners, never through me', async (t) => {
  const { sim, bob, alice, carol } = world();
  const w = tf.tensor([0.25, -0.5, 0.125]).send(bob);
  const shared = w.fixPrecision().share(alice, carol);
  const remote = w.fixPrecision({ precisionFractional: 5 }).floatPrecision();
  t.true(close(await remote.get(), [0.25, -0.5, 0.125], 1e-6));
  t.true(close((await shared.get()).floatPrecision(), [0.25, -0.5, 0.125], 1e-6));
  const shareMessages = sent(sim).filter((e) => e.type === 'smpc/share');
  t.deepEqual(shareMessages.map((e) => `${e.from}→${e.to}`), ['bob→alice', 'bob→carol']);
  // The integer form: bob shares an int32 tensor it holds.
  const ints = tf.tensor([4, -5], [2], 'int32').send(bob).share(alice, carol);
  t.deepEqual(values(await ints.get()), [4, -5]);
});

test('shares travel as 8 bytes per element, and strict mode (encode/decode every message) gives the same results', async (t) => {
  const sizeOf = async (n: number) => {
    const { sim, bob, alice } = world();
    tf.tensor(Array.from({ length: n }, (_, i) => i / 7)).fixPrecision().share(bob, alice);
    await sim.settle();
    return sent(sim).find((e) => e.type === 'smpc/share')!.envelope.bytes!;
  };
  const [small, large] = [await sizeOf(10), await sizeOf(110)];
  // 8 bytes per added element; the length itself is written twice (the payload's shape and the frame's slot).
  t.is(large - small, 8 * 100 + 2 * (String(110).length - String(10).length));

  const run = async (strict: boolean) => {
    const { sim, bob, alice, carol, james } = world({ strict });
    const x = tf.tensor([[0.5, -1], [2, 0.25]]).fixPrecision().share(bob, alice, carol, { cryptoProvider: james });
    const z = await x.matMul(x).add(x).mul(0.5).get();
    await sim.settle();
    return { z: values(z.floatPrecision()), log: sim.log.toJSONL() };
  };
  const loose = await run(false);
  const strict = await run(true);
  t.deepEqual(strict.z, loose.z);
  t.is(strict.log, loose.log, 'strict mode changes nothing in the log');
});

test('one seed gives one log and one result; shares that arrive after the commands using them (delays across channels) still add up', async (t) => {
  const run = async (seed: number) => {
    // Delays reorder messages across channels (bob → alice's share vs me → alice's combine); each channel stays FIFO.
    const { sim, bob, alice, carol, james } = world({ seed, faults: { delay: { rate: 0.5, dist: { kind: 'uniform', min: 0, max: 50 } } } });
    const models = [bob, alice, carol].map((w, i) => tf.tensor([i + 0.5, -i]).send(w));
    const asts = models.map((m, i) => m.fixPrecision().share(...[bob, alice, carol].filter((_, j) => j !== i), { cryptoProvider: james }));
    const total = AdditiveSharingTensor.sum(asts);
    const squared = total.mul(total);
    // Count the tasks left waiting right after each SMPC delivery.
    let waited = 0;
    const watch = sim.delivered$.subscribe((e) => {
      if (e.type.startsWith('smpc')) waited += [bob, alice, carol].reduce((n, w) => n + engineOf((sim.actor(w.id).snapshot().context as VirtualWorkerContext).worker).waiting, 0);
    });
    const [sum, square] = await Promise.all([total.get(), squared.get()]);
    await sim.settle();
    watch.unsubscribe();
    return { sum: values(sum.floatPrecision()), square: values(square.floatPrecision()), log: sim.log.toJSONL(), errors: sim.remoteErrors.length, waited };
  };
  const a = await run(3);
  t.deepEqual(a.sum, [4.5, -3]);
  t.true(Math.abs(a.square[0] - 20.25) < 0.01 && Math.abs(a.square[1] - 9) < 0.01);
  t.is(a.errors, 0);
  t.true(a.waited > 0, 'some work had to wait for a share, triple or opening');
  const b = await run(3);
  t.is(b.log, a.log);
  const c = await run(4);
  t.not(c.log, a.log);
  t.deepEqual(c.sum, a.sum);
});

test('disposing operands right after an op (tidy style) waits until the waiting op has read them', async (t) => {
  // The crypto provider's triples arrive late, so the Beaver tasks wait while the deletes arrive.
  const slowDealer = { links: [{ from: 'james', to: '*', delay: { rate: 1, dist: { kind: 'fixed' as const, ms: 100 } } }] };
  const { sim, bob, alice, james } = world({ faults: slowDealer });
  const x = tf.tensor([1.5, -2]).fixPrecision().share(bob, alice, { cryptoProvider: james });
  const y = tf.tensor([2, 0.5]).fixPrecision().share(bob, alice, { cryptoProvider: james });
  const z = x.mul(y);
  x.dispose();
  y.dispose();
  await sim.runFor(50);
  t.true(sim.inspect(bob).objects.has(x.id) && sim.inspect(bob).objects.has(y.id), 'the deletes wait for the multiplication');
  t.true(close((await z.get()).floatPrecision(), [3, -1], 0.005));
  await sim.settle();
  t.is(sim.inspect(bob).objects.size + sim.inspect(alice).objects.size, 0, 'then the operands are deleted, and get() took the product');
  t.deepEqual(sim.remoteErrors, []);
});
