/**
 * The round engine under the faults that used to break each aggregation mode (issue #13):
 * every FL protocol message is safe to deliver twice and safe to lose. Each test aims one
 * fault at one message by id (found in the fault-free run, whose ids the faulty run shares
 * up to the fault) and checks the run gives the fault-free weights — or skips a round with
 * a reason, never commits a mix.
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import type { FaultPlanInput } from '../src/runtime/index.js';
import { config as rxjsConfig } from 'rxjs';
import { SimulationCore } from '../src/runtime/index.js';
import { FL, runFederated } from '../src/fl/rounds/index.js';
import { FederatedRunError } from '../src/fl/errors.js';
import { SECURE_WORKER } from '../src/fl/aggregators/secure-worker-actor.js';
import { ADDITIVE } from '../src/fl/aggregators/additive-messages.js';
import { SECAGG } from '../src/fl/secure/secagg/index.js';
import { MODES, type Mode, eventsOf, runWorld, sentIds, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients();
const SEED = 3;

async function faultFree(mode: Mode) {
  const run = await runWorld(tinyOptions(mode, clients), SEED);
  if (!run.result) throw run.error;
  return run;
}

/** The run under `faults` must finish with the fault-free run's weights and rounds. */
async function sameAsFaultFree(t: import('ava').ExecutionContext, mode: Mode, faults: FaultPlanInput) {
  const reference = await faultFree(mode);
  const faulty = await runWorld(tinyOptions(mode, clients), SEED, faults);
  t.is(faulty.error, undefined, String(faulty.error));
  t.is(faulty.result!.weightsSha256, reference.result!.weightsSha256);
  t.deepEqual(
    faulty.result!.rounds.map((r) => [r.round, r.participants, r.skipped]),
    reference.result!.rounds.map((r) => [r.round, r.participants, r.skipped]),
  );
  return { reference, faulty };
}

test("additive: a duplicated fl/fit plus a lost share gives the fault-free model (the client answers from storage with the same shares; no split is mixed)", async (t) => {
  const reference = await faultFree('additive');
  const fit = sentIds(reference.sim, FL.fit, 'client-1')[0];
  const share = sentIds(reference.sim, ADDITIVE.share).find((id) => id.startsWith('client-1:'))!;
  const { faulty } = await sameAsFaultFree(t, 'additive', { script: [{ msg: fit, duplicateAfter: 1 }, { msg: share, drop: true }] });
  t.true(eventsOf(faulty.sim, 'duplicated').some((e) => e.msg === fit));
  t.true(eventsOf(faulty.sim, 'dropped').some((e) => e.msg === share));
  // client-1 trained once: one split, so every share it sent for round 1 to one peer is the same vector.
  t.true(faulty.result!.rounds.every((r) => r.trainLoss >= 0 && r.numSamples <= clients.reduce((n, c) => n + c.y.length, 0)));
});

test('secagg+: a duplicated secagg/start loses no round (the SecAgg+ server answers a repeat from what it did)', async (t) => {
  const reference = await faultFree('secagg+');
  const start = sentIds(reference.sim, SECAGG.start)[0];
  await sameAsFaultFree(t, 'secagg+', { script: [{ msg: start, duplicateAfter: 1 }] });
});

test('secagg+: a lost secagg/start is sent again, and the round commits', async (t) => {
  const reference = await faultFree('secagg+');
  const start = sentIds(reference.sim, SECAGG.start)[1];
  await sameAsFaultFree(t, 'secagg+', { script: [{ msg: start, drop: true }] });
});

test('secure-worker: a duplicated fl/secure-round keeps the updates already collected', async (t) => {
  // client-4 trains 40× slower (~100 virtual ms), so the copy, 30 ms behind the original, lands between the
  // other four updates and client-4's.
  const slow = clients.map((c, i) => (i === 4 ? { ...c, slowdown: 40 } : c));
  const options = tinyOptions('secure-worker', slow);
  const reference = await runWorld(options, SEED);
  const [first] = sentIds(reference.sim, SECURE_WORKER.round);
  const faulty = await runWorld(options, SEED, { script: [{ msg: first, duplicateAfter: 30 }] });
  t.is(faulty.result!.weightsSha256, reference.result!.weightsSha256);
  const copy = eventsOf(faulty.sim, 'delivered').filter((e) => e.msg === first)[1];
  const updatesBefore = eventsOf(faulty.sim, 'delivered').filter((e) => e.type === FL.fitResult && e.to === 'secure_worker' && e.seq < copy.seq);
  t.is(updatesBefore.length, 4, 'four updates were in when the copy arrived');
  // Nothing had to be asked again: the copy changed nothing, so no fit was re-sent to recover discarded updates.
  t.is(sentIds(faulty.sim, FL.fit).length, sentIds(reference.sim, FL.fit).length);
});

