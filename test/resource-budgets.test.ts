/**
 * Issue #12, item 4: one message must not make a worker allocate unbounded memory. Every op
 * that can make more elements than it reads is checked against the worker's budget before
 * anything is allocated — commands, plans, models, SMPC — and refused with a
 * ResourceLimitError; the worker keeps serving. Budgets are per worker. Payloads nested past
 * the documented limit are refused instead of overflowing the stack, and answers nobody asked
 * for free the tensors they carry. After a kernel failure the worker probes the backend: if it
 * still works only the op is refused; if not the worker is marked failed, and others refuse
 * compute with the same reason until the backend works again. (Kernels are replaced for those
 * tests — a real trap would break the backend for the rest of the process — so every test in
 * this file runs alone, and every kernel is put back.)
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { DEFAULT_BUDGET, F, FedsimError, func2plan, MAX_PAYLOAD_DEPTH, predictedElements, RemoteError, rt, type Simulation } from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const HUGE = 600_000_000;

/** Awaits `answer`, expecting a ResourceLimitError from `worker`; checks nothing was allocated meanwhile. */
async function refusedForSize(t: import('ava').ExecutionContext, sim: Simulation, answer: PromiseLike<unknown>, what: string): Promise<void> {
  const before = tf.memory().numBytes;
  const error = await t.throwsAsync(Promise.resolve(answer), { instanceOf: RemoteError }, what);
  t.is((error as RemoteError).remoteName, 'ResourceLimitError', `${what}: ${error?.message}`);
  t.regex(error!.message, /nothing was allocated/, what);
  await sim.settle();
  t.true(tf.memory().numBytes <= before + 1024, `${what}: no large allocation`);
}

test.serial('ops that amplify sizes are refused before allocating: tile, pad, oneHot, broadcastTo, matMul, outerProduct, conv2d, gather, broadcasting', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const local = [tf.tensor([1, 2]), tf.ones([30_000, 1]), tf.ones([1, 30_000]), tf.ones([30_000]), tf.ones([1, 2000, 2000, 1]), tf.ones([50, 50, 1, 1]), tf.zeros([5000], 'int32'), tf.tensor([1, 2], undefined, 'int32')];
  const [x, column, row, long, image, filter, indices, ints] = local.map((l) => l.send(bob));
  await sim.settle();
  const attempts: Array<[string, () => PromiseLike<unknown>]> = [
    ['tile', () => rt.tile(x, [HUGE]).get()],
    ['pad', () => rt.pad(x, [[0, HUGE]]).get()],
    ['oneHot', () => rt.oneHot(ints, HUGE).get()],
    ['broadcastTo', () => rt.broadcastTo(x, [HUGE, 2]).get()],
    ['matMul (output m × n)', () => rt.matMul(column, row).get()],
    ['outerProduct', () => rt.outerProduct(long, long).get()],
    ['conv2d (patch matrix)', () => rt.conv2d(image, filter, 1, 'same').get()],
    ['gather (indices × row length)', () => rt.gather(row, indices).get()],
    ['broadcasting add', () => column.add(row).get()],
  ];
  for (const [what, attempt] of attempts) await refusedForSize(t, sim, attempt(), what);
  t.deepEqual((await x.add(1).get()).arraySync(), [2, 3], 'bob keeps serving');
  tf.dispose(local);
});

test.serial('a plan is checked op by op', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  // Built (traced) here on small inputs; on bob's large inputs the same ops would amplify.
  const local = [tf.ones([100_000]), tf.ones([20_000, 1])];
  const [long, tall] = local.map((l) => l.send(bob));
  const amplify = func2plan((v: any) => F.tile(v, [1000]), { argsShape: [[-1]], name: 'amplify' }).send(bob);
  await refusedForSize(t, sim, amplify(long).get(), 'plan whose tile makes 1e8 elements');
  const gram = func2plan((a: any) => F.matMul(a, a, false, true), { argsShape: [[-1, 1]], name: 'gram' }).send(bob);
  await refusedForSize(t, sim, gram(tall).get(), 'plan whose matMul output is 4e8 elements');
  tf.dispose(local);
});

