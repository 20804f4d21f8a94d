/**
 * Building plans and running them locally: tracing (func2plan with argsShape, build
 * with example arguments, Plan subclasses with nn layers), the readable form, build
 * errors that keep their cause, and the promise that a plan run is bitwise the
 * function run directly.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import {
  F,
  func2plan,
  joinPlan,
  Plan,
  PlanBuildError,
  PlanNotBuiltError,
  PlanSchema,
  encodeMessage,
  decodeMessage,
  type PlanWire,
} from '../src/index.js';
import { bits, Net } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

test.serial('func2plan with argsShape builds at once; toString lists the ops as the issue shows', (t) => {
  const calcu = func2plan(
    function calcu(x: any, y: any) {
      return x.add(y).div(2);
    },
    { argsShape: [[-1], [-1]] },
  );
  t.true(calcu.isBuilt);
  t.is(calcu.toString(), 'Plan calcu(x, y):\n  %2 = add(x, y)\n  %3 = div(%2, 2)\n  return %3');
  t.deepEqual(calcu.definition!.args, [
    { name: 'x', shape: [-1], dtype: 'float32' },
    { name: 'y', shape: [-1], dtype: 'float32' },
  ]);
  const out = calcu(tf.tensor([1, 2, 3]), tf.tensor([3, 2, 1])) as tf.Tensor;
  t.deepEqual(out.arraySync(), [2, 2, 2], 'any size fits a −1 dimension');
  tf.dispose(out);
});

test.serial('without argsShape: unbuilt, calling runs the function; build(...examples) traces it', (t) => {
  const before = tf.memory().numTensors;
  const scale = func2plan((a: any) => a.mul(3).sum(), { name: 'scale' });
  t.false(scale.isBuilt);
  t.regex(scale.toString(), /not built/);
  const x = tf.tensor([1, 2]);
  const eager = tf.tidy(() => scale(x) as tf.Tensor); // unbuilt: the function itself, eagerly
  t.is(eager.dataSync()[0], 9);
  scale.build(x);
  t.is(scale.toString(), 'Plan scale(a):\n  %1 = mul(a, 3)\n  %2 = sum(%1)\n  return %2');
  const traced = scale(x) as tf.Tensor;
  t.deepEqual(bits(traced), bits(eager));
  tf.dispose([x, eager, traced]);
  t.is(tf.memory().numTensors, before, 'tracing and runs leave no tensor behind');
});

test.serial('same plan, same inputs ⇒ bitwise the function run directly (many ops, literals, two results)', (t) => {
  const sim = simulation();
  const rng = sim.rng('test/values');
  const values = (n: number) => new Float32Array(n).map(() => rng.normal());
  const fn = (a: any, w: any) => {
    const h = F.tanh(F.matMul(a, w)).mul(1.7).sub(0.3);
    const parts = F.split(h, 2, 1);
    const s = F.softmax(F.reshape(parts[0], [-1]));
    return [F.logSumExp(parts[1], 1), s.pow(2).mean()];
  };
  const plan = func2plan(fn, { argsShape: [[-1, 6], [6, 4]] });
  for (const rows of [1, 5, 17]) {
    const a = tf.tensor2d(values(rows * 6), [rows, 6]);
    const w = tf.tensor2d(values(24), [6, 4]);
    const direct = tf.tidy(() => fn(a, w)) as tf.Tensor[];
    const planned = plan(a, w) as tf.Tensor[];
    t.is(planned.length, 2);
    t.deepEqual(planned.map(bits), direct.map(bits), `${rows} rows`);
    tf.dispose([a, w, ...direct, ...planned]);
  }
});

test.serial("seed 002's Net builds on tf.tensor([1, 2]); net(x) equals net.forward(x) bitwise; parameters come from the seeded stream", (t) => {
  const sim = simulation();
  const net = new Net({ rng: sim.rng('model/init') });
  const x = tf.tensor([1, 2]);
  net.build(x);
  t.is(
    net.toString(),
    [
      'Plan Net(x):',
      '  state fc1.weight: float32[2, 3]',
      '  state fc1.bias: float32[3]',
      '  state fc2.weight: float32[3, 2]',
      '  state fc2.bias: float32[2]',
      '  %5 = dot(x, fc1.weight)',
      '  %6 = add(%5, fc1.bias)',
      '  %7 = relu(%6)',
      '  %8 = dot(%7, fc2.weight)',
      '  %9 = add(%8, fc2.bias)',
      '  %10 = logSoftmax(%9, 0)',
      '  return %10',
    ].join('\n'),
  );
  const planned = net(x) as tf.Tensor;
  const direct = tf.tidy(() => net.forward(x)) as tf.Tensor;
  t.deepEqual(bits(planned), bits(direct));
  t.deepEqual(net.namedParameters().map(([name]) => name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  // PyTorch's default init, U(±1/√fanIn), drawn from the stream: same seed, same weights; another seed, others.
  const again = new Net({ rng: simulation().rng('model/init') });
  const other = new Net({ rng: simulation({ seed: 8 }).rng('model/init') });
  t.deepEqual(again.getParameters(), net.getParameters());
  t.notDeepEqual(other.getParameters(), net.getParameters());
  t.true(net.getParameters()[0].every((v) => Math.abs(v) <= 1 / Math.sqrt(2)));
  tf.dispose([x, planned, direct]);
  for (const n of [net, again, other]) n.dispose();
});

test.serial('a build failure is a PlanBuildError with the original error as cause and the op where tracing stopped', (t) => {
  const before = tf.memory().numTensors;
  // Inside an op: the shapes do not fit.
  const [square, row] = [tf.ones([2, 2]), tf.ones([2])];
  const weights = tf.ones([3, 3]);
  const bad = func2plan(function bad(v: any) {
    return v.add(1).matMul(weights);
  });
  const error = t.throws(() => bad.build(square), { instanceOf: PlanBuildError })!;
  t.is(error.opIndex, 1);
  t.is(error.op, 'matMul');
  t.is(error.plan, 'bad');
  t.true(error.cause instanceof Error);
  t.true(error.message.startsWith('Building plan bad failed while tracing op #1 (matMul): '), error.message);
  t.true(error.message.includes((error.cause as Error).message), 'the original message is kept');
  t.false(bad.isBuilt);

  // In the function's own code, after an op: the last op recorded is named.
  const own = func2plan(function own(v: any) {
    v.add(1);
    throw new RangeError('window too small');
  });
  const ownError = t.throws(() => own.build(row), { instanceOf: PlanBuildError })!;
  t.is(ownError.opIndex, undefined);
  t.true(ownError.cause instanceof RangeError);
  t.is(ownError.message, "Building plan own failed in the function's own code after 1 op (the last op recorded: #0 `%1 = add(v, 1)`): RangeError: window too small");

  // tf's own functions do not know traced values: tfjs's complaint is the cause.
  const raw = func2plan((v: any) => tf.add(v, 1), { name: 'raw' });
  const rawError = t.throws(() => raw.build(row), { instanceOf: PlanBuildError })!;
  t.regex(rawError.message, /Argument 'a' passed to 'add' must be a Tensor/);
  tf.dispose([square, row, weights]);
  t.is(tf.memory().numTensors, before, 'failed builds free their example values');
});

test.serial('send() of an unbuilt plan is a PlanNotBuiltError that says how to build it', (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const net = new Net({ rng: sim.rng('model/init') });
  const sent = sim.log.length;
  const error = t.throws(() => net.send(bob), { instanceOf: PlanNotBuiltError })!;
  t.regex(error.message, /^Net\.send\(bob\): the plan is not built, so there is no op list to send\. Build it first with example arguments \(Net\.build\(tf\.tensor\(\[1, 2\]\)\)\), or give func2plan the argument shapes/);
  t.is(sim.log.length, sent, 'nothing was sent');
  net.dispose();
});

test.serial('tensors a function uses become state: constants by value, variables by reference (F.assign updates them)', (t) => {
  const offset = tf.tensor([10, 20]);
  const counter = tf.variable(tf.tensor([0, 0]));
  const plan = func2plan(
    function step(v: any) {
      const next = v.add(offset).add(counter);
      F.assign(counter, F.add(counter, 1)); // F (not counter.add, which tfjs would run at once)
      return next;
    },
    { argsShape: [[2]] },
  );
  t.deepEqual(plan.definition!.stateNames, ['c0', 'var0']);
  t.is(plan.toString().split('\n').slice(3).join('\n'), '  %1 = add(v, c0)\n  %2 = add(%1, var0)\n  %3 = add(var0, 1)\n  assign(var0, %3)\n  return %2');
  offset.dispose(); // the plan holds its own copy
  const input = tf.tensor([1, 1]);
  const first = plan(input) as tf.Tensor;
  const second = plan(input) as tf.Tensor;
  t.deepEqual(first.arraySync(), [11, 21]);
  t.deepEqual(second.arraySync(), [12, 22], 'the variable was updated by the first run');
  t.deepEqual(counter.arraySync(), [2, 2]);
  tf.dispose([input, first, second, counter]);
  plan.dispose();
});

test.serial('the wire form passes the message schema and survives a real encode/decode; fromWire rebuilds the same plan', (t) => {
  const sim = simulation();
  const net = new Net({ rng: sim.rng('model/init') });
  const x = tf.tensor([0.5, -2]);
  net.build(x);
  const wire = net.toWire();
  t.true(PlanSchema.safeParse(wire).success);
  const frame = encodeMessage('object', { id: '1', value: { kind: 'plan', plan: wire } });
  tf.dispose(wire.state.map((s) => s.tensor));
  const decoded = (decodeMessage(frame).payload as { value: { plan: PlanWire } }).value.plan;
  const copy = Plan.fromWire(decoded);
  t.is(copy.toString(), net.toString());
  const [a, b] = [net(x) as tf.Tensor, copy(x) as tf.Tensor];
  t.deepEqual(bits(b), bits(a));
  tf.dispose([x, a, b]);
  t.deepEqual(joinPlan(copy.definition!, copy.stateTensors()).ops, wire.ops);
  copy.dispose();
  net.dispose();
});

test.serial('F outside a plan: ops are tfjs ops; grads says where to use it; assign updates a variable', (t) => {
  const out = F.add(tf.tensor([1]), 2) as tf.Tensor;
  t.deepEqual(out.arraySync(), [3]);
  t.throws(() => F.grads(out, [out]), { message: /F\.grads records a gradient step inside a Plan/ });
  const v = tf.variable(tf.tensor([1]));
  F.assign(v, out);
  t.deepEqual(v.arraySync(), [3]);
  tf.dispose([out, v]);
});

test.serial('plans compose: a built plan called inside another plan is recorded inline', (t) => {
  const sim = simulation();
  const net = new Net({ rng: sim.rng('model/init') });
  const x = tf.tensor([1, 2]);
  net.build(x);
  const twice = func2plan((v: any) => F.exp(net(v)), { name: 'probs', argsShape: [[2]] });
  t.deepEqual(twice.definition!.ops.map((o) => o.op), ['dot', 'add', 'relu', 'dot', 'add', 'logSoftmax', 'exp']);
  t.deepEqual(twice.definition!.stateNames, ['var0', 'var1', 'var2', 'var3'], "the inner plan's parameters are shared by reference");
  const [a, b] = [twice(x) as tf.Tensor, tf.tidy(() => tf.exp(net.forward(x)))];
  t.deepEqual(bits(a), bits(b));
  tf.dispose([x, a, b]);
  net.dispose();
});

test.serial('a skipped argument (undefined) keeps its tfjs default when the plan runs', (t) => {
  const fn = (v: any) => [F.cumsum(v, undefined, true), F.sum(v, undefined, true), F.logSoftmax(v, undefined)];
  const plan = func2plan(fn, { name: 'defaults', argsShape: [[2, 3]] });
  t.deepEqual(plan.definition!.ops.map((o) => o.inputs.length), [3, 3, 1], 'trailing undefined dropped, inner ones kept as null');
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const [a, b] = [plan(x) as tf.Tensor[], tf.tidy(() => fn(x)) as tf.Tensor[]];
  t.deepEqual(a.map(bits), b.map(bits));
  tf.dispose([x, ...a, ...b]);
});
