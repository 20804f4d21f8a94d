/**
 * Client state under faults (issue #13, "every protocol message is safe to deliver twice or
 * lose", for algorithms whose clients remember something between rounds).
 *
 * SCAFFOLD's server control variate must stay the mean of ALL clients' control variates,
 * c = (1/N) Σ_i c_i, and FedDyn's h the mean of all clients' remembered gradients,
 * h = (1/N) Σ_i ∇L_i (both follow from their update rules: the server adds (1/N) of each
 * included client's change, the client applies the whole change). A client that advanced
 * its state for a report the aggregate never took breaks that for the rest of the run.
 * Each test aims one fault (a lost report, a report too late, a duplicated fit, a client
 * crash, a server crash) at one message or actor, makes sure the fault did what it aims at
 * (the round's participants), and checks the invariant at the end of the run from the
 * server's checkpoint and the clients' durable storage (helpers/client-state.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { type FaultPlanInput, RemoteError } from '../src/runtime/index.js';
import { ANSWER_KEY, FL, stateKey } from '../src/fl/rounds/index.js';
import type { ClientAlgorithm } from '../src/fl/algorithms/client-algorithm.js';
import { FedAvg } from '../src/fl/strategies/index.js';
import { STATEFUL, type StatefulName, invariantBound, invariantGap } from './helpers/client-state.js';
import { type Mode, type WorldRun, clientIdsOf, eventsOf, runWorld, sentIds, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients();
const ids = clientIdsOf(clients);
const SEED = 3;

type Algorithm = StatefulName;

const optionsFor = (algorithm: Algorithm, mode: Mode, world = clients) => ({ ...tinyOptions(mode, world), strategy: STATEFUL[algorithm].strategy });

function assertInvariant(t: ExecutionContext, run: WorldRun, algorithm: Algorithm, mode: Mode) {
  t.is(run.error, undefined, String(run.error));
  const { gap, scale } = invariantGap(run.sim, ids, algorithm);
  // A run whose every round was skipped keeps the server state at zero: then every client's must be zero too.
  if (run.result!.rounds.some((r) => !r.skipped)) t.true(scale > 1e-3, `the server state moved (max |value| ${scale})`);
  const contributions = run.result!.rounds.reduce((n, r) => n + r.participants.length, 0);
  const bound = invariantBound(scale, algorithm, mode, { contributions, clients: ids.length, maxWeight: Math.max(...clients.map((c) => c.y.length)) });
  t.true(gap <= bound, `${algorithm}: server state is ${gap} away from the mean of the clients' states (bound ${bound}, max |value| ${scale})`);
}

const participantsOf = (run: WorldRun) => run.result!.rounds.map((r) => r.participants);

async function faultFree(algorithm: Algorithm, mode: Mode) {
  const run = await runWorld(optionsFor(algorithm, mode), SEED);
  if (!run.result) throw run.error;
  return run;
}

/** When client `id`'s round-1 fit was delivered, and round 1's deadline, in the fault-free run. */
function round1Times(run: WorldRun, id: string) {
  const fit = sentIds(run.sim, FL.fit, id)[0];
  const delivered = eventsOf(run.sim, 'delivered').find((e) => e.msg === fit)!;
  return { fitAt: delivered.t, deadline: run.result!.rounds[0].startedAt + tinyOptions('plain', clients).roundDeadlineMs! };
}

const SECURE_MODES: Mode[] = ['additive', 'secagg+'];