test.serial('SMPC: a crypto provider asked for huge triples, a Beaver product too large, shares over the budget are refused', async (t) => {
  const sim = simulation();
  const small = { budget: { maxTensorElements: 10_000, maxStoredElements: 100_000 } };
  const [bob, alice] = ['bob', 'alice'].map((id) => sim.worker(id, small));
  const james = sim.worker('james');
  sim.tell('james', 'smpc', { op: 'deal', session: 'big', kind: 'matMul', owners: ['bob', 'alice'], field: (2n ** 64n).toString(), xShape: [30_000, 1], yShape: [1, 30_000] });
  await sim.settle();
  t.regex(sim.remoteErrors.at(-1)!.message, /ResourceLimitError: deal on james would allocate Beaver triples/);
  const local = [tf.ones([200, 1]), tf.ones([1, 200])];
  const column = local[0].fixPrecision().share(bob, alice, { cryptoProvider: james });
  const row = local[1].fixPrecision().share(bob, alice, { cryptoProvider: james });
  const error = await t.throwsAsync(column.matMul(row).get());
  t.regex(error!.message, /matMul on (bob|alice) would allocate a shared product of 40,000 elements, over the worker's maxTensorElements of 10,000/);
  const big = sim.nextId();
  sim.tell('bob', 'smpc/share', { id: big, share: { values: new BigUint64Array(20_000), shape: [20_000], field: (2n ** 64n).toString() } });
  const share = await t.throwsAsync(sim.ask('bob', 'smpc/get', { id: big }));
  t.regex(share!.message, /ResourceLimitError: share on bob would allocate received share \d+ of 20,000 elements/);
  tf.dispose(local);
});

test.serial('budgets are per worker: a small one refuses what the default allows; the total counts what the worker holds', async (t) => {
  const sim = simulation();
  const small = sim.worker('small', { budget: { maxTensorElements: 100, maxStoredElements: 250 } });
  const roomy = sim.worker('roomy');
  const onSmall = tf.ones([10]).send(small);
  const error = await t.throwsAsync(rt.tile(onSmall, [20]).get());
  t.regex(error!.message, /tile on small would allocate a result of 200 elements, over the worker's maxTensorElements of 100/);
  t.deepEqual(await rt.tile(tf.ones([10]).send(roomy), [20]).getShape(), [200]);
  // The total: 10 held, then 100-element results until 250 would be passed.
  const errors = sim.remoteErrors.length;
  const kept = [rt.tile(onSmall, [10]), rt.tile(onSmall, [10])];
  await sim.settle();
  t.is(sim.remoteErrors.length, errors, '10 + 2 · 100 elements fit in 250');
  const third = await t.throwsAsync(rt.tile(onSmall, [10]).get());
  t.regex(third!.message, /maxStoredElements of 250/);
  sim.disposeAll(kept);
  t.deepEqual(await rt.tile(onSmall, [10]).getShape(), [100], 'room again once results are deleted');
  t.deepEqual(await rt.sum(rt.tile(onSmall, [9])).getShape(), [], 'a reduction counts its (small) result, not its input');
  t.throws(() => sim.worker('odd', { budget: { maxTensorElements: 10, maxStoredElements: 5 } }), { message: /maxTensorElements \(10\) cannot exceed maxStoredElements \(5\)/ });
  t.deepEqual(DEFAULT_BUDGET, { maxTensorElements: 2 ** 26, maxStoredElements: 2 ** 28 });
});

test.serial('a received object over the budget is refused and freed, and the worker stores nothing', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob', { budget: { maxTensorElements: 1000, maxStoredElements: 1000 } });
  const local = tf.ones([2000]);
  const before = tf.memory().numTensors;
  const ptr = local.send(bob);
  const error = await t.throwsAsync(ptr.get());
  t.regex(error!.message, /ResourceLimitError: send on bob would allocate received object \d+ \(the largest tensor\) of 2,000 elements/, 'the refusal is kept under the id (test/one-way-refusals.test.ts)');
  t.regex(sim.remoteErrors.at(-1)!.message, /ResourceLimitError: send on bob would allocate received object \d+ \(the largest tensor\) of 2,000 elements/);
  t.is(tf.memory().numTensors, before, 'the refused tensor was freed');
  t.is((await bob.listObjects()).size, 0);
  local.dispose();
});

test.serial(`payloads nested deeper than ${MAX_PAYLOAD_DEPTH} levels are refused by the sender and by the worker, without a stack overflow`, async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.throws(() => sim.command('bob', 'add', [{ ref: x.idAtLocation }, deep as never], 1), { instanceOf: FedsimError, message: /nests deeper than 32 levels/ });
  // Past the pointer layer (any actor can send anything): the worker refuses before validating.
  const answer = sim.request('bob', 'getShape', { id: x.idAtLocation, extra: deep });
  const error = await t.throwsAsync(Promise.resolve(answer));
  t.regex(error!.message, /InvalidMessageError: bob rejected a 'getShape' message: its payload nests deeper than 32 levels/);
  let shallow: unknown = 1;
  for (let i = 0; i < 5; i++) shallow = [shallow];
  t.deepEqual(await rt.add(x, shallow as never).getShape(), [1, 1, 1, 1, 2], 'five levels are fine');
  // Ranks past 6 are refused too (the wasm kernels' limit; past it some fail silently and corrupt memory).
  let seven: unknown = 1;
  for (let i = 0; i < 7; i++) seven = [seven];
  const rank = await t.throwsAsync(rt.add(x, seven as never).get());
  t.regex(rank!.message, /add would make a tensor of 7 dimensions; workers make tensors of at most 6/);
});

