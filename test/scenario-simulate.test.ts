import test, { type ExecutionContext } from 'ava';
import pingPong from '../scenarios/ping-pong.js';
import staleUpdate from '../scenarios/stale-update-bug.js';
import { defineScenario, noHandlerErrors, simulate, type TestContextLike } from '../src/scenario/index.js';

/** Runs `fn` as an ava attempt and discards it, returning whether it passed and its failure messages. */
async function attempt(t: ExecutionContext, fn: (tt: TestContextLike) => Promise<unknown>): Promise<{ passed: boolean; message: string }> {
  const result = await t.try(async (tt) => {
    await fn(tt);
  });
  const outcome = { passed: result.passed, message: result.errors.map((e) => e.message).join('\n') };
  result.discard();
  return outcome;
}

test('simulate passes when every seed keeps every check', async (t) => {
  const report = await simulate(t, pingPong, { seeds: 10, invariants: { 'no handler errors (extra)': noHandlerErrors } });
  t.is(report.runs, 10);
  t.is(report.failures.length, 0);
});

test('simulate fails a test on a bad seed, with the command that reproduces it and a minimal fault plan', async (t) => {
  const { passed, message } = await attempt(t, (tt) => simulate(tt, staleUpdate, { seeds: '1..5', faults: 'scenarios/faults/stale-update.json' }));
  t.false(passed);
  t.regex(message, /stale-update-bug: \d+ failing seed\(s\)/);
  t.regex(message, /✗ every aggregated update belongs to the current round/);
  t.regex(message, /reproduce: npx fedsim run scenarios\/stale-update-bug\.ts --seed \d+ --faults scenarios\/faults\/stale-update\.json/);
  t.regex(message, /minimal faults \(\d+ injected → 1\): npx fedsim run scenarios\/stale-update-bug\.ts --seed \d+ --faults '\{"script":\[\{"msg":"client-\d:\d+","delay":[\d.]+\}\]\}'/);
});

test('simulate reports a failing extra invariant and a run that throws', async (t) => {
  const invariant = await attempt(t, (tt) =>
    simulate(tt, pingPong, { seeds: [1, 2], invariants: { 'never more than 10 events': (_r, sim) => sim.log.length <= 10 || `${sim.log.length} events` } }),
  );
  t.false(invariant.passed);
  t.regex(invariant.message, /never more than 10 events: \d+ events/);

  const unknownActor = defineScenario({
    name: 'unknown-actor',
    path: import.meta.url,
    run: async (sim) => {
      await sim.request('nobody-answers', 'hello', {}).catch(() => undefined);
    },
  });
  const thrown = await attempt(t, (tt) => simulate(tt, unknownActor, { seeds: [1] }));
  t.false(thrown.passed);
  t.regex(thrown.message, /\(run\): UnknownActorError/);
  t.regex(thrown.message, /npx fedsim run test\/scenario-simulate\.test\.ts --seed 1/);
});
