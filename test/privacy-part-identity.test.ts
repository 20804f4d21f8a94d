/**
 * Issue #12, found by an adversarial trial after the first fixes: four ways a private value
 * still left bob without the release policy seeing it, each closed in its mechanism.
 *
 *  1. Cancellation by name. The label used to add up weights per *contributor*, so any two
 *     values of bob's with opposite weights cancelled: `x − x·0` (a new value, 0, still
 *     "bob ×1"), `x − trunc(x)` whose ring value wraps, the difference of two tensors bob
 *     loaded. bob vanished from the label while his value stayed in the sum. Now a part is
 *     one value (label.ts: part ids minted by the worker); only the same value cancels.
 *  2. Optimiser state. A step folded the old momentum / Adam moments into the new ones but
 *     labelled them with the current gradient only: after bind() to fresh public parameters,
 *     one public step made 0.5·secret readable.
 *  3. A failure oracle. int32 `mod` traps on a zero divisor in wasm, so whether `mod(1, z)`
 *     failed said whether a private z held a zero: a binary search recovered every value.
 *  4. (with 1) The trunc wrap-around: a local truncation's label weight s/d is not its ring value.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { AdditiveSharingTensor, GetNotPermittedError, RemoteAdam, RemoteSGD, rt, Simulation, TENSOR_OPS, type VirtualWorker } from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const SECRET = [4817.263, -12.5];

function federation(seed = 7) {
  const sim = simulation({ seed, policies: { release: { aggregate: { minContributors: 2 } } } });
  const [bob, alice, carol, dave, erin, james] = ['bob', 'alice', 'carol', 'dave', 'erin', 'james'].map((id) => sim.worker(id));
  const load = (w: VirtualWorker, values: number[]) => w.load(tf.tensor(values), { allowedUsers: [w.id] });
  const x = load(bob, SECRET);
  const y = load(alice, [0.25, 4]);
  const z = load(carol, [-1, 0.5]);
  const share = (p: ReturnType<typeof load>) => p.fixPrecision().share(dave, erin, { cryptoProvider: james });
  return { sim, bob, alice, carol, dave, erin, james, x, y, z, share, load };
}

/** `make(p)`, once its shape is known here (a remote op's result must be before it is shared). */
const known =
  <P extends { getShape(): PromiseLike<unknown> }>(make: (p: P) => P) =>
  async (p: P): Promise<P> => {
    const result = make(p);
    await result.getShape();
    return result;
  };

const releases = (sim: Simulation) => sim.log.events.filter((e) => e.ev === 'mark' && e.label === 'release').length;

async function refused(t: import('ava').ExecutionContext, sim: Simulation, sum: AdditiveSharingTensor, what: string): Promise<void> {
  const before = releases(sim);
  const error = await t.throwsAsync(Promise.resolve(sum.get()), { instanceOf: GetNotPermittedError }, what);
  t.regex(error!.message, /different weights|fewer than|not a sum/, `${what}: refused by the policy, saying why`);
  t.is(releases(sim), before, `${what}: nothing released`);
}

test('a new value of bob\'s never cancels his data: x − x·0 (before sharing, and by a Beaver product with a shared public 0), x − x2 (another tensor bob loaded)', async (t) => {
  const { sim, x, y, z, share, load, bob, dave, erin, james } = federation();
  const zeroShared = () => (tf.tensor([0, 0], undefined, 'int32') as unknown as { share(...a: unknown[]): AdditiveSharingTensor }).share(dave, erin, { cryptoProvider: james });
  const others = () => [share(y), share(z)];
  const [x0, y0, z0] = await Promise.all([x, y, z].map(known((p) => p.mul(0))));
  await refused(t, sim, AdditiveSharingTensor.sum([share(x).sub(share(x0)), share(y0), share(z0)]), 'x − x·0 computed by bob before sharing');
  await refused(t, sim, AdditiveSharingTensor.sum([share(x).sub(share(x).mul(zeroShared())), share(y).mul(zeroShared()), share(z).mul(zeroShared())]), 'x − x·0 by a Beaver product');
  await refused(t, sim, AdditiveSharingTensor.sum([share(x).sub(share(load(bob, [0, 0]))), ...others()]), 'x − x2, two tensors bob loaded');
  // What stays allowed: the same value cancels itself, and an honest aggregate is released.
  const sx = share(x);
  const honest = AdditiveSharingTensor.sum([sx.add(sx).sub(sx), ...others()]);
  const released = (await honest.get()).floatPrecision().arraySync() as number[];
  t.deepEqual(released.map((v) => Math.round(v * 1000) / 1000), [4816.513, -8], 'x + x − x (one value) + y + z is an aggregate of three');
});

