/**
 * A worker's refusal of a one-way message is not lost. `tf.zeros([20]).send(dave)` to a worker
 * with a budget of 10 elements used to leave nothing under the pointer's id, so the next await
 * said "dave has no object 1 … never stored there", and the ResourceLimitError that explained
 * it was only in sim.remoteErrors. Now the refusal is stored under every id the message would
 * have created (src/actors/refusals.ts), as a failed command's is: each kind of one-way
 * message that can be refused — a tensor's send, a plan's, a model's, a model copy, an
 * optimiser's creation, a permutation, a share's delivery — is refused here, and the next
 * await of what depends on it rejects with the cause, naming the worker, the object and the
 * budget. Requests (move, remoteGet) answer their refusal to whoever awaits them, and the
 * object stays where it was; a remoteGet, which used to store an object over the puller's
 * budget, is now refused too.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, RemoteError, RemoteSGD, type Simulation, type VirtualWorker } from '../src/index.js';
import { nn, restoreModel } from '../src/fl/index.js';
import { Mlp } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const SMALL = { budget: { maxTensorElements: 10, maxStoredElements: 30 } };

function world(): { sim: Simulation; dave: VirtualWorker; bob: VirtualWorker } {
  const sim = simulation();
  return { sim, dave: sim.worker('dave', SMALL), bob: sim.worker('bob') };
}

/** Awaits `answer` and checks it rejects with dave's ResourceLimitError naming the object and the budget setting. */
async function refusedForBudget(t: import('ava').ExecutionContext, answer: PromiseLike<unknown>, object: string | RegExp, setting: string, what: string): Promise<void> {
  const error = await t.throwsAsync(Promise.resolve(answer), undefined, what);
  t.true(error instanceof RemoteError, `${what}: ${error?.name}: ${error?.message}`);
  t.is((error as RemoteError).remoteName, 'ResourceLimitError', `${what}: ${error?.message}`);
  t.regex(error!.message, /on dave would allocate/, `${what}: names the worker`);
  t.regex(error!.message, typeof object === 'string' ? new RegExp(`\\b${object}\\b`) : object, `${what}: names the object`);
  t.regex(error!.message, new RegExp(`${setting} of [0-9,]+`), `${what}: names the budget`);
}

test.serial("the trial's repro: a tensor over the budget, sent to dave, is refused under its id: get() and ops on it say why", async (t) => {
  const { sim, dave } = world();
  const before = tf.memory().numTensors;
  const big = tf.zeros([20]);
  const ptr = big.send(dave);
  await refusedForBudget(t, ptr.get(), `object ${ptr.idAtLocation}`, 'maxTensorElements', 'get()');
  const again = big.send(dave);
  await refusedForBudget(t, again.add(1).get(), `object ${again.idAtLocation}`, 'maxTensorElements', 'an op on it, then get()');
  const listing = String(await dave.listObjects());
  t.regex(listing, /ResourceLimitError/, `the worker lists the refusal under the id: ${listing}`);
  again.dispose();
  await sim.settle();
  t.is((await dave.listObjects()).size, 0, 'get() consumed the failed result of the op, and disposing the pointer deleted the refusal');
  big.dispose();
  await dave.clearObjects();
  t.is(tf.memory().numTensors, before, 'the refused tensors were freed');
});

test('the store total counts too: what fits alone (a send, a copy) is refused once the worker holds too much, naming maxStoredElements', async (t) => {
  const { dave } = world();
  const kept = [tf.ones([10]).send(dave), tf.ones([10]).send(dave), tf.ones([10]).send(dave)];
  const fourth = tf.ones([10]).send(dave);
  await refusedForBudget(t, fourth.get(), `object ${fourth.idAtLocation}`, 'maxStoredElements', 'a fourth tensor of 10');
  t.deepEqual(await kept[2].getShape(), [10], 'what was stored before is untouched');
  const copy = kept[0].copy(); // a command: its failure goes under its result id, as any failed op's
  await refusedForBudget(t, copy.get(), new RegExp(`a copy of object ${kept[0].idAtLocation} \\(as object ${copy.idAtLocation}\\)`), 'maxStoredElements', 'a copy of a stored tensor');
});

test("a plan whose state is over the budget: calling it fails with the refusal of the plan's send", async (t) => {
  const { sim, dave } = world();
  const net = new Mlp(4, 8, 2, { rng: sim.rng('model/init') });
  net.build(tf.zeros([1, 4]));
  const plan = net.send(dave);
  const x = tf.zeros([1, 4]).send(dave);
  await refusedForBudget(t, plan(x).get(), `object ${plan.idAtLocation}`, 'maxTensorElements', 'a call of the refused plan');
});

