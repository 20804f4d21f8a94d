/**
 * Determinism, the product's promise: one seed ⇒ the same event log, byte for byte,
 * for a run that mixes ops, gets, moves, autograd and errors — and duplicate
 * deliveries from a fault plan are recognised, so the flow's results do not change.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { checkDeterminism, rt, type Simulation, type SimulationOptions } from '../src/index.js';
import pointersBasics from '../scenarios/pointers-basics.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

/** Ops, gets, a move, a multi-pointer, autograd, and four kinds of error. Returns what it observed. */
async function mixed(sim: Simulation): Promise<string[]> {
  const seen: string[] = [];
  const note = async (what: string, p: PromiseLike<unknown>) => {
    try {
      const value = await p;
      seen.push(`${what}: ${value instanceof tf.Tensor ? JSON.stringify(value.arraySync()) : String(value)}`);
      if (value instanceof tf.Tensor) value.dispose();
    } catch (error) {
      seen.push(`${what}: ${(error as Error).name}`);
    }
  };
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2, 3]).send(bob);
  const y = tf.tensor([4, 5, 6]).send(bob);
  const z = sim.tidy(() => x.add(y).mul(2));
  const w = tf.tensor([1, 2]).send(alice);
  try {
    x.add(w);
  } catch (error) {
    seen.push(`collocation: ${(error as Error).name}`);
  }
  await note('failed op', rt.matMul(x, y).add(1).get());
  await note('move', z.move(alice).then((p) => p.location.id));
  await note('z', z.get());
  await note('second get', z.get());
  await note('multi sum', tf.tensor([1, 2]).send(bob, alice).get({ sumResults: true }));
  const train = tf.tensor([1, 2]).send(bob, { requiresGrad: true });
  const loss = sim.tidy(() => train.square().sum());
  loss.backward();
  await note('grad', train.grad.get());
  await note('private', tf.tensor([9]).send(bob, { allowedUsers: ['bob'] }).get());
  await note('raw unknown op', sim.request('bob', 'command', { op: 'nope', args: [], resultIds: [] }));
  sim.mark('done', { objects: sim.inspect(bob).objects.size + sim.inspect(alice).objects.size });
  return seen;
}

async function runTwice(options: SimulationOptions): Promise<[Simulation, Simulation, string[], string[]]> {
  const first = simulation(options);
  const seenFirst = await mixed(first);
  await first.settle();
  const second = simulation(options);
  const seenSecond = await mixed(second);
  await second.settle();
  return [first, second, seenFirst, seenSecond];
}

test.serial('two runs with one seed give identical event logs (ops, gets, moves, autograd, errors)', async (t) => {
  const [first, second, seenFirst, seenSecond] = await runTwice({ seed: 11 });
  t.deepEqual(seenFirst, [
    'collocation: TensorsNotCollocatedError',
    'failed op: RemoteError',
    'move: alice',
    'z: [10,14,18]',
    'second get: ObjectNotFoundError',
    'multi sum: [2,4]',
    'grad: [2,4]',
    'private: GetNotPermittedError',
    'raw unknown op: RemoteError',
  ]);
  t.deepEqual(seenSecond, seenFirst);
  const log = first.log.toJSONL();
  t.is(second.log.toJSONL(), log);
  for (const type of ['"type":"move"', '"type":"command"', '"type":"objectRequest"', '"type":"error"', '"type":"backward"', '"type":"delete"']) {
    t.true(log.includes(type), `the log records ${type}`);
  }
  t.true(first.log.length > 60);
});

test.serial('another seed changes the schedule, not the results', async (t) => {
  const a = simulation({ seed: 1 });
  const b = simulation({ seed: 2 });
  const seenA = await mixed(a);
  const seenB = await mixed(b);
  t.deepEqual(seenA, seenB);
  t.not(a.log.toJSONL(), b.log.toJSONL());
});

test.serial('runtime checkDeterminism agrees (the pointer Simulation as the factory), in strict mode too', async (t) => {
  for (const strict of [false, true]) {
    const report = await checkDeterminism<Simulation>((sim) => mixed(sim), { seed: 5, strict }, (options) => simulation(options));
    t.true(report.deterministic, JSON.stringify(report.divergence));
    t.is(report.hashes[0], report.hashes[1]);
  }
});

test.serial('duplicate deliveries (fault plan) are recognised: the tutorial prints the same, nothing leaks, logs still reproduce', async (t) => {
  const clean = await pointersBasics(simulation({ seed: 3 }));
  const before = tf.memory().numTensors;
  const faulty = simulation({ seed: 3, faults: { duplicate: 0.5 } });
  const withDuplicates = await pointersBasics(faulty);
  await faulty.settle();
  t.true(faulty.log.events.some((e) => e.ev === 'duplicated'), 'the plan did duplicate messages');
  t.deepEqual(withDuplicates.printed, clean.printed);
  t.is(tf.memory().numTensors, before);
  t.deepEqual(faulty.remoteErrors, [], 'no duplicate was handled twice (that would fail with ObjectExistsError)');
  const again = simulation({ seed: 3, faults: { duplicate: 0.5 } });
  await pointersBasics(again);
  await again.settle();
  t.is(again.log.toJSONL(), faulty.log.toJSONL());
});
