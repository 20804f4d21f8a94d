/**
 * Asynchronous runs (FedBuff, FedAsync) end to end: deterministic under the seed, replayable
 * from their log, the same as a synchronous run where the algorithms coincide, and whole
 * under the fault plans — an update counts once or not at all, a lost dispatch or a crashed
 * client frees its slot after the timeout, a restarted server resumes from its checkpoint.
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore, verifyRun } from '../src/runtime/index.js';
import { digestOf } from '../src/runtime/canonical.js';
import { type AsyncUpdateNote, runAsyncFederated } from '../src/fl/async/index.js';
import { FederatedRunError, FlConfigError } from '../src/fl/errors.js';
import { FL, type FederatedResult, runFederated } from '../src/fl/rounds/index.js';
import type { RoundMetrics } from '../src/fl/metrics/round-metrics.js';
import { spec } from './helpers/fl-world.js';
import { eventsOf, sentIds } from './helpers/fl-world.js';
import { FEDASYNC, FEDBUFF, arrayPopulation, asyncClients, asyncOptions, runAsyncWorld } from './helpers/async-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const noteOf = (m: RoundMetrics) => m.notes!.async as unknown as AsyncUpdateNote;

/** Every update of the run, as (client, dispatch): each dispatch at most once, and as many as the updates promise. */
function assertCountedOnce(t: import('ava').ExecutionContext, result: FederatedResult, perUpdate: number) {
  const dispatches = result.rounds.flatMap((m) => noteOf(m).dispatches);
  t.is(new Set(dispatches).size, dispatches.length, `a dispatch counted twice: ${dispatches}`);
  t.deepEqual(result.rounds.map((m) => noteOf(m).dispatches.length), result.rounds.map(() => perUpdate));
  t.deepEqual(result.rounds.map((m) => m.round), result.rounds.map((_, i) => i + 1), 'model versions 1, 2, … in order');
}

for (const [name, settings, perUpdate] of [['fedbuff', FEDBUFF, 2], ['fedasync', FEDASYNC, 1]] as const) {
  test(`${name}: two runs with one seed give the same event log and weights; another seed gives another run`, async (t) => {
    const a = await runAsyncWorld(asyncOptions(settings), 5);
    const b = await runAsyncWorld(asyncOptions(settings), 5);
    const c = await runAsyncWorld(asyncOptions(settings), 6);
    t.is(a.error, undefined, String(a.error));
    t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
    t.is(a.result!.weightsSha256, b.result!.weightsSha256);
    t.not(c.result!.weightsSha256, a.result!.weightsSha256);
    t.not(c.sim.log.eventLines().join('\n'), a.sim.log.eventLines().join('\n'));
    assertCountedOnce(t, a.result!, perUpdate);
    // Stale updates happened (the slow clients), and each was weighted by its staleness.
    const notes = a.result!.rounds.map(noteOf);
    t.true(notes.some((n) => n.staleness.some((s) => s > 0)));
    for (const n of notes) t.deepEqual(n.stalenessWeights, n.staleness.map((s) => 1 / Math.sqrt(1 + s)));
    // Virtual time moves on with every update, and the central test set is evaluated at each.
    const ends = a.result!.rounds.map((m) => m.endedAt);
    t.deepEqual([...ends].sort((x, y) => x - y), ends);
    t.true(a.result!.rounds.every((m) => m.testAccuracy !== undefined && m.bytesDown > 0 && m.bytesUp > 0));
  });

  test(`${name}: a recorded run under faults replays event for event (schedule replay and re-execution)`, async (t) => {
    const faults = { duplicate: 0.2, delay: { rate: 0.3, dist: { kind: 'exponential' as const, mean: 4 } } };
    const recorded = await runAsyncWorld(asyncOptions(settings), 7, faults);
    t.is(recorded.error, undefined, String(recorded.error));
    const jsonl = recorded.sim.log.toJSONL();
    const replay = new SimulationCore({ seed: 7, schedule: jsonl });
    const again = await runAsyncFederated(replay, asyncOptions(settings));
    await replay.settle();
    t.deepEqual(replay.log.eventLines(), recorded.sim.log.eventLines());
    t.is(again.weightsSha256, recorded.result!.weightsSha256);
    const verified = await verifyRun(jsonl, async (sim) => {
      await runAsyncFederated(sim, asyncOptions(settings));
    });
    t.is(verified.events, recorded.sim.log.length);
  });

  test(`${name}: 30% duplicated and delayed messages never count an update twice`, async (t) => {
    const run = await runAsyncWorld(asyncOptions(settings), 3, { duplicate: 0.3, delay: { rate: 0.3, dist: { kind: 'uniform', min: 0, max: 20 } } });
    t.is(run.error, undefined, String(run.error));
    t.true(eventsOf(run.sim, 'duplicated').some((e) => e.type === FL.fitResult), 'some update was delivered twice');
    assertCountedOnce(t, run.result!, perUpdate);
    // The copies were refused, not counted.
    t.true(eventsOf(run.sim, 'sent').some((e) => e.type === FL.updateRejected));
  });
}