for (const algorithm of Object.keys(STATEFUL) as Algorithm[]) {
  for (const mode of ['plain', ...SECURE_MODES] as Mode[]) {
    test(`${algorithm} / ${mode}: a report lost after the client stored its new state leaves the invariant intact`, async (t) => {
      const reference = await faultFree(algorithm, mode);
      const { fitAt, deadline } = round1Times(reference, 'client-1');
      // client-1 is cut off from everyone from just after its round-1 fit arrives until round 1's deadline: it trains
      // and stores, but its report (and every answer to a re-sent fit) is lost.
      const others = ['server', ...ids.filter((c) => c !== 'client-1'), ...(mode === 'secagg+' ? ['secagg_server'] : [])];
      const faults: FaultPlanInput = { partitions: [{ groups: [['client-1'], others], from: fitAt + 0.001, until: deadline + 1 }] };
      const run = await runWorld(optionsFor(algorithm, mode), SEED, faults);
      t.is(run.error, undefined, String(run.error));
      const round1 = run.result!.rounds[0];
      t.false(round1.participants.includes('client-1'), 'client-1 is not in round 1');
      // Additive shares have no threshold: one missing client skips the whole round, so nobody's round-1 state counts.
      if (mode === 'additive') t.truthy(round1.skipped);
      else t.deepEqual(round1.participants, ids.filter((c) => c !== 'client-1'));
      assertInvariant(t, run, algorithm, mode);
    });
  }

  for (const mode of ['plain', 'additive'] as Mode[]) {
    test(`${algorithm} / ${mode}: a client whose reports always come too late (refused as stale) never moves the invariant`, async (t) => {
      // client-4 trains 200× slower than the others (~500 virtual ms, past the 400 ms deadline).
      const slow = clients.map((c, i) => (i === 4 ? { ...c, slowdown: 200 } : c));
      const run = await runWorld(optionsFor(algorithm, mode, slow), SEED);
      t.is(run.error, undefined, String(run.error));
      t.true(participantsOf(run).every((p) => !p.includes('client-4')), 'client-4 is in no aggregate');
      t.true(eventsOf(run.sim, 'sent').some((e) => e.type === FL.updateRejected && e.to === 'client-4'), 'a report of client-4 was refused');
      assertInvariant(t, run, algorithm, mode);
    });

    test(`${algorithm} / ${mode}: a report that comes after its round closed (refused as stale) does not count, and the client is back next round`, async (t) => {
      const reference = await faultFree(algorithm, mode);
      // client-3's round-2 fit is held 450 ms, past the round's deadline (the re-sent fits queue behind it on the link):
      // client-3 trains round 2 after it closed, and its report is refused as stale.
      const fit = sentIds(reference.sim, FL.fit, 'client-3')[1];
      const run = await runWorld(optionsFor(algorithm, mode), SEED, { script: [{ msg: fit, delay: 450 }] });
      t.is(run.error, undefined, String(run.error));
      t.false(run.result!.rounds[1].participants.includes('client-3'));
      t.true(run.result!.rounds[2].participants.includes('client-3'));
      t.true(eventsOf(run.sim, 'sent').some((e) => e.type === FL.updateRejected && e.to === 'client-3' && (e.envelope.payload as { reason: string }).reason === 'stale-round'));
      assertInvariant(t, run, algorithm, mode);
    });

    test(`${algorithm} / ${mode}: a duplicated fl/fit (one copy at once, one a round later) changes nothing`, async (t) => {
      const reference = await faultFree(algorithm, mode);
      const fit = sentIds(reference.sim, FL.fit, 'client-2')[0];
      const again = sentIds(reference.sim, FL.fit, 'client-3')[0];
      const run = await runWorld(optionsFor(algorithm, mode), SEED, { script: [{ msg: fit, duplicateAfter: 1 }, { msg: again, duplicateAfter: 3 }] });
      t.is(run.result?.weightsSha256, reference.result!.weightsSha256);
      t.deepEqual(participantsOf(run), participantsOf(reference));
      t.is(eventsOf(run.sim, 'duplicated').length, 2);
      assertInvariant(t, run, algorithm, mode);
    });

    test(`${algorithm} / ${mode}: a client that crashes after training and storing, before its report is out, does not count its round`, async (t) => {
      const reference = await faultFree(algorithm, mode);
      // client-1 handles its round-1 fit (trains, stores, sends), then crashes losing its memory and comes back in
      // round 2. Plain: its report is lost too. Additive: it sent its shares, but never its sum of shares.
      const crashes = [{ actor: 'client-1', afterMessages: 1, restartAfter: 600, loseState: true }];
      const report = sentIds(reference.sim, FL.fitResult).find((id) => id.startsWith('client-1:'));
      const faults: FaultPlanInput = mode === 'plain' ? { script: [{ msg: report!, drop: true }], crashes } : { crashes };
      const run = await runWorld(optionsFor(algorithm, mode), SEED, faults);
      t.is(run.error, undefined, String(run.error));
      t.false(run.result!.rounds[0].participants.includes('client-1'));
      t.true(run.result!.rounds.slice(1).some((r) => r.participants.includes('client-1')), 'client-1 is back in a later round');
      assertInvariant(t, run, algorithm, mode);
    });

    test(`${algorithm} / ${mode}: a server crash that loses its memory mid-round redoes the round from its checkpoint; its re-sent fits confirm the rounds before`, async (t) => {
      const reference = await faultFree(algorithm, mode);
      // client-1's round-2 fit is lost, and the server crashes 20 ms into round 2, losing its memory: the first round-2
      // fit client-1 gets is re-sent by the restarted server, whose confirmation of round 1 can only come from its checkpoint.
      const fit = sentIds(reference.sim, FL.fit, 'client-1')[1];
      const faults: FaultPlanInput = { script: [{ msg: fit, drop: true }], crashes: [{ actor: 'server', at: reference.result!.rounds[1].startedAt + 20, restartAfter: 50, loseState: true }] };
      const run = await runWorld(optionsFor(algorithm, mode), SEED, faults);
      t.true(eventsOf(run.sim, 'restarted').some((e) => e.actor === 'server' && !e.stateKept));
      t.true(eventsOf(run.sim, 'dropped').some((e) => e.msg === fit));
      t.is(run.result?.weightsSha256, reference.result!.weightsSha256);
      t.deepEqual(participantsOf(run), participantsOf(reference));
      assertInvariant(t, run, algorithm, mode);
    });
  }
}

