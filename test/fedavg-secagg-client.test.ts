/**
 * The FedAvg client under `aggregation: 'secagg+'` (src/fl/aggregators/secagg-plus-client.ts), spawned
 * on its own beside a SecAgg+ server and driven message by message from the driver. It plays
 * the SecAgg+ client role of src/fl/secure/secagg/client-role.ts, so its stage rules are the
 * standalone client's — here checked for the client whose update comes from local training:
 *
 * 1. A stage message out of order (before any setup, or unmask in the middle of a round) is
 *    refused: an error reply (RemoteError from a SecAggProtocolError), an `error` event — and
 *    the client then serves a correct round (exact quantised sum), so nothing was corrupted.
 * 2. An exact duplicate delivery (same envelope, by a fault plan) is ignored: no second answer,
 *    no error. A new envelope with the same payload is a new setup and is answered.
 * 3. A client masks one round's update at most once: a second SecAgg+ round over the same
 *    trained update is refused at collect (two maskings of one update under different masks
 *    would let the server subtract them), until a new fit trains a new round.
 * 4. One seed gives one event log.
 */
import test, { type ExecutionContext } from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { type Envelope, type FaultPlanInput, RemoteError, type SimEvent, SimulationCore, createStream } from '../src/runtime/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { createModel, nn } from '../src/fl/models/index.js';
import { ModelWorkspace, hold } from '../src/fl/fedavg/index.js';
import { FL, PLAIN_REPORT, packReport, packedLength, storedAnswer } from '../src/fl/rounds/index.js';
import { plainLocalTraining } from '../src/fl/algorithms/client-algorithm.js';
import { FIT_DONE, secAggPlusClient } from '../src/fl/aggregators/secagg-plus-client.js';
import { quantize } from '../src/fl/secure/crypto/quantize.js';
import {
  CLIENT_STREAMS,
  SECAGG,
  type AbortedPayload,
  type ResultPayload,
  type RoundConfig,
  quantizationTarget,
  runSecAggPlus,
  secAggServerMachine,
} from '../src/fl/secure/secagg/index.js';
import { SERVER, sumMod } from './helpers/secagg.js';

test.before(async () => {
  await initBackend('cpu');
});

// ── the world: a SecAgg+ server and three FedAvg SecAgg+ clients with a little data each ──

const FEATURES = 4;
const spec = nn.logistic(FEATURES, 2);
const IDS = ['c0', 'c1', 'c2'];
/** Every client is every other's neighbour (numShares ≥ n − 1); any two can unmask. */
const PARAMS = { numShares: 3, reconstructionThreshold: 2 };
const ROUND = 1;
const ANSWERS = [SECAGG.publicKeys, SECAGG.shares, SECAGG.maskedInput, SECAGG.signature, SECAGG.unmaskShares];

const devices = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: IDS.length, features: FEATURES, classes: 2, maxSamplesPerDevice: 30 }, { seed: 1, name: 'data' });
const MAX_WEIGHT = Math.max(...devices.map((d) => d.trainY.length));
const INITIAL = (() => {
  const model = createModel(spec, createStream(0, 'model/init'));
  const weights = model.getWeights();
  model.dispose();
  return weights;
})();

function world(t: ExecutionContext, seed: number, faults?: FaultPlanInput): SimulationCore {
  const sim = new SimulationCore({ seed, faults });
  const workspace = new ModelWorkspace();
  t.teardown(() => workspace.dispose());
  sim.spawn(secAggServerMachine, SERVER, { input: { params: PARAMS } });
  devices.forEach((d, i) => sim.spawn(secAggPlusClient, IDS[i], { input: { data: hold({ x: d.trainX, y: d.trainY }), spec, workspace, algorithm: plainLocalTraining } }));
  return sim;
}

const fitMessage = (round: number) => ({
  round,
  weights: INITIAL,
  config: { epochs: 1, batchSize: 10, lr: 0.1 },
  report: { protocol: 'secagg+', maxWeight: MAX_WEIGHT },
});

/** Every client trains for `round` (answering fit-done, no weights); returns the weighted update each now holds. */
async function fitAll(t: ExecutionContext, sim: SimulationCore, round = ROUND): Promise<Map<string, Float64Array>> {
  const held = new Map<string, Float64Array>();
  for (const id of IDS) {
    const done = await sim.request<Envelope>(id, FL.fit, fitMessage(round), { unwrap: (e) => e });
    t.like(done, { type: FIT_DONE, payload: { round } });
    const stored = storedAnswer({ io: { storage: sim.actor(id).storage } } as never)!;
    t.is(stored.round, round);
    held.set(id, packReport(stored.res, stored.res.numSamples / MAX_WEIGHT, PLAIN_REPORT));
  }
  return held;
}

