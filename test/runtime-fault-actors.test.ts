/**
 * A fault plan that names an actor the run does not have is an error where it would
 * apply, never a fault that silently does not happen (scenarios written in code do not
 * declare their actors before the run, so the runtime is the last line of defence).
 */
import test from 'ava';
import { type FaultPlanInput, FaultPlanError, SimulationCore } from '../src/runtime/index.js';
import { echoMachine } from './helpers/actors.js';

async function run(faults: FaultPlanInput) {
  const sim = new SimulationCore({ seed: 1, faults, backend: 'none' });
  sim.spawn(echoMachine, 'bob');
  for (let n = 0; n < 3; n++) await sim.request('bob', 'ping', { n });
  await sim.settle();
  return sim;
}

test('a timed crash of an unknown actor stops the run when it is due, naming the field and the actors', async (t) => {
  const error = await t.throwsAsync(run({ crashes: [{ actor: 'bob', at: 100 }, { actor: 'bobb', at: 1 }] }), { instanceOf: FaultPlanError });
  t.is(error!.message, "fault plan crashes[1].actor: no actor 'bobb' exists at virtual time 1 ms, when this crash is due. Actors of this run: me, bob. Fix the id in the fault plan (a typo?).");
});

test('a partition naming an unknown actor stops the run when it starts', async (t) => {
  const error = await t.throwsAsync(run({ partitions: [{ groups: [['me'], ['bob', 'alice']], from: 2, until: 5 }] }), { instanceOf: FaultPlanError });
  t.regex(error!.message, /^fault plan partitions\[0\]\.groups: no actor 'alice' exists at virtual time 2 ms, when this partition starts\./);
});

test('a message-count crash of an actor that never existed is reported when the run closes', async (t) => {
  const sim = await run({ crashes: [{ actor: 'carol', afterMessages: 2 }] });
  const error = t.throws(() => sim.close(), { instanceOf: FaultPlanError });
  t.regex(error!.message, /^fault plan crashes\[0\]\.actor: no actor 'carol' was ever spawned in this run, so this crash never happened\./);
  // The same plan naming a real actor crashes it and closes cleanly.
  const ok = new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'bob', afterMessages: 2 }] }, backend: 'none' });
  ok.spawn(echoMachine, 'bob');
  ok.send('bob', 'ping', { n: 1 });
  ok.send('bob', 'ping', { n: 2 });
  await ok.settle();
  t.true(ok.actor('bob').crashed);
  t.notThrows(() => ok.close());
});