test("a model over the budget: forward, get() and the optimiser's step report the refusal of the model's send", async (t) => {
  const { sim, dave } = world();
  const model = restoreModel({ spec: nn.linear(4, 3), weights: [new Float32Array(12).fill(0.5), new Float32Array(3)] });
  const remote = model.send(dave);
  const x = tf.zeros([2, 4]).send(dave);
  await refusedForBudget(t, remote.forward(x).get(), `model ${remote.idAtLocation}`, 'maxTensorElements', 'forward');
  const errors = sim.remoteErrors.length;
  new RemoteSGD(remote, { lr: 0.1 }).step();
  await sim.settle();
  t.true(sim.remoteErrors.length > errors);
  t.regex(sim.remoteErrors.at(-1)!.message, /ResourceLimitError: input \d+ of step holds an earlier failure: model on dave would allocate .*maxTensorElements/, 'a step on its parameters names the refusal too');
  await refusedForBudget(t, remote.get(), /parameters sent for model \d+/, 'maxTensorElements', 'get()');
  remote.dispose();
  x.dispose();
  await sim.settle();
  t.is((await dave.listObjects()).size, 0, 'dispose() forgets the refused model and the failures under its parameter ids');
});

test('a model copy over the store budget: the copy reports the refusal, the original works', async (t) => {
  const { dave } = world();
  const model = restoreModel({ spec: nn.linear(3, 2), weights: [new Float32Array(6).fill(1), new Float32Array(2)] });
  const remote = model.send(dave); // 8 elements
  const x = tf.ones([1, 3]).send(dave); // 11 held
  const copies = [remote.copy(), remote.copy()]; // 19, 27 held
  const third = remote.copy(); // 35 > 30
  await refusedForBudget(t, third.forward(x).get(), `model ${third.idAtLocation}`, 'maxStoredElements', "the third copy's forward");
  await refusedForBudget(t, third.get(), `model ${third.idAtLocation}`, 'maxStoredElements', "the third copy's get()");
  t.deepEqual([...(await copies[1].forward(x).get()).dataSync()], [3, 3], 'the copies that fit work');
});

test("an optimiser whose creation was refused: its step names the refusal, not 'no optimiser'", async (t) => {
  const { sim, bob } = world();
  const w = tf.variable(tf.ones([2])).send(bob);
  const id = sim.nextId();
  sim.tell('bob', 'optimizer', { id, rule: { name: 'sgd', lr: 0.1, momentum: 0, dampening: 0, nesterov: true, weightDecay: 0 } });
  sim.tell('bob', 'optimizerStep', { id, params: [w.idAtLocation] });
  await sim.settle();
  const [created, step] = sim.remoteErrors.slice(-2).map((e) => e.message);
  t.regex(created, /Nesterov momentum needs momentum > 0/);
  t.regex(step, new RegExp(`optimiser ${id} \\(needed by step\\) was refused when it was sent to bob: .*Nesterov momentum needs momentum > 0`));
  t.is(step.includes('no optimiser'), false);
});

test('a permutation over the budget is refused under its id', async (t) => {
  const { sim, dave } = world();
  const id = sim.nextId();
  sim.tell('dave', 'permutation', { n: 50, resultId: id });
  await refusedForBudget(t, sim.ask('dave', 'objectRequest', { id }), new RegExp(`a permutation \\(object ${id}\\)`), 'maxTensorElements', 'get of the permutation');
});

test("shares over the budget, delivered by me or by the worker that splits its value, fail the reconstruction with the share's refusal", async (t) => {
  const { bob, dave } = world();
  await refusedForBudget(t, tf.zeros([20]).fixPrecision().share(dave, bob).get(), /received share \d+/, 'maxTensorElements', "me's shares");
  await refusedForBudget(t, tf.zeros([20]).send(bob).fixPrecision().share(dave, bob).get(), /received share \d+/, 'maxTensorElements', "bob's shares");
});

test('requests answer their refusal: a move to dave over the budget rejects and the object stays where it was', async (t) => {
  const { bob, dave } = world();
  const x = tf.zeros([20]).send(bob);
  await refusedForBudget(t, x.move(dave), `object ${x.idAtLocation}`, 'maxTensorElements', 'move');
  t.is(x.location, bob);
  t.deepEqual(await x.getShape(), [20]);
});