test.serial('answers nobody asked for free the tensors they carry (a reply, and an error reply with tensors in its data)', async (t) => {
  const sim = simulation();
  sim.worker('bob');
  await sim.settle();
  const before = tf.memory().numTensors;
  sim.tell('bob', 'reply', { kind: 'object', id: '1', value: { kind: 'tensor', tensor: tf.ones([3]) }, meta: {} });
  sim.send('bob', 'error', { name: 'Error', message: 'stray', data: { tensor: tf.ones([4]) } });
  await sim.settle();
  t.is(tf.memory().numTensors, before);
});

test.serial('predicted sizes bound what ops really allocate (random small shapes)', (t) => {
  const dim = fc.integer({ min: 1, max: 4 });
  const shape = (rank: number) => fc.array(dim, { minLength: rank, maxLength: rank });
  const cases: Array<fc.Arbitrary<[string, () => unknown[]]>> = [
    fc.tuple(shape(2), shape(2)).map(([a, b]) => ['add', () => [tf.ones([a[0], 1]), tf.ones([1, b[1]])]] as [string, () => unknown[]]),
    fc.tuple(dim, dim, dim).map(([m, k, n]) => ['matMul', () => [tf.ones([m, k]), tf.ones([k, n])]] as [string, () => unknown[]]),
    fc.tuple(shape(2), shape(2)).map(([s, reps]) => ['tile', () => [tf.ones(s), reps]] as [string, () => unknown[]]),
    fc.tuple(shape(2), fc.array(fc.tuple(dim, dim), { minLength: 2, maxLength: 2 })).map(([s, pads]) => ['pad', () => [tf.ones(s), pads]] as [string, () => unknown[]]),
    fc.tuple(shape(2), dim).map(([s, depth]) => ['oneHot', () => [tf.zeros(s, 'int32'), depth]] as [string, () => unknown[]]),
    fc.tuple(shape(2), shape(1)).map(([s, idx]) => ['gather', () => [tf.ones(s), tf.zeros(idx, 'int32'), 1]] as [string, () => unknown[]]),
    fc.tuple(shape(2), dim).map(([s, k]) => ['concat', () => [Array.from({ length: k }, () => tf.ones(s)), 0]] as [string, () => unknown[]]),
    fc.tuple(dim, dim, fc.constantFrom('same', 'valid')).map(([hw, f, pad]) => ['conv2d', () => [tf.ones([1, hw + 4, hw + 4, 2]), tf.ones([f, f, 2, 3]), 1, pad]] as [string, () => unknown[]]),
    fc.tuple(dim, fc.constantFrom('same', 'valid')).map(([f, pad]) => ['maxPool', () => [tf.ones([1, 6, 6, 2]), f, 1, pad]] as [string, () => unknown[]]),
    fc.tuple(dim, dim).map(([a, b]) => ['outerProduct', () => [tf.ones([a]), tf.ones([b])]] as [string, () => unknown[]]),
    fc.tuple(shape(3), fc.constantFrom(undefined, 0, 1, -1, [0, 2]), fc.constantFrom('sum', 'max', 'mean', 'argMax')).map(([s, axis, op]) => [op, () => [tf.ones(s), op === 'argMax' && Array.isArray(axis) ? 0 : axis]] as [string, () => unknown[]]),
  ];
  fc.assert(
    fc.property(fc.oneof(...cases), ([op, make]) => {
      tf.tidy(() => {
        const args = make();
        let out: tf.Tensor;
        try {
          out = (tf as unknown as Record<string, (...a: unknown[]) => tf.Tensor>)[op](...args);
        } catch {
          return; // the op refused these arguments itself (e.g. oneHot of depth 1): nothing allocated
        }
        if (predictedElements(op, args) < out.size) throw new Error(`${op}: predicted ${predictedElements(op, args)} < ${out.size}`);
      });
    }),
    { numRuns: 200, seed: 4 },
  );
  t.pass();
});

