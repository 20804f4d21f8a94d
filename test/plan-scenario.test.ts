/**
 * Seed 002 §2 as a scenario (scenarios/plans.ts), and determinism: one seed ⇒ the
 * same event log, byte for byte, for runs that build, send, run, train and fetch plans.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { checkDeterminism, trainingPlan, type Simulation } from '../src/index.js';
import plans from '../scenarios/plans.js';
import { classification, Mlp } from './helpers/plans.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

for (const strict of [false, true]) {
  test.serial(`scenarios/plans prints seed 002's flows: calcu on alice, Net on bob, bitwise equal to local${strict ? ' (strict)' : ''}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await plans(sim);
    t.deepEqual(printed.slice(0, 5), [
      'Plan calcu(x, y):\n  %2 = add(x, y)\n  %3 = div(%2, 2)\n  return %3',
      '[PlanPointer | me:2 -> alice:1 (calcu)]',
      '[PointerTensor | me:8 -> alice:7]',
      'tensor([2, 2, 2, 2])',
      'runPlan messages: 1',
    ]);
    t.true(printed[5].startsWith('Plan Net(x):\n  state fc1.weight: float32[2, 3]\n'));
    t.true(printed[5].endsWith('  %10 = logSoftmax(%9, 0)\n  return %10'));
    t.regex(printed[6], /^tensor\(\[-?\d\.\d+, -?\d\.\d+\]\)$/);
    t.deepEqual(printed.slice(7), [
      'same bits as net.forward(x) here: true',
      '{9: <Plan Net(x): 6 ops, 4 state tensors>, 11: tensor([1, 2])}',
      'fetched back: Net — bob now holds 1 object(s)',
      'the fetched plan gives the same bits: true',
      'runPlan messages: 2',
    ]);
    t.deepEqual(observed.calcu, [2, 2, 2, 2]);
    t.true(observed.bitwise as boolean);
    t.is(observed.runPlanMessages, 2, 'one message per plan run');
    t.deepEqual(sim.remoteErrors, []);
    t.is(tf.memory().numTensors, before, 'the scenario leaves no tensor behind');
  });
}

/** The scenario, then a training round as a plan: everything plans do, in one run. */
async function withTraining(sim: Simulation): Promise<number[]> {
  const { observed } = await plans(sim);
  const bob = sim.workerOf('bob');
  const model = new Mlp(3, 5, 2, { rng: sim.rng('model/init') });
  const { x, y } = classification(sim, 12, 3, 2);
  const ptr = trainingPlan(model, { loss: 'softmaxCrossEntropy', optimizer: { lr: 0.3 }, argsShape: [[-1, 3], [-1, 2]] }).send(bob);
  const result = await ptr.train({ data: x.send(bob), target: y.send(bob), epochs: 2, batchSize: 5 });
  const trained = await ptr.get();
  const weights = Array.from(trained.stateTensors().get('l2.bias')!.dataSync());
  trained.dispose();
  model.dispose();
  tf.dispose([x, y]);
  sim.mark('trained', { meanLoss: result.meanLoss });
  return [...(observed.net as number[]), result.meanLoss, ...weights];
}

test.serial('two runs with one seed give identical event logs (plans built, sent, run, trained, fetched)', async (t) => {
  const first = simulation({ seed: 31 });
  const second = simulation({ seed: 31 });
  const a = await withTraining(first);
  const b = await withTraining(second);
  t.deepEqual(a, b);
  const log = first.log.toJSONL();
  t.is(second.log.toJSONL(), log);
  for (const type of ['"type":"object"', '"type":"runPlan"', '"type":"runPlanLoop"', '"type":"objectRequest"']) t.true(log.includes(type), `the log records ${type}`);
  const other = simulation({ seed: 32 });
  t.notDeepEqual(await withTraining(other), a, 'another seed draws other initial weights and shuffles');
});

test.serial('runtime checkDeterminism agrees, in strict mode too', async (t) => {
  for (const strict of [false, true]) {
    const report = await checkDeterminism<Simulation>((sim) => withTraining(sim), { seed: 5, strict }, (options) => simulation(options));
    t.true(report.deterministic, JSON.stringify(report.divergence));
  }
});