test('FedBuff with K = 1, η_g = 1 and one client at a time is FedAvg: the same model as the synchronous engine, to the bit', async (t) => {
  const one = [asyncClients[2]];
  const common = { model: spec, clients: one, localEpochs: 2, batchSize: 8, lr: 0.2, roundDeadlineMs: 400 };
  const asyncRun = await runAsyncFederated(new SimulationCore({ seed: 4 }), { ...common, async: { algorithm: 'fedbuff', concurrency: 1, bufferSize: 1, serverLr: 1, maxServerUpdates: 3 } });
  const syncRun = await runFederated(new SimulationCore({ seed: 4 }), { ...common, rounds: 3, clientEvaluation: 'none' });
  t.is(asyncRun.weightsSha256, syncRun.weightsSha256);
  // FedAsync with α = 1 and the constant staleness function replaces the model by the client's: the same again.
  const mixed = await runAsyncFederated(new SimulationCore({ seed: 4 }), { ...common, async: { algorithm: 'fedasync', concurrency: 1, mixing: 1, staleness: { kind: 'constant' }, maxServerUpdates: 3 } });
  t.is(mixed.weightsSha256, syncRun.weightsSha256);
});

test('a lost fit is sent again and answered; a client whose every message is lost is given up at the timeout and its slot re-used', async (t) => {
  const reference = await runAsyncWorld(asyncOptions(FEDBUFF), 3);
  const firstFit = sentIds(reference.sim, FL.fit, 'client-1')[0];
  // Fits are re-sent every 5 virtual ms while their dispatch is out (the run lasts about 50).
  const quick = { ...FEDBUFF, retryMs: 5, dispatchTimeoutMs: 20 };
  const lostFit = await runAsyncWorld(asyncOptions(quick), 3, { script: [{ msg: firstFit, drop: true }] });
  t.is(lostFit.error, undefined, String(lostFit.error));
  t.true(eventsOf(lostFit.sim, 'dropped').some((e) => e.msg === firstFit));
  assertCountedOnce(t, lostFit.result!, 2);
  t.true(lostFit.result!.rounds.some((m) => noteOf(m).clients.includes('client-1')), "client-1's update arrived after the re-sent fit");

  const cutOff = await runAsyncWorld(asyncOptions(quick), 3, { links: [{ from: 'client-0', to: 'server', drop: 1 }] });
  t.is(cutOff.error, undefined, String(cutOff.error));
  assertCountedOnce(t, cutOff.result!, 2);
  t.false(cutOff.result!.rounds.some((m) => noteOf(m).clients.includes('client-0')));
  const givenUp = cutOff.result!.rounds.flatMap((m) => m.failures).filter((f) => f.clientId === 'client-0');
  t.true(givenUp.length > 0);
  t.regex(givenUp[0].reason, /no update within dispatchTimeoutMs \(20 virtual ms\); the slot is given to another client/);
});

test('a lost update comes back from the client\'s storage on the re-sent fit; a delayed one arriving after it is refused, not counted again', async (t) => {
  const quick = { ...FEDBUFF, retryMs: 5, dispatchTimeoutMs: 20 };
  const reference = await runAsyncWorld(asyncOptions(quick), 3);
  const [firstUpdate] = sentIds(reference.sim, FL.fitResult).filter((id) => id.startsWith('client-1:'));
  for (const fault of [{ drop: true }, { delay: 60 }]) {
    const run = await runAsyncWorld(asyncOptions(quick), 3, { script: [{ msg: firstUpdate, ...fault }] });
    t.is(run.error, undefined, String(run.error));
    assertCountedOnce(t, run.result!, 2);
    const dispatch = run.result!.rounds.flatMap((m) => noteOf(m).dispatches.filter((_, i) => noteOf(m).clients[i] === 'client-1'))[0];
    t.true(dispatch !== undefined, "client-1's update was counted");
    // Its answers to that dispatch are the same update each time (the repeat is answered from storage).
    const answers = eventsOf(run.sim, 'sent').filter((e) => e.type === FL.fitResult && e.from === 'client-1');
    t.true(answers.length >= 2);
    t.is(new Set(answers.slice(0, 2).map((e) => digestOf(e.envelope.payload))).size, 1);
    if (fault.delay) {
      const late = eventsOf(run.sim, 'delivered').find((e) => e.msg === firstUpdate)!;
      const refusal = eventsOf(run.sim, 'sent').find((e) => e.type === FL.updateRejected && e.to === 'client-1' && e.t === late.t);
      t.truthy(refusal, 'the late original was answered with fl/update-rejected');
    }
  }
});

test('a crashed client is given up after the timeout; the run goes on with the others', async (t) => {
  const run = await runAsyncWorld(asyncOptions({ ...FEDASYNC, retryMs: 5, dispatchTimeoutMs: 20 }), 3, { crashes: [{ actor: 'client-0', at: 1 }] });
  t.is(run.error, undefined, String(run.error));
  assertCountedOnce(t, run.result!, 1);
  t.true(run.result!.rounds.flatMap((m) => m.failures).some((f) => f.clientId === 'client-0' && f.kind === 'fault'));
  t.false(run.result!.rounds.some((m) => noteOf(m).clients.includes('client-0')));
});