test('scaffold / plain: one seed gives the same event log under a lost report and a client crash', async (t) => {
  const reference = await faultFree('scaffold', 'plain');
  const report = eventsOf(reference.sim, 'sent').find((e) => e.from === 'client-1' && e.type === FL.fitResult)!;
  const faults: FaultPlanInput = { script: [{ msg: report.msg, drop: true }], crashes: [{ actor: 'client-1', afterMessages: 1, restartAfter: 600, loseState: true }], duplicate: 0.2 };
  const a = await runWorld(optionsFor('scaffold', 'plain'), SEED, faults);
  const b = await runWorld(optionsFor('scaffold', 'plain'), SEED, faults);
  t.is(a.error, undefined, String(a.error));
  t.deepEqual(a.sim.log.eventLines(), b.sim.log.eventLines());
  t.is(a.result!.weightsSha256, b.result!.weightsSha256);
});

test('a fit of a stateful algorithm without a valid includedRound is refused, naming the field, and the client keeps what it stored', async (t) => {
  const run = await faultFree('scaffold', 'plain');
  const storage = run.sim.actor('client-0').storage;
  const before = { answer: storage.get(ANSWER_KEY), state: storage.get(stateKey('scaffold')) };
  const ins = run.sim.log.events.find((e) => e.ev === 'sent' && e.type === FL.fit && e.to === 'client-0')!;
  const { includedRound: _ignored, ...fit } = (ins as { envelope: { payload: Record<string, unknown> } }).envelope.payload;
  for (const [payload, why] of [
    [{ ...fit, round: 4 }, /keeps client state, so its fits must carry includedRound/],
    [{ ...fit, round: 4, includedRound: 4 }, /includedRound 4 is not before the fit's round 4/],
  ] as const) {
    const error = await t.throwsAsync(run.sim.request('client-0', FL.fit, payload), { instanceOf: RemoteError });
    t.is((error as RemoteError).remoteName, 'MalformedMessageError');
    t.regex((error as RemoteError).remoteMessage, why);
    t.is((error as RemoteError).where.field, 'includedRound');
  }
  t.is(storage.get(ANSWER_KEY), before.answer);
  t.is(storage.get(stateKey('scaffold')), before.state);
});

test('an algorithm that returns client state without initialState is a bug the round reports (the server would never confirm that state)', async (t) => {
  const forgetful: ClientAlgorithm<number> = { name: 'forgetful', reports: { extras: [], metrics: [] }, usesGradientTerms: false, afterTraining: () => ({ state: 1 }) };
  class ForgetfulFedAvg extends FedAvg {
    override readonly name = 'forgetful-fedavg';
    override readonly client = forgetful;
  }
  const run = await runWorld({ ...tinyOptions('plain', clients), rounds: 1, strategy: new ForgetfulFedAvg({ fraction: 1 }) }, SEED);
  t.is(run.error, undefined, String(run.error));
  const [round] = run.result!.rounds;
  t.truthy(round.skipped);
  t.true(round.failures.every((f) => f.kind === 'bug' && /returns client state but defines no initialState/.test(f.reason)), JSON.stringify(round.failures));
});