const startRound = (sim: SimulationCore, round = ROUND) =>
  sim.request<Envelope>(SERVER, SECAGG.start, { round, participants: IDS }, { unwrap: (e) => e });

/**
 * The round is correct: every client survived, none failed, and the unmasked sum is exactly
 * the sum of the clients' trained updates as each quantised them (from its own quantize
 * stream, first used in this round).
 */
function checkCorrectRound(t: ExecutionContext, seed: number, answer: Envelope, trained: Map<string, Float64Array>, earlier: Map<string, Float64Array>[] = []): void {
  t.is(answer.type, SECAGG.result);
  const result = answer.payload as ResultPayload;
  t.deepEqual(result.survivors, IDS);
  t.deepEqual(result.failures, []);
  const quantized = IDS.map((id) => {
    const stream = createStream(seed, `actor/${id}/${CLIENT_STREAMS.quantize}`);
    // Earlier rounds drew from the same stream first.
    for (const round of earlier) quantize(round.get(id)!, result.config.clippingRange, quantizationTarget(result.config), stream);
    return quantize(trained.get(id)!, result.config.clippingRange, quantizationTarget(result.config), stream);
  });
  t.deepEqual([...result.quantizedSum], [...sumMod(quantized, result.config.modulusRange)]);
}

// ── log inspection ─────────────────────────────────────────────────────────────

const context = (sim: SimulationCore, id: string) => sim.actor(id).snapshot().context;
const stateOf = (sim: SimulationCore, id: string) => sim.actor(id).snapshot().value as string;
const errorEvents = (sim: SimulationCore) => sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'error' }> => e.ev === 'error');
const messages = <K extends 'sent' | 'delivered' | 'duplicated'>(sim: SimulationCore, ev: K, from: string, to: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: K }> => e.ev === ev && (e as { from?: string }).from === from && (e as { to?: string }).to === to);

/** A refusal of an out-of-order stage message: the error reply and its content. */
async function refused(t: ExecutionContext, reply: PromiseLike<unknown>, type: string, round: number | null): Promise<RemoteError> {
  const error = (await t.throwsAsync(reply as Promise<unknown>, { instanceOf: RemoteError }))!;
  t.is(error.actor, 'c0');
  t.is(error.remoteName, 'SecAggProtocolError');
  t.true(error.remoteMessage.includes(`got '${type}' out of order`), error.remoteMessage);
  const stage = { [SECAGG.shareKeys]: 'share-keys', [SECAGG.collect]: 'collect-masked-input', [SECAGG.unmask]: 'unmask' }[type];
  t.deepEqual(error.where, { actor: 'c0', round, stage }, 'the refusal names the stage it refused');
  return error;
}

// ── 1. out of order ─────────────────────────────────────────────────────────────

/** The scenario of test 1 (reused by the determinism check): three early stage messages, then a normal round. */
async function earlyMessagesThenRound(t: ExecutionContext, seed: number) {
  const sim = world(t, seed);
  const early = [
    { type: SECAGG.shareKeys, payload: { round: ROUND, keys: [] } },
    { type: SECAGG.collect, payload: { round: ROUND, shares: [] } },
    { type: SECAGG.unmask, payload: { round: ROUND, active: IDS, dropped: [] } },
  ];
  const requestIds: string[] = [];
  for (const { type, payload } of early) {
    const reply = sim.request('c0', type, payload);
    requestIds.push(reply.requestId);
    const error = await refused(t, reply, type, null);
    t.regex(error.remoteMessage, /no round is open/);
  }
  const afterRefusals = { state: stateOf(sim, 'c0'), session: context(sim, 'c0').session, handled: context(sim, 'c0').handled, errors: errorEvents(sim) };
  const sentByC0 = messages(sim, 'sent', 'c0', 'me').map((e) => e.type);
  const trained = await fitAll(t, sim);
  const answer = await startRound(sim);
  return { sim, requestIds, afterRefusals, sentByC0, trained, answer };
}