test('raw smpc commands: a truncation and a fixed-precision encoding are new values — x − trunc(2⁶²·x / 2⁶²) (its ring value wraps to ≈0) and 1000·[x]₃ − [x]₆ keep bob in the label and are refused', async (t) => {
  const { sim, x, y, z, share, dave, erin } = federation();
  const owners = ['dave', 'erin'];
  const [sx, sy, sz] = [share(x), share(y), share(z)];
  await sim.settle();
  const scalar = (2n ** 62n).toString();
  const truncate = (source: string) => {
    const id = sim.nextId();
    for (const o of owners) sim.tell(o, 'smpc', { op: 'truncateLocal', source, scalar, divisor: scalar, resultId: id });
    return id;
  };
  const combine = (terms: Array<{ id: string; sign: 1 | -1 }>) => {
    const id = sim.nextId();
    for (const o of owners) sim.tell(o, 'smpc', { op: 'combine', terms, resultId: id });
    return id;
  };
  const refusedByEveryOwner = async (id: string, what: string) => {
    for (const o of owners) {
      const error = await t.throwsAsync(sim.ask(o, 'smpc/get', { id }), undefined, what);
      t.regex(error!.message, /different weights/, `${what} (${o})`);
    }
  };
  await refusedByEveryOwner(combine([{ id: sx.id, sign: 1 }, { id: truncate(sx.id), sign: -1 }, { id: truncate(sy.id), sign: 1 }, { id: truncate(sz.id), sign: 1 }]), 'x − T(x) + T(y) + T(z)');
  // Two encodings of x (raw commands: the pointer API refuses to mix scales): 1000·[x]₃ − [x]₆ is no multiple of x.
  const x6 = x.fixPrecision({ precisionFractional: 6 }).share(dave, erin);
  await sim.settle();
  const scaled = sim.nextId();
  for (const o of owners) sim.tell(o, 'smpc', { op: 'affine', source: sx.id, scalar: '1000', resultId: scaled });
  await refusedByEveryOwner(combine([{ id: scaled, sign: 1 }, { id: x6.id, sign: -1 }, { id: sy.id, sign: 1 }, { id: sz.id, sign: 1 }]), '1000·[x]₃ − [x]₆ + y + z');
  t.is(releases(sim), 0);
  // The honest use of a truncation — an aggregate scaled down — is still an aggregate.
  const mean = combine([{ id: truncate(sx.id), sign: 1 }, { id: truncate(sy.id), sign: 1 }, { id: truncate(sz.id), sign: 1 }]);
  for (const o of owners) await t.notThrowsAsync(sim.ask(o, 'smpc/get', { id: mean }), o);
});

for (const [name, make] of [
  ['SGD with momentum', (params: never[]) => new RemoteSGD(params, { lr: 1, momentum: 0.5 })],
  ['Adam', (params: never[]) => new RemoteAdam(params, { lr: 1 })],
] as const) {
  test(`${name}: the optimiser's state keeps the label of every gradient it folded in, after bind() to public parameters and a public step`, async (t) => {
    const sim = simulation();
    const bob = sim.worker('bob');
    const secret = bob.load(tf.tensor([4817.263, -12.5, 7]), { allowedUsers: ['bob'] });
    const w1 = tf.variable(tf.zeros([3])).send(bob);
    const optimizer = make([w1 as never]);
    await w1.mul(secret).sum().backward(); // the gradient is the secret
    optimizer.step();
    const w2 = tf.variable(tf.zeros([3])).send(bob);
    optimizer.bind([w2 as never]);
    await w2.mul(0).sum().backward(); // a public, zero gradient
    optimizer.step();
    const state = await bob.search('#optimizer-state');
    t.true(state.length > 0);
    for (const held of state) await t.throwsAsync(Promise.resolve(held.get()), { instanceOf: GetNotPermittedError }, `state ${held.idAtLocation}`);
    await t.throwsAsync(Promise.resolve(w2.get()), { instanceOf: GetNotPermittedError }, 'the public parameters after a step with private momentum');
    // An optimiser that only ever saw public gradients keeps everything public.
    const w3 = tf.variable(tf.zeros([3])).send(bob);
    const publicOptimizer = make([w3 as never]);
    await w3.mul(tf.tensor([1, 2, 3]).send(bob)).sum().backward();
    publicOptimizer.step();
    await t.notThrowsAsync(Promise.resolve(w3.get()));
  });
}

test('int32 mod by a private zero does not fail (it gives 0): whether it fails cannot say where the zeros are', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const ints = (values: number[], allowedUsers?: string[]) => bob.load(tf.tensor(values, undefined, 'int32'), allowedUsers ? { allowedUsers } : {});
  const divisor = ints([0, 3, 0, -4], ['bob']);
  const result = ints([7, 7, -7, 7]).mod(divisor);
  await t.notThrowsAsync(result.getShape(), 'a private divisor with zeros');
  const value = sim.inspect(bob).objects.get(result.idAtLocation) as tf.Tensor;
  t.deepEqual(value.arraySync(), [0, 1, 0, -1], 'zero where the divisor is 0; floored mod elsewhere, as tfjs gives');
  // Scalar and broadcast divisors, and a private dividend with a public zero divisor.
  await t.notThrowsAsync(ints([5, 6], ['bob']).mod(0).getShape());
  await t.notThrowsAsync(ints([5, 6], ['bob']).mod(ints([0, 0])).getShape());
  await t.notThrowsAsync(ints([[1, 2], [3, 4]] as never, ['bob']).mod(ints([0, 2], ['bob'])).getShape());
  // On public data the kernel's own failure stays, in full: it says nothing private.
  const error = await t.throwsAsync(ints([1]).mod(ints([0])).getShape());
  t.regex(error!.message, /remainder by zero/);
});

