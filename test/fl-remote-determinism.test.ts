/**
 * Determinism of the remote-training tutorial flows: two runs with one seed give the
 * same event log, byte for byte (also in strict mode, through checkDeterminism);
 * another seed changes the schedule but not what the tutorial prints; and duplicate
 * deliveries from a fault plan change nothing either (every model, optimiser and
 * permutation message is handled at most once).
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { checkDeterminism, type Simulation } from '../src/index.js';
import toyFederated from '../scenarios/toy-federated.js';
import secureAverage from '../scenarios/secure-average.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const scenarios = [
  ['toy-federated', toyFederated],
  ['secure-average', secureAverage],
] as const;

for (const [name, scenario] of scenarios) {
  test.serial(`${name}: two runs with one seed give identical event logs`, async (t) => {
    const first = simulation({ seed: 42 });
    const second = simulation({ seed: 42 });
    const a = await scenario(first);
    const b = await scenario(second);
    t.deepEqual(a.printed, b.printed);
    const log = first.log.toJSONL();
    t.is(second.log.toJSONL(), log);
    for (const type of ['"type":"model"', '"type":"modelForward"', '"type":"optimizerStep"', '"type":"optimizerZeroGrad"', '"type":"backward"']) t.true(log.includes(type), `the log records ${type}`);
  });

  test.serial(`${name}: checkDeterminism agrees, in strict mode too`, async (t) => {
    for (const strict of [false, true]) {
      const report = await checkDeterminism<Simulation>((sim) => scenario(sim), { seed: 9, strict }, (options) => simulation(options));
      t.true(report.deterministic, JSON.stringify(report.divergence));
    }
  });

  test.serial(`${name}: another seed or duplicated deliveries change the schedule, not what it prints`, async (t) => {
    const reference = await scenario(simulation({ seed: 1 }));
    const other = simulation({ seed: 2 });
    t.deepEqual((await scenario(other)).printed, reference.printed);
    const before = tf.memory().numTensors;
    const faulty = simulation({ seed: 1, faults: { duplicate: 0.3 } });
    const duplicated = await scenario(faulty);
    await faulty.settle();
    t.true(faulty.log.events.some((e) => e.ev === 'duplicated'), 'the plan did duplicate messages');
    t.deepEqual(duplicated.printed, reference.printed);
    t.deepEqual(faulty.remoteErrors, []);
    t.is(tf.memory().numTensors, before);
  });
}