// ── kernel failures ───────────────────────────────────────────────────────────

/** Replaces kernel `name` of the active backend by one that traps, until the returned function puts it back. */
function trapping(name: string): () => void {
  const backend = tf.getBackend();
  const original = tf.getKernel(name, backend);
  tf.unregisterKernel(name, backend);
  const Trap = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message: string) => Error } }).WebAssembly.RuntimeError;
  tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc: () => {
    throw new Trap('memory access out of bounds');
  } });
  return () => {
    tf.unregisterKernel(name, backend);
    tf.registerKernel(original);
  };
}

test.serial('a kernel failure with the backend still working: the op is refused, the worker keeps serving', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  const restore = trapping('Atan2');
  try {
    const error = await t.throwsAsync(x.atan2(x).get(), { instanceOf: RemoteError });
    t.is((error as RemoteError).remoteName, 'KernelFailedError');
    t.regex(error!.message, /the compute kernel of atan2 failed on bob \(RuntimeError: memory access out of bounds\)\. The backend still works and nothing was changed/);
  } finally {
    restore();
  }
  t.deepEqual((await x.add(1).get()).arraySync(), [2, 3], 'bob keeps serving');
});

test.serial('a kernel failure that breaks the backend marks the worker failed; others refuse compute until the backend works again', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2]).send(bob);
  const y = tf.tensor([3, 4]).send(alice);
  await sim.settle();
  const restoreAtan2 = trapping('Atan2');
  const restoreAdd = trapping('Add'); // the probe's op: the backend "no longer computes"
  try {
    const result = x.atan2(x);
    await sim.settle();
    t.regex(sim.remoteErrors.at(-1)!.message, /KernelFailedError: the compute kernel of atan2 failed on bob .*The compute backend no longer works after it, so bob is marked failed and refuses further messages/);
    const fetch = await t.throwsAsync(result.get(), { instanceOf: RemoteError });
    t.is((fetch as RemoteError).remoteName, 'WorkerFailedError');
    const later = await t.throwsAsync(bob.listObjects(), { instanceOf: RemoteError });
    t.is((later as RemoteError).remoteName, 'WorkerFailedError');
    t.regex(later!.message, /bob refused a 'search' message: it failed earlier and serves nothing more \(the kernel of atan2 failed \(RuntimeError: memory access out of bounds\) and the compute backend stopped working\)/);
    const other = await t.throwsAsync(y.mul(2).get(), { instanceOf: RemoteError });
    t.regex(other!.message, /mul on alice was refused: the compute backend has not worked since a kernel failure \(atan2 on bob: RuntimeError: memory access out of bounds\)/);
  } finally {
    restoreAdd();
    restoreAtan2();
  }
  t.deepEqual((await y.mul(2).get()).arraySync(), [6, 8], 'once the backend works again, alice computes');
  const still = await t.throwsAsync(bob.listObjects(), { instanceOf: RemoteError });
  t.is((still as RemoteError).remoteName, 'WorkerFailedError', 'bob stays failed: its state may be lost with the backend');
});

test.serial('refusals are deterministic: the same over-budget run, with one seed, gives one event log', async (t) => {
  const run = async () => {
    const sim = simulation();
    const bob = sim.worker('bob', { budget: { maxTensorElements: 100, maxStoredElements: 300 } });
    const local = tf.ones([10]);
    const x = local.send(bob);
    const attempts = [rt.tile(x, [20]), rt.tile(x, [5]), rt.oneHot(tf.tensor([1], undefined, 'int32').send(bob), 1000), rt.tile(x, [9])];
    for (const attempt of attempts) await attempt.getShape().catch(() => undefined);
    await sim.settle();
    local.dispose();
    return sim.log.toJSONL();
  };
  t.is(await run(), await run());
});
