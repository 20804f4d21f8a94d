/**
 * Plans on workers: sent once, run by reference with one runPlan message, fetched
 * back with get(); refused as a whole (nothing stored) when an op is outside the
 * allow-list or a name does not resolve; failing runs change nothing; results of
 * plans on tracked tensors work with remote autograd.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import {
  checkPlan,
  F,
  func2plan,
  PointerStateError,
  RemoteError,
  TensorsNotCollocatedError,
  type PlanDefinition,
  type PlanOp,
  type Simulation,
} from '../src/index.js';
import { bits, countSent, Net } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const calcuFn = function calcu(x: any, y: any) {
  return x.add(y).div(2);
};

for (const strict of [false, true]) {
  const mode = strict ? ' (strict)' : '';

  test.serial(`planPtr(x, y) is one runPlan message; the result is bitwise the function's${mode}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const alice = sim.worker('alice');
    const calcu = func2plan(calcuFn, { argsShape: [[-1], [-1]] });
    const x = tf.tensor([0.1, 0.2, 0.3, 1e-7]);
    const y = tf.tensor([0.7, -0.2, 1 / 3, 3]);
    const ptr = calcu.send(alice);
    const [xPtr, yPtr] = [x.send(alice), y.send(alice)];
    await sim.settle();
    t.regex(String(sim.inspect(alice).objects.get(ptr.idAtLocation)), /^<Plan calcu\(x, y\): 2 ops, 0 state tensors>$/);
    const sent = countSent(sim);
    const result = ptr(xPtr, yPtr);
    t.is(sent.total(), 1);
    t.is(sent.of('runPlan'), 1, 'one message for all the ops');
    const remote = await result.get();
    const direct = tf.tidy(() => calcuFn(x, y));
    t.deepEqual(bits(remote), bits(direct));
    tf.dispose([x, y, remote, direct]);
    for (const p of [ptr, xPtr, yPtr]) p.dispose();
    await sim.settle();
    t.is(sim.inspect(alice).objects.size, 0);
    t.is(tf.memory().numTensors, before);
  });

  test.serial(`seed 002: Net built on [1, 2], sent to bob, run on a data pointer; get() of the result equals net.forward (bitwise); get() of the plan fetches it${mode}`, async (t) => {
    const sim = simulation({ strict });
    const bob = sim.worker('bob');
    const net = new Net({ rng: sim.rng('model/init') });
    const example = tf.tensor([1, 2]);
    net.build(example);
    const ptrNet = net.send(bob);
    const inputData = example.send(bob);
    const resultPtr = ptrNet(inputData);
    const result = await resultPtr.get();
    const local = tf.tidy(() => net.forward(example));
    t.deepEqual(bits(result), bits(local));
    const fetched = await ptrNet.get();
    t.is(ptrNet.state, 'fetched');
    t.false(sim.inspect(bob).objects.has(ptrNet.idAtLocation), 'get() removes the plan from the worker');
    t.is(fetched.toString(), net.toString());
    t.deepEqual([...fetched.stateTensors().values()].map(bits), net.parameters().map(bits), 'the state comes back unchanged');
    t.throws(() => ptrNet(inputData), { instanceOf: PointerStateError, message: /the plan was fetched with get\(\)/ });
    tf.dispose([example, result, local]);
    fetched.dispose();
    net.dispose();
  });
}

test.serial('a plan returning two values gives two pointers; arguments must be pointers on the plan’s worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const stats = func2plan((v: any) => [v.mean(), v.max()], { name: 'stats', argsShape: [[-1]] });
  const ptr = stats.send(bob);
  const [mean, max] = ptr(tf.tensor([1, 2, 6]).send(bob));
  t.deepEqual([(await mean.get()).arraySync(), (await max.get()).arraySync()], [3, 6]);
  const sent = sim.log.length;
  t.throws(() => ptr(tf.tensor([1]).send(alice)), { instanceOf: TensorsNotCollocatedError, message: /argument 1 \(v\) lives on alice, but plan stats is on bob/ });
  t.throws(() => (ptr as any)(tf.tensor([1])), { instanceOf: TensorsNotCollocatedError, message: /is a local tensor, but plan stats runs on bob\. Send it there first/ });
  t.throws(() => (ptr as any)(), { message: /plan stats\(v\) takes 1 argument\(s\), got 0/ });
  t.is(sim.log.length, sent + 1, 'only the send to alice went out');
});

/** A raw plan message, as a malicious or buggy sender could make it. */
function rawPlan(sim: Simulation, id: string, ops: PlanOp[], extra: Partial<PlanDefinition> = {}) {
  const state = [{ name: 'w', tensor: tf.tensor([1, 2]) }];
  const plan = { name: 'raw', args: [{ name: 'x' }], state, ops, outputs: ['%1'], ...extra };
  return sim.request('bob', 'object', { id, value: { kind: 'plan', plan } });
}