test('a server crash that loses its memory resumes from its checkpoint: the versions before it are kept, no dispatch number is given twice', async (t) => {
  const reference = await runAsyncWorld(asyncOptions(FEDBUFF), 3);
  const crashAt = reference.result!.rounds[2].endedAt + 0.5; // after version 3
  const run = await runAsyncWorld(asyncOptions(FEDBUFF), 3, { crashes: [{ actor: 'server', at: crashAt, restartAfter: 30, loseState: true }] });
  t.is(run.error, undefined, String(run.error));
  t.true(eventsOf(run.sim, 'restarted').some((e) => e.actor === 'server' && !e.stateKept));
  assertCountedOnce(t, run.result!, 2);
  // The first three versions are the fault-free run's (the checkpoint kept them), the model went on from there.
  const key = (m: RoundMetrics) => JSON.stringify([m.round, m.endedAt, noteOf(m)]);
  t.deepEqual(run.result!.rounds.slice(0, 3).map(key), reference.result!.rounds.slice(0, 3).map(key));
  // Each fit number goes to one client with one model: no client refused a "second, different fit".
  t.false(eventsOf(run.sim, 'sent').some((e) => e.type === 'error' && e.from.startsWith('client-')));
  const fits = run.sim.log.events.filter((e) => e.ev === 'sent' && e.type === FL.fit) as Array<{ to: string; msg: string }>;
  t.true(fits.length > 0);
});

test('with devices, only online clients are dispatched to', async (t) => {
  // client-0 and client-1 never online; client-2 online only from 30 ms on; the others always.
  const always: Array<[number, number]> = [[0, Infinity]];
  const devices = arrayPopulation([[], [], [[30, Infinity]], always, always, always]);
  // Four slots, three clients online at the start: the fourth slot waits for client-2 (ticks every 5 ms).
  const run = await runAsyncWorld(asyncOptions({ ...FEDBUFF, concurrency: 4, retryMs: 5 }, { devices }), 3);
  t.is(run.error, undefined, String(run.error));
  const fits = eventsOf(run.sim, 'sent').filter((e) => e.type === FL.fit);
  t.false(fits.some((e) => e.to === 'client-0' || e.to === 'client-1'));
  const toTwo = fits.filter((e) => e.to === 'client-2');
  t.true(toTwo.length > 0, 'client-2 is dispatched to once online');
  t.true(toTwo.every((e) => e.t >= 30), `fits to client-2 at ${toTwo.map((e) => e.t)}`);
  t.throws(() => runAsyncFederated(new SimulationCore({ seed: 1 }), asyncOptions(FEDBUFF, { devices: arrayPopulation([always]) })), { instanceOf: FlConfigError, message: /devices has 1 devices for 6 clients/ });
});

test('a run where no update can arrive fails after stallTimeoutMs, naming why, instead of running for ever', async (t) => {
  const run = await runAsyncWorld(asyncOptions({ ...FEDASYNC, stallTimeoutMs: 2_000 }), 3, { links: [{ from: 'client-*', to: 'server', drop: 1 }] });
  t.true(run.error instanceof FederatedRunError, String(run.error));
  t.regex((run.error as Error).message, /no client update was accepted for \d+ virtual ms \(stallTimeoutMs 2000\)/);
});

test('settings that do not apply to an async run are refused, each named', (t) => {
  const sim = () => new SimulationCore({ seed: 1 });
  const refused = (extra: Record<string, unknown>, pattern: RegExp) => {
    const error = t.throws(() => runAsyncFederated(sim(), { ...asyncOptions(FEDBUFF), ...extra } as never), { instanceOf: FlConfigError });
    t.regex(error!.message, pattern);
  };
  refused({ aggregation: 'secagg+' }, /aggregation: 'secagg\+' needs a fixed cohort per round/);
  refused({ aggregation: 'secure-worker' }, /aggregation: 'secure-worker'/);
  refused({ dp: { clip: 1, noiseMultiplier: 1 } }, /dp: client-level DP/);
  refused({ strategy: { name: 'fedprox', mu: 1 } }, /strategy: under async the server's strategy is async\.algorithm/);
  refused({ strategy: { name: 'krum', f: 1 } }, /strategy/);
  refused({ rounds: 5 }, /rounds: an async run has no rounds/);
  refused({ clientEvaluation: 'every-round' }, /clientEvaluation/);
  refused({ async: { ...FEDBUFF, concurrency: 7 } }, /async\.concurrency 7 is more than the 6 clients/);
  refused({ async: { algorithm: 'fedbuff', concurrency: 2, bufferSize: 2 } }, /async\.maxServerUpdates: an async run needs a bound/);
  refused({ lr: -1 }, /lr/);
});