test('fuzz: no tensor op fails on some private values and not on others of the same shape and dtype', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const variants: Record<string, Array<() => tf.Tensor>> = {
    float32: [() => tf.tensor([1, 2, 3, 0.5]), () => tf.tensor([NaN, Infinity, -3e38, -1]), () => tf.tensor([0, 0, 0, 0]), () => tf.tensor([-0.5, 1e-30, 7, 2])],
    int32: [() => tf.tensor([0, 1, 2, 1], undefined, 'int32'), () => tf.tensor([-2147483648, 2147483647, -1, 99999], undefined, 'int32'), () => tf.tensor([0, 0, 0, 0], undefined, 'int32')],
  };
  type P = ReturnType<typeof bob.load>;
  const argumentsFor: Record<string, (p: P) => unknown[]> = {
    oneHot: (p) => [p, 3], gather: (p) => [tf.tensor([1, 2, 3, 4]).send(bob), p], reshape: (p) => [p, [2, 2]], slice: (p) => [p, [0], [2]],
    tile: (p) => [p, [2]], pad: (p) => [p, [[1, 1]]], cast: (p) => [p, 'int32'], broadcastTo: (p) => [p, [2, 4]], clipByValue: (p) => [p, 0, 1],
    split: (p) => [p, 2], where: (p) => [p.cast('bool'), p, p], matMul: (p) => [p.reshape([2, 2]), p.reshape([2, 2])], concat: (p) => [[p, p]], stack: (p) => [[p, p]],
    conv1d: (p) => [p.reshape([1, 4, 1]), tf.ones([2, 1, 1]).send(bob), 1, 'valid'], conv2d: (p) => [p.reshape([1, 2, 2, 1]), tf.ones([1, 1, 1, 1]).send(bob), 1, 'valid'],
    maxPool: (p) => [p.reshape([1, 2, 2, 1]), 1, 1, 'valid'], avgPool: (p) => [p.reshape([1, 2, 2, 1]), 1, 1, 'valid'], prelu: (p) => [p, p],
    matrixBandPart: (p) => [p.reshape([2, 2]), 0, 0],
  };
  const binary = new Set(['add', 'sub', 'mul', 'div', 'divNoNan', 'floorDiv', 'mod', 'pow', 'maximum', 'minimum', 'squaredDifference', 'atan2', 'equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr', 'logicalXor', 'dot', 'outerProduct']);
  const dependent: string[] = [];
  let tried = 0;
  for (const op of Object.keys(TENSOR_OPS)) {
    for (const [dtype, makers] of Object.entries(variants)) {
      const outcomes: string[] = [];
      for (const make of makers) {
        const p = bob.load(make(), { allowedUsers: ['bob'] });
        const args = argumentsFor[op]?.(p) ?? (binary.has(op) ? [p, p] : [p]);
        try {
          const out = (rt as unknown as Record<string, (...a: unknown[]) => unknown>)[op](...args);
          await (Array.isArray(out) ? out[0] : (out as P)).getShape();
          outcomes.push('ok');
        } catch (error) {
          // The same failure names a different object each time: compare what it says, not which object.
          outcomes.push(`${(error as Error).name}: ${(error as Error).message.replace(/object \d+/g, 'object N')}`);
        }
      }
      tried++;
      if (new Set(outcomes).size > 1) dependent.push(`${op} (${dtype}): ${outcomes.join(' | ')}`);
    }
  }
  t.true(tried > 100, `${tried} op × dtype pairs tried`);
  t.deepEqual(dependent, [], 'every op succeeds or fails alike whatever the private values');
});

test('the part ids travel in the log: one seed, one log (an aggregate and a refused difference)', async (t) => {
  const run = async () => {
    const { sim, x, y, z, share } = federation(11);
    await share(x).add(share(y)).add(share(z)).get();
    const x0 = await known((p: typeof x) => p.mul(0))(x);
    await Promise.resolve(AdditiveSharingTensor.sum([share(x).sub(share(x0)), share(y), share(z)]).get()).catch(() => undefined);
    return sim.log.events.map((e) => JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  };
  const [a, b] = [await run(), await run()];
  t.true(a.length > 50);
  t.deepEqual(a, b);
});

test('part ids stay unique across a crash that loses the worker\'s memory: a value bob loads after it never cancels one from before', async (t) => {
  const { sim, bob, x, y, z, share, load } = federation();
  const before = share(x); // x's part was minted before the crash, and travels with its shares on dave and erin
  await sim.settle();
  sim.crash('bob');
  sim.restart('bob', true); // memory lost: a new WorkerState, so a counter alone would mint bob#1 again
  const zeros = share(load(bob, [0, 0]));
  await refused(t, sim, AdditiveSharingTensor.sum([before.sub(zeros), share(y), share(z)]), 'x (before the crash) − zeros (after)');
});