test.serial('a worker refuses a plan with an op outside the allow-list, or a name that does not resolve: clear error, nothing stored', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const kept = tf.tensor([5]).send(bob);
  await sim.settle();
  const before = tf.memory().numTensors;
  const cases: Array<[PlanOp[], RegExp]> = [
    [[{ op: 'eval', inputs: [{ ref: 'x' }], outputs: ['%1'] }], /op #0 \(eval\): 'eval' is not an allowed op\. Plans may use the tfjs ops of fedsim's allow-list/],
    [[{ op: 'add', inputs: [{ ref: 'x' }, { ref: '%7' }], outputs: ['%1'] }], /op #0 \(add\): reads '%7', which is not an argument, a state tensor or an output of an earlier op/],
    [[{ op: 'constructor', inputs: [], outputs: ['%1'] }], /'constructor' is not an allowed op/],
    [[{ op: 'add', inputs: [{ ref: 'x' }], outputs: ['%1'] }], /op #0 \(add\): takes 2 input\(s\), got 1/],
    [
      [
        { op: 'add', inputs: [{ ref: 'x' }, { ref: 'w' }], outputs: ['%1'] },
        { op: 'mul', inputs: [{ ref: '%1' }, 2], outputs: ['%1'] },
      ],
      /op #1 \(mul\): writes '%1', which is already defined/,
    ],
    [
      [
        { op: 'add', inputs: [{ ref: 'x' }, { ref: 'w' }], outputs: ['%1'] },
        { op: 'assign', inputs: [{ ref: 'x' }, { ref: '%1' }], outputs: [] },
      ],
      /op #1 \(assign\): can only assign the plan's state tensors, and 'x' is an argument/,
    ],
    [
      [
        { op: 'mul', inputs: [{ ref: 'x' }, 2], outputs: ['%1'] },
        { op: 'grads', inputs: [{ ref: '%1' }], attrs: { wrt: [{ ref: 'w' }] }, outputs: ['%2'] },
      ],
      /op #1 \(grads\): '%1' does not depend on 'w', so there is no gradient with respect to it/,
    ],
  ];
  const ids: string[] = [];
  for (const [ops, message] of cases) {
    const id = `${50 + ids.length}`;
    ids.push(id);
    const error = await t.throwsAsync(rawPlan(sim, id, ops), { instanceOf: RemoteError });
    t.is(error.remoteName, 'InvalidPlanError');
    t.regex(error.remoteMessage, message);
    t.regex(error.remoteMessage, new RegExp(`^bob refused plan 'raw' \\(object ${id}\\): .* The plan was not stored \\(its id holds this refusal\\)\\.`));
  }
  const objects = sim.inspect(bob).objects;
  t.deepEqual([...objects.keys()], [kept.idAtLocation, ...ids], 'no plan was stored, only the refusals under their ids');
  for (const id of ids) t.is((objects.get(id) as { kind?: unknown }).kind, 'error', `object ${id} holds the refusal`);
  t.is(tf.memory().numTensors, before, "the refused plans' state tensors were freed");
  const schema = await t.throwsAsync(rawPlan(sim, '99', [], { outputs: [] }), { instanceOf: RemoteError });
  t.is(schema.remoteName, 'InvalidMessageError', 'malformed wire forms fail the message schema first');
});

test.serial('checkPlan (used by workers and builders) accepts what the builder records', (t) => {
  const sim = simulation();
  const net = new Net({ rng: sim.rng('model/init') });
  const x = tf.tensor([1, 2]);
  net.build(x);
  t.is(checkPlan(net.definition!), undefined);
  const reads: PlanDefinition = { name: 'p', args: [], stateNames: ['w'], ops: [{ op: 'assign', inputs: [{ ref: 'w' }, { ref: 'w' }], outputs: [] }, { op: 'neg', inputs: [{ ref: 'w' }], outputs: ['%0'] }], outputs: ['%0'] };
  t.regex(checkPlan(reads)!.message, /op #1 \(neg\): reads state 'w' after op #0 assigned it/);
  x.dispose();
  net.dispose();
});

test.serial('a run that fails at an op names the op; its results hold the failure; the plan and the store are unchanged', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const counter = tf.variable(tf.tensor([0]));
  const plan = func2plan(
    function project(v: any, w: any) {
      F.assign(counter, F.add(counter, 1));
      return v.matMul(w).relu();
    },
    { argsShape: [[-1, 2], [2, 3]] },
  );
  const ptr = plan.send(bob);
  const rows = tf.ones([4, 2]).send(bob);
  const wrong = tf.ones([5, 3]).send(bob);
  await sim.settle();
  const before = tf.memory().numTensors;
  const objects = [...sim.inspect(bob).objects.keys()];
  const result = ptr(rows, wrong);
  const error = await t.throwsAsync(result.get(), { instanceOf: RemoteError });
  t.is(error.remoteName, 'PlanFailedError');
  t.regex(error.remoteMessage, /^runPlan of plan 'project' \(object \d+\) failed on bob at op #2 `%3 = matMul\(v, w\)`: .+\. Nothing was changed; check the arguments' shapes and dtypes against plan\.toString\(\)\.$/);
  await sim.settle();
  t.deepEqual([...sim.inspect(bob).objects.keys()], objects, 'no result stored (get() took the failure marker)');
  t.is(tf.memory().numTensors, before, 'nothing leaked');
  // The plan still works, from its original state: the failed run's assign did not happen.
  const good = tf.ones([2, 3]).send(bob);
  const ok = await ptr(rows, good).get();
  t.deepEqual(ok.arraySync(), Array(4).fill([2, 2, 2]));
  const fetched = await ptr.get();
  t.deepEqual(fetched.stateTensors().get('var0')!.arraySync(), [1], 'one successful run, one increment');
  tf.dispose([ok, counter]);
  fetched.dispose();
});

test.serial('runPlan on tracked tensors goes on the autograd tape: backward() through a plan fills x.grad as the op-by-op version does', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const fn = (v: any, c: any) => v.mul(c).tanh().square();
  const plan = func2plan(fn, { name: 'f', argsShape: [[3], [3]] });
  const ptr = plan.send(bob);
  const xs = tf.tensor([0.5, -1, 2]);
  const cs = tf.tensor([3, 0.25, -1]);
  const viaPlan = xs.send(bob, { requiresGrad: true });
  const c = cs.send(bob);
  const loss = sim.tidy(() => ptr(viaPlan, c).sum());
  await loss.backward();
  const planGrad = await viaPlan.grad.get();
  const opByOp = xs.send(bob, { requiresGrad: true });
  const loss2 = sim.tidy(() => fn(opByOp, c).sum());
  await loss2.backward();
  const opGrad = await opByOp.grad.get();
  t.deepEqual(bits(planGrad), bits(opGrad));
  tf.dispose([xs, cs, planGrad, opGrad]);
});

test.serial('calling a local plan on pointers says to send it first; search() lists tensors, not plans', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const calcu = func2plan(calcuFn, { argsShape: [[-1], [-1]] });
  const x = tf.tensor([1]).send(bob);
  t.throws(() => calcu(x, x), { message: /send it there first: const ptr = calcu\.send\(bob\); ptr\(xPtr\)/ });
  const ptr = calcu.send(bob);
  const results = await bob.search();
  t.deepEqual(results.map((r) => r.idAtLocation), [x.idAtLocation], 'search lists tensors, not plans');
  ptr.dispose();
});