test("a remoteGet over the budget is refused and the object stays on its holder: checked at once when the pointer knows the shape, by the holder when it does not", async (t) => {
  const { sim, bob, dave } = world();
  const known = tf.zeros([20]).send(bob);
  const unknown = known.add(1); // a remote op's result: its shape is not known here, nor in the chain
  await refusedForBudget(t, known.send(dave).remoteGet(), /object \d+ \(from bob\)/, 'maxTensorElements', 'remoteGet, shape known');
  const onBob = unknown.idAtLocation;
  const chain = unknown.send(dave);
  const error = await t.throwsAsync(Promise.resolve(chain.remoteGet()));
  t.is((error as RemoteError).remoteName, 'ResourceLimitError');
  t.regex(error!.message, new RegExp(`remoteGet: object ${onBob} on bob has 20 elements, more than the 10 that dave has room for in its budget .*; it stays on bob`));
  t.like(await sim.ask('bob', 'getShape', { id: onBob }), { kind: 'shape', shape: [20] }, 'still on bob');
  const fill = [1, 2, 3].map(() => tf.ones([10]).send(dave)); // 30 elements: all of dave's room
  await sim.settle();
  const objects = sim.inspect(dave).objects;
  t.true(
    fill.every((p) => objects.get(p.idAtLocation) instanceof tf.Tensor),
    `the room set aside while the answer was awaited is free again: ${sim.inspect(dave).format()}`,
  );
  t.is(objects.size, 5, 'two pointer records and three tensors');
});

test('a remoteGet whose object no longer fits when it arrives (the store grew meanwhile) hands it back to its holder, label and all', async (t) => {
  const { sim, bob } = world();
  const dave = sim.worker('dave2', { budget: { maxTensorElements: 20, maxStoredElements: 30 } });
  const data = bob.load(tf.ones([15]), { allowedUsers: ['bob', 'dave2'] });
  const unknown = data.add(0); // shape not known here: dave2 can reserve nothing, and asks for the room it has now (20)
  const onBob = unknown.idAtLocation;
  const chain = unknown.send(dave);
  await sim.settle();
  const label = sim.inspect(bob).labelOf(onBob);
  const pull = chain.remoteGet();
  const filler = tf.ones([20]).send(dave); // same channel, right behind the remoteGet: stored before bob's answer arrives
  const error = await t.throwsAsync(Promise.resolve(pull));
  t.regex(error!.message, /ResourceLimitError: remoteGet on dave2 would allocate object \d+ \(from bob\) .* maxStoredElements of 30/);
  await sim.settle();
  t.true(sim.inspect(bob).objects.get(onBob) instanceof tf.Tensor, 'bob holds the object again, under its id');
  t.deepEqual(sim.inspect(bob).labelOf(onBob), label, 'with its label');
  t.true(sim.inspect(dave).objects.get(filler.idAtLocation) instanceof tf.Tensor);
});

test('one refusal, one log: the same seed gives the same events', async (t) => {
  const run = async () => {
    const { sim, dave } = world();
    await t.throwsAsync(Promise.resolve(tf.zeros([20]).send(dave).get()));
    await sim.settle();
    return sim.log.toJSONL();
  };
  t.is(await run(), await run());
});

test('only the worker asked may answer a forwarded request: forged acks to a move (from an actor that guesses the message ids) do not make bob drop the object', async (t) => {
  const { sim, bob, dave } = world();
  // mallory answers 'forge' by replying 'ack' to every message id bob:0 … bob:29, as if it were the destination.
  const mallory = fromTransition(
    (state: { io: ActorIO }, event: ActorMessage) => {
      if (event.type === 'forge') {
        for (let n = 0; n < 30; n++) state.io.reply({ id: `bob:${n}`, from: 'bob' } as unknown as Envelope, 'reply', { kind: 'ack' });
      }
      return state;
    },
    ({ input }: { input: { io: ActorIO } }) => ({ io: input.io }),
  );
  sim.spawn(mallory, 'mallory');
  const x = tf.zeros([20]).send(bob);
  await x.getShape();
  const moved = x.move(dave); // dave will refuse: over its budget
  sim.tell('mallory', 'forge', {});
  await refusedForBudget(t, moved, `object ${x.idAtLocation}`, 'maxTensorElements', 'the move, whatever mallory says');
  t.is(x.location, bob);
  t.deepEqual(await x.getShape(), [20], 'the object is still on bob');
});