test('a stage message before setup is refused with a SecAggProtocolError; the client then serves a correct round', async (t) => {
  const seed = 4;
  const { sim, requestIds, afterRefusals, sentByC0, trained, answer } = await earlyMessagesThenRound(t, seed);
  // Each refusal is an `error` event naming the refused message, and only an error reply leaves the client.
  t.deepEqual(
    afterRefusals.errors.map((e) => ({ actor: e.actor, msg: e.msg, error: e.error })),
    requestIds.map((msg) => ({ actor: 'c0', msg, error: 'SecAggProtocolError' })),
  );
  t.deepEqual(sentByC0, ['error', 'error', 'error']);
  t.is(afterRefusals.state, 'idle');
  t.is(afterRefusals.session, null);
  t.deepEqual(afterRefusals.handled, []);
  // The round afterwards: c0 answered each stage once, and the sum is exact.
  checkCorrectRound(t, seed, answer, trained);
  t.deepEqual(messages(sim, 'sent', 'c0', SERVER).map((e) => e.type), ANSWERS);
  t.is(errorEvents(sim).length, 3, 'no error during the round');
});

test('an unmask in the middle of a round is refused and rolled back; the round then completes exactly', async (t) => {
  const seed = 5;
  const sim = world(t, seed);
  const trained = await fitAll(t, sim);
  const round = startRound(sim);
  // Run until c0 has sent its encrypted shares: the server's collect is at least two hops away.
  sim.pumpUntil(() => stateOf(sim, 'c0') === 'sentShares', 'c0 to answer share-keys');
  const early = sim.request('c0', SECAGG.unmask, { round: ROUND, active: IDS, dropped: [] });
  const error = await refused(t, early, SECAGG.unmask, ROUND);
  t.regex(error.remoteMessage, /round 1: .* \(the round is further along or not there yet\)/);

  // It was refused in sentShares, before the server's collect reached c0 …
  const deliveredToC0 = sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'delivered' }> => e.ev === 'delivered' && e.to === 'c0');
  const unmaskAt = deliveredToC0.findIndex((e) => e.msg === early.requestId);
  const collectAt = deliveredToC0.findIndex((e) => e.from === SERVER && e.type === SECAGG.collect);
  t.true(unmaskAt >= 0 && unmaskAt < collectAt, 'the early unmask reached c0 before the collect');
  t.deepEqual(errorEvents(sim).map((e) => [e.actor, e.msg, e.error]), [['c0', early.requestId, 'SecAggProtocolError']]);

  // … and c0 went on from the same session: masked input and unmask shares that unmask exactly.
  const answer = await round;
  checkCorrectRound(t, seed, answer, trained);
  t.deepEqual(messages(sim, 'sent', 'c0', SERVER).map((e) => e.type), ANSWERS);
  t.is(errorEvents(sim).length, 1);
});

// ── 2. exact duplicates ─────────────────────────────────────────────────────────

const CONFIG: RoundConfig = { round: ROUND, sampleSize: 2, numShares: 2, threshold: 2, clippingRange: 8, quantizationRange: 4194304, modulusRange: 2 ** 32, timeout: 30_000 };
const SETUP = { round: ROUND, config: CONFIG, neighbours: ['c0', 'c1'] };

test('a setup delivered twice (same envelope) is answered once; a new envelope with the same payload starts a new round', async (t) => {
  // The driver's first message is me:0; its copy arrives 5 virtual ms after it.
  const sim = world(t, 6, { script: [{ msg: 'me:0', duplicateAfter: 5 }] });
  const setupId = sim.send('c0', SECAGG.setup, SETUP);
  t.is(setupId, 'me:0');
  await sim.settle();

  t.deepEqual(messages(sim, 'duplicated', 'me', 'c0').map((e) => e.msg), [setupId]);
  t.deepEqual(messages(sim, 'delivered', 'me', 'c0').map((e) => e.msg), [setupId, setupId], 'the copy was delivered too');
  const answers = messages(sim, 'delivered', 'c0', 'me');
  t.deepEqual(answers.map((e) => e.type), [SECAGG.publicKeys], 'one answer, not two');
  t.deepEqual(errorEvents(sim), [], 'ignored, not refused');
  t.is(stateOf(sim, 'c0'), 'sentPublicKeys');
  t.deepEqual(context(sim, 'c0').handled, [setupId]);
  const keys = answers[0].envelope.payload as { encryption: Uint8Array; masking: Uint8Array };
  t.deepEqual(context(sim, 'c0').session.encryption.publicKey, keys.encryption, 'the copy did not replace the round\'s keys');

  // Not a content check: the same payload in a new envelope is a new setup, answered with new keys.
  const again = sim.send('c0', SECAGG.setup, SETUP);
  await sim.settle();
  const second = messages(sim, 'delivered', 'c0', 'me');
  t.is(second.length, 2);
  t.deepEqual(context(sim, 'c0').handled, [again]);
  t.notDeepEqual((second[1].envelope.payload as { encryption: Uint8Array }).encryption, keys.encryption);
  t.deepEqual(errorEvents(sim), []);
});

