/**
 * The SecAgg+ server as a component: a parent actor drives rounds with `secagg/start` and
 * receives `secagg/result` / `secagg/aborted` (how the FedAvg server will use it), the same
 * actors run several rounds, and the protocol survives a duplicating, reordering, delaying
 * network and lost links.
 */
import test from 'ava';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, SimulationCore } from '../src/runtime/index.js';
import { SECAGG, type ResultPayload, roundQuantizationStep, runSecAggPlus, secAggClientMachine, secAggServerMachine } from '../src/fl/secure/secagg/index.js';
import { SERVER, clientIds, makeUpdates, maxAbsDiff, plainSum, quantizedInput, sentTo, sumMod } from './helpers/secagg.js';

/** A parent that starts a SecAgg+ round on 'go' and answers with what the server said. */
const parent = fromTransition(
  (state: { io: ActorIO; pending: Envelope | null }, event: ActorMessage) => {
    if (event.type === 'go') {
      state.io.send(SERVER, SECAGG.start, event.payload);
      return { ...state, pending: event.envelope };
    }
    if (event.type === SECAGG.result || event.type === SECAGG.aborted) {
      state.io.reply(state.pending!, 'done', { type: event.type, payload: event.payload });
      return { ...state, pending: null };
    }
    return state;
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io, pending: null as Envelope | null }),
);

test('a parent actor runs consecutive rounds on the same server and clients; each round has fresh keys', async (t) => {
  const n = 6;
  const ids = clientIds(n);
  const updates = makeUpdates(n, 20, 'parent');
  const sim = new SimulationCore({ seed: 11 });
  sim.spawn(secAggServerMachine, SERVER, { input: { params: { numShares: 3, reconstructionThreshold: 2 } } });
  for (const id of ids) sim.spawn(secAggClientMachine, id, { input: { update: (round: number) => updates[id].map((v) => v * (round + 1)) } });
  sim.spawn(parent, 'fedavg');

  const results: ResultPayload[] = [];
  for (const round of [0, 1]) {
    const done = await sim.request<{ type: string; payload: ResultPayload }>('fedavg', 'go', { round, participants: ids });
    t.is(done.type, SECAGG.result);
    results.push(done.payload);
  }
  const step = roundQuantizationStep(results[0].config);
  for (const [round, result] of results.entries()) {
    t.is(result.round, round);
    t.true(maxAbsDiff(result.sum, plainSum(updates, ids).map((v) => v * (round + 1))) <= n * step + 1e-5);
  }
  for (const id of ids) t.notDeepEqual(results[0].publicKeys[id], results[1].publicKeys[id]);
  t.is(sim.actor(SERVER).snapshot().value, 'idle');
});

test('a start while a round runs gets an error reply', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(secAggServerMachine, SERVER, { input: { params: { numShares: 3, reconstructionThreshold: 2 } } });
  for (const id of ['a', 'b', 'c']) sim.spawn(secAggClientMachine, id, { input: { update: [1, 2] } });
  const first = sim.request(SERVER, SECAGG.start, { round: 0, participants: ['a', 'b', 'c'] });
  const second = sim.request(SERVER, SECAGG.start, { round: 1, participants: ['a', 'b', 'c'] });
  await t.throwsAsync(second, { message: /still running round 0/ });
  t.like(await first, { round: 0, survivors: ['a', 'b', 'c'] });
});

test('a start that cannot work gets an error reply and leaves the server idle', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(secAggServerMachine, SERVER, { input: { params: { numShares: 3, reconstructionThreshold: 3 } } });
  for (const id of ['a', 'b', 'c', 'd', 'e']) sim.spawn(secAggClientMachine, id, { input: { update: [1, 2] } });
  await t.throwsAsync(sim.request(SERVER, SECAGG.start, { round: 0, participants: ['a'] }), { message: /participants/ });
  // With 5 participants numShares 3 gives 3 shares each: threshold 3 works, 4 cannot.
  await t.throwsAsync(sim.request(SERVER, SECAGG.start, { round: 0, participants: ['a', 'b', 'c', 'd', 'e'], params: { reconstructionThreshold: 4 } }), {
    message: /reconstructionThreshold 4 exceeds the 3 shares/,
  });
  t.is(sim.actor(SERVER).snapshot().value, 'idle');
  t.like(await sim.request(SERVER, SECAGG.start, { round: 0, participants: ['a', 'b', 'c', 'd', 'e'] }), { survivors: ['a', 'b', 'c', 'd', 'e'] });
});

test('duplicated, reordered and delayed messages change nothing; a dead link is a dropout', async (t) => {
  const n = 8;
  const ids = clientIds(n);
  const updates = makeUpdates(n, 25, 'network');
  const seed = 21;
  const sim = new SimulationCore({
    seed,
    strategy: 'random',
    faults: {
      duplicate: 0.3,
      reorder: 0.3,
      delay: { rate: 0.5, dist: { kind: 'uniform', min: 0, max: 50 } },
      links: [{ from: ids[4], to: SERVER, drop: 1 }],
    },
  });
  const result = await runSecAggPlus(sim, { clients: updates, params: { numShares: 5, reconstructionThreshold: 3, timeout: 500 } });
  t.true(sim.log.events.some((e) => e.ev === 'duplicated'), 'the network did duplicate');
  t.deepEqual(result.failures, [], 'duplicates are ignored, not refused');
  t.is(sim.log.events.filter((e) => e.ev === 'error').length, 0);
  const survivors = ids.filter((id) => id !== ids[4]);
  t.deepEqual(result.survivors, survivors);
  t.deepEqual(result.stages[0].dropped, [ids[4]]);
  const quantized = survivors.map((id) => quantizedInput(seed, id, updates[id], result.config));
  t.deepEqual([...result.quantizedSum], [...sumMod(quantized, result.config.modulusRange)]);
});

test('every message carries its would-be wire size, so bytes per client can be read from the log', async (t) => {
  const sim = new SimulationCore({ seed: 4 });
  await runSecAggPlus(sim, { clients: makeUpdates(4, 1000), params: { numShares: 4, reconstructionThreshold: 3 } });
  const masked = sentTo(sim, SERVER).filter((e) => e.type === SECAGG.maskedInput);
  t.is(masked.length, 4);
  for (const e of masked) t.true(e.envelope.bytes! >= 4000 && e.envelope.bytes! < 4100, `${e.envelope.bytes} bytes for 1000 uint32`);
  t.true(sim.log.events.filter((e) => e.ev === 'sent').every((e) => (e as { envelope: Envelope }).envelope.bytes! > 0));
  t.regex(sim.log.eventLines().find((l) => l.includes(SECAGG.maskedInput))!, /"bytes":40\d\d/);
});