test('plain: a duplicated fl/fit does not make the client train twice, so later rounds equal the fault-free run', async (t) => {
  const reference = await faultFree('plain');
  const fit = sentIds(reference.sim, FL.fit, 'client-2')[0];
  const { faulty } = await sameAsFaultFree(t, 'plain', { script: [{ msg: fit, duplicateAfter: 1 }] });
  const answers = eventsOf(faulty.sim, 'sent').filter((e) => e.type === FL.fitResult && e.from === 'client-2');
  t.is(answers.length, 3 + 1, 'one answer per round plus the copy answered from storage');
});

for (const mode of MODES) {
  test(`${mode}: a duplicated fl/run is answered, not a crash`, async (t) => {
    const reference = await faultFree(mode);
    const [run] = sentIds(reference.sim, FL.run);
    await sameAsFaultFree(t, mode, { script: [{ msg: run, duplicateAfter: 1 }] });
  });

  test(`${mode}: a lost fl/run-result is sent again until acknowledged`, async (t) => {
    const reference = await faultFree(mode);
    const [result] = sentIds(reference.sim, FL.runResult);
    const { faulty } = await sameAsFaultFree(t, mode, { script: [{ msg: result, drop: true }] });
    t.is(sentIds(faulty.sim, FL.runResult).length, 2);
    t.is(sentIds(faulty.sim, FL.runAck).length, 1);
  });

  test(`${mode}: 25% duplicated messages give the fault-free weights`, async (t) => {
    await sameAsFaultFree(t, mode, { duplicate: 0.25 });
  });
}

test('a server crash that loses its memory resumes from its checkpoint: the run ends with the fault-free model', async (t) => {
  // The server's 8th message is a round-2 update (1 fl/run, 5 round-1 updates): the crash lands mid round 2, after
  // round 1 was committed, and loses the updates already in (the clients answer the re-sent fits from storage).
  const { faulty } = await sameAsFaultFree(t, 'plain', { crashes: [{ actor: 'server', afterMessages: 8, restartAfter: 50, loseState: true }] });
  t.true(eventsOf(faulty.sim, 'crashed').some((e) => e.actor === 'server'));
  t.true(eventsOf(faulty.sim, 'restarted').some((e) => e.actor === 'server' && !e.stateKept));
});

test.serial('a server crash without restart ends the run with a fault that names the crashed server, not a bare deadlock; metrics$ completes', async (t) => {
  // A metrics$ subscriber without an error handler must not turn the failure into an unhandled RxJS error.
  const unhandled: unknown[] = [];
  const previous = rxjsConfig.onUnhandledError;
  rxjsConfig.onUnhandledError = (error) => unhandled.push(error);
  t.teardown(() => (rxjsConfig.onUnhandledError = previous));
  const sim = new SimulationCore({ seed: SEED, faults: { crashes: [{ actor: 'server', afterMessages: 8 }] } });
  const run = runFederated(sim, tinyOptions('plain', clients));
  const seen: number[] = [];
  let completed = false;
  run.metrics$.subscribe({ next: (m) => seen.push(m.round), complete: () => (completed = true) });
  const error = await t.throwsAsync(Promise.resolve(run), { instanceOf: FederatedRunError });
  t.regex(error!.message, /^federated run 'run-1' cannot finish: \[server\] crashed and never restarted\.\n/);
  t.regex(error!.message, /DeadlockError|waits|crashed/, 'the runtime says what waits for what');
  t.is(error!.reason.kind, 'fault');
  t.true(completed);
  t.deepEqual(seen, [1], 'round 1 was reported before the crash');
  await new Promise((resolve) => setTimeout(resolve, 10)); // RxJS reports unhandled errors on a timer
  t.deepEqual(unhandled, []);
});

test('additive under 15% duplicates and 5% drops commits no round with a non-finite loss or an impossible sample count', async (t) => {
  const total = clients.reduce((n, c) => n + c.y.length, 0);
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const run = await runWorld({ ...tinyOptions('additive', clients), rounds: 4 }, seed, { duplicate: 0.15, drop: 0.05 });
    t.is(run.error, undefined, String(run.error));
    for (const r of run.result!.rounds) {
      if (r.skipped) {
        t.true(r.skipped.length > 0);
        continue;
      }
      t.true(Number.isFinite(r.trainLoss) && r.trainLoss >= 0, `seed ${seed} round ${r.round}: loss ${r.trainLoss}`);
      t.true(r.numSamples > 0 && r.numSamples <= total, `seed ${seed} round ${r.round}: ${r.numSamples} samples`);
    }
  }
});

for (const mode of MODES) {
  test(`${mode}: a fault-free run raises no handler error in any actor, to its very last timer`, async (t) => {
    const run = await faultFree(mode);
    t.deepEqual(eventsOf(run.sim, 'error').map((e) => `${e.actor}: ${e.error}: ${e.message}`), []);
  });
}