test('every stage message delivered twice to one client: it answers each once, raises no error, and the sum is exact', async (t) => {
  const seed = 7;
  // Every message from the SecAgg+ server to c0 is duplicated; the copy trails the original by 0.5 virtual ms.
  const sim = world(t, seed, { links: [{ from: SERVER, to: 'c0', duplicate: 1, delay: { rate: 0, dist: { kind: 'fixed', ms: 0.5 } } }] });
  const trained = await fitAll(t, sim);
  const answer = await startRound(sim);
  await sim.settle(); // deliver the last copy (of unmask) too

  t.deepEqual(messages(sim, 'sent', 'c0', SERVER).map((e) => e.type), ANSWERS, 'one answer per stage');
  t.deepEqual(errorEvents(sim), [], 'no copy was refused');
  const copies = messages(sim, 'duplicated', SERVER, 'c0');
  t.deepEqual(copies.map((e) => e.type), [SECAGG.setup, SECAGG.shareKeys, SECAGG.collect, SECAGG.consistency, SECAGG.unmask]);
  const delivered = messages(sim, 'delivered', SERVER, 'c0');
  t.deepEqual(delivered.map((e) => e.msg), copies.flatMap((e) => [e.msg, e.msg]), 'each stage message and its copy reached c0');
  t.deepEqual(context(sim, 'c0').handled, copies.map((e) => e.msg));
  checkCorrectRound(t, seed, answer, trained);
});

// ── 3. one round's update is masked at most once ────────────────────────────────

test('a client masks a round\'s update once: a second SecAgg+ round over it is refused at collect, a new fit is masked again', async (t) => {
  const seed = 8;
  const sim = world(t, seed);
  const trained = await fitAll(t, sim);
  for (const id of IDS) t.is(trained.get(id)!.length, packedLength(INITIAL, PLAIN_REPORT));
  checkCorrectRound(t, seed, await startRound(sim), trained);
  for (const id of IDS) {
    t.is(stateOf(sim, id), 'idle');
    t.is(context(sim, id).session, null);
  }
  // A repeated start of the round is answered from what was done (the same result), not run again.
  const first = messages(sim, 'delivered', SERVER, 'me').at(-1)!;
  const repeat = await startRound(sim);
  t.deepEqual(repeat.payload, first.envelope.payload);
  // A second SecAgg+ server (a server that lost its state, or one that misbehaves) running round 1 again cannot get
  // the same update masked twice: every client refuses at collect (a second masking of the same update under other
  // masks would let the server subtract the two and read it).
  sim.spawn(secAggServerMachine, 'server-2', { input: { params: PARAMS } });
  const again = await sim.request<Envelope>('server-2', SECAGG.start, { round: ROUND, participants: IDS }, { unwrap: (e) => e });
  t.is(again.type, SECAGG.aborted);
  const aborted = again.payload as AbortedPayload;
  t.deepEqual(aborted.failures.map((f) => [f.client, f.stage]), IDS.map((id) => [id, 'collect-masked-input']));
  t.true(aborted.failures.every((f) => /SecAggProtocolError: .*asked to mask its update for round 1, but it already masked its round-1 update once/.test(f.error)), JSON.stringify(aborted.failures));

  // A fit for the next round trains a new update, which is masked like the first.
  const next = await fitAll(t, sim, 2);
  checkCorrectRound(t, seed, await startRound(sim, 2), next, [trained]);

  // The standalone machine's update is its input, the same every round: it is kept.
  const standalone = new SimulationCore({ seed });
  const updates = Object.fromEntries(IDS.map((id) => [id, Float32Array.from(trained.get(id)!)]));
  const result = await runSecAggPlus(standalone, { clients: updates, params: PARAMS, round: ROUND });
  t.deepEqual(result.survivors, IDS);
  for (const id of IDS) {
    t.is(stateOf(standalone, id), 'idle');
    t.is(context(standalone, id).session, null);
    t.is(context(standalone, id).update, updates[id]);
  }
});

// ── 4. determinism ──────────────────────────────────────────────────────────────

test('one seed gives an identical event log for the refusals and the round', async (t) => {
  const a = await earlyMessagesThenRound(t, 9);
  const b = await earlyMessagesThenRound(t, 9);
  const lines = a.sim.log.eventLines();
  t.true(lines.some((l) => l.includes('"ev":"error"')) && lines.some((l) => l.includes(SECAGG.unmaskShares)));
  t.deepEqual(b.sim.log.eventLines(), lines);
  const c = await earlyMessagesThenRound(t, 10);
  t.notDeepEqual(c.sim.log.eventLines(), lines, 'another seed, other keys and masks');
});
