import test from 'ava';
import fc from 'fast-check';
import staleUpdate from '../scenarios/stale-update-bug.js';
import { ddmin, injectedScript, planOf, readFaultPlanFile, runScenario, shrinkFaults } from '../src/scenario/index.js';

test('ddmin finds a 1-minimal failing subset', async (t) => {
  // Fails when both 3 and 7 are present.
  const result = await ddmin([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], (s) => s.includes(3) && s.includes(7));
  t.deepEqual(result.items, [3, 7]);
});

test('ddmin: the result always fails and removing any one item makes it pass (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 3 }), async (items, k) => {
      const culprits = items.slice(0, k);
      const fails = (s: number[]) => culprits.every((c) => s.includes(c));
      const { items: minimal } = await ddmin(items, fails);
      if (!fails(minimal)) return false;
      return minimal.every((_, i) => !fails(minimal.filter((__, j) => j !== i)));
    }),
  );
  t.pass();
});

test('injectedScript turns the faults a log records into scripted faults', (t) => {
  const script = injectedScript([
    { ev: 'sent', msg: 'a:0', deliverAt: 5 },
    { ev: 'delayed', msg: 'a:0', by: 4 },
    { ev: 'reordered', msg: 'a:0' },
    { ev: 'sent', msg: 'b:1', deliverAt: 2 },
    { ev: 'dropped', msg: 'b:1', reason: 'fault' },
    { ev: 'sent', msg: 'c:2', deliverAt: 3 },
    { ev: 'duplicated', msg: 'c:2', deliverAt: 10 },
    { ev: 'dropped', msg: 'd:3', reason: 'crashed' },
  ]);
  t.deepEqual(script, [
    { msg: 'a:0', delay: 4, reorder: true },
    { msg: 'b:1', drop: true },
    { msg: 'c:2', duplicateAfter: 7 },
  ]);
});

test('the injected faults, replayed as a script, reproduce the failing run exactly', async (t) => {
  const faults = readFaultPlanFile('scenarios/faults/stale-update.json');
  const failing = await runScenario(staleUpdate, { seed: 1, faults });
  t.false(failing.ok);
  const script = injectedScript(failing.sim.log.events);
  const replayed = await runScenario(staleUpdate, { seed: 1, faults: planOf(script.map((fault) => ({ kind: 'script', fault }))) });
  t.deepEqual(replayed.sim.log.eventLines(), failing.sim.log.eventLines());
});

test('shrinkFaults reduces the stale-update failure to a single delayed update', async (t) => {
  const faults = readFaultPlanFile('scenarios/faults/stale-update.json');
  const failing = await runScenario(staleUpdate, { seed: 2, faults });
  const shrunk = await shrinkFaults(staleUpdate, failing, { seed: 2 });
  t.true(shrunk.reproduced);
  t.is(shrunk.faults, 1);
  t.true(shrunk.injected > 2);
  const [only] = shrunk.plan.script!;
  t.regex(only.msg, /^client-\d:\d+$/, 'an update from a client');
  t.true(only.delay! > 0);
  t.deepEqual(Object.keys(only).sort(), ['delay', 'msg']);
  const again = await runScenario(staleUpdate, { seed: 2, faults: shrunk.plan });
  t.false(again.ok);
});
