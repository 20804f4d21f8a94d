/**
 * Populations far larger than a round (issue #16, scale): actors spawned on their first
 * message (SimulationCore.spawnOnDemand) and runFederated's lazy client source. No wall
 * clock here: the cost of a round is checked by counting what it does (events, turns,
 * data loaded), which must not depend on how many clients are registered.
 */
import test from 'ava';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type FaultPlanInput, FaultPlanError, FedsimError, type SimEvent, SimulationCore, UnknownActorError, createStream } from '../src/runtime/index.js';
import { nn } from '../src/fl/models/index.js';
import { CHECKPOINT_KEY, type Checkpoint, type ClientData, type FederatedOptions, type LazyClients, lazyClients, runFederated } from '../src/fl/rounds/index.js';
import { FlConfigError, IncompatibleModelError } from '../src/fl/errors.js';
import { initBackend } from '../src/runtime/backend.js';

test.before(async () => {
  await initBackend();
});

// ── lazy actors in the runtime ────────────────────────────────────────────────

type WithIo = { io: ActorIO };

/** Answers 'ping' with 'pong'; on 'relay' { to } sends 'ping' to `to`. */
const relayLogic = fromTransition(
  (state: WithIo, event: ActorMessage) => {
    if (event.type === 'ping') state.io.reply(event.envelope, 'pong', { by: state.io.id });
    if (event.type === 'relay') state.io.send((event.payload as { to: string }).to, 'ping', {});
    return state;
  },
  ({ input }: { input: WithIo }) => ({ io: input.io }),
);

const isWorker = (id: string) => /^w[0-9]+$/.test(id);

function lazyWorld(seed: number, faults?: FaultPlanInput) {
  const sim = new SimulationCore({ seed, faults });
  const created: string[] = [];
  sim.spawnOnDemand(isWorker, (id) => {
    created.push(id);
    return { logic: relayLogic };
  });
  return { sim, created };
}

const spawnedIds = (sim: SimulationCore) => sim.log.events.filter((e) => e.ev === 'spawned').map((e) => (e as Extract<SimEvent, { ev: 'spawned' }>).actor);

test('an on-demand actor is spawned when the first message is sent to it, never before, with a spawned event just before that sent event', async (t) => {
  const { sim, created } = lazyWorld(3);
  t.true(sim.hasActor('w5'), 'a registered id is an actor of the run');
  t.false(sim.isSpawned('w5'));
  t.false(sim.hasActor('x5'));
  t.deepEqual(sim.actorIds(), []);
  t.throws(() => sim.actor('w5'), { instanceOf: FedsimError, message: /registered to be spawned on demand.*isSpawned/ });
  t.throws(() => sim.actor('x5'), { instanceOf: UnknownActorError });
  t.deepEqual(created, []);

  t.deepEqual(await sim.request('w5', 'ping', {}), { by: 'w5' });
  // An actor's message spawns its receiver too.
  sim.send('w1', 'relay', { to: 'w9' });
  await sim.settle();
  t.deepEqual(created, ['w5', 'w1', 'w9'], 'the factory ran once per messaged id, in send order');
  t.deepEqual(spawnedIds(sim), ['w5', 'w1', 'w9']);
  t.deepEqual(sim.actorIds(), ['w5', 'w1', 'w9']);
  t.true(sim.isSpawned('w9'));
  t.false(sim.isSpawned('w2'));
  const events = sim.log.events;
  for (const id of ['w5', 'w1', 'w9']) {
    const at = events.findIndex((e) => e.ev === 'spawned' && (e as Extract<SimEvent, { ev: 'spawned' }>).actor === id);
    const next = events[at + 1] as Extract<SimEvent, { ev: 'sent' }>;
    t.like(next, { ev: 'sent', to: id }, `${id}: spawned right before the first message to it was sent`);
  }
  // A second message to a spawned actor spawns nothing.
  await sim.request('w5', 'ping', {});
  t.deepEqual(created, ['w5', 'w1', 'w9']);
});

test('on-demand spawning is deterministic: two runs of one seed give one log, also under message faults', async (t) => {
  const faults = { duplicate: 0.3, drop: 0.1, delay: { rate: 0.5, dist: { kind: 'uniform' as const, min: 0, max: 5 } } };
  const once = async () => {
    const { sim } = lazyWorld(11, faults);
    for (let i = 0; i < 20; i++) sim.send(`w${i % 7}`, 'relay', { to: `w${(i * 3) % 11}` });
    await sim.settle();
    return sim.log.toJSONL();
  };
  const first = await once();
  t.is(await once(), first);
  t.true(first.includes('"ev":"spawned"'));
});

test('a fault plan sees a registered id as an actor: a timed crash spawns then crashes it, a message-count crash of a never-messaged id is not refused', async (t) => {
  const crashes = [
    { actor: 'w4', at: 5 },
    { actor: 'w8', afterMessages: 2 },
  ];
  const { sim, created } = lazyWorld(1, { crashes });
  await sim.runFor(10);
  t.deepEqual(created, ['w4'], 'the crash due at 5 ms spawned w4 to crash it');
  t.like(sim.log.events.find((e) => e.ev === 'crashed'), { actor: 'w4', reason: 'fault-plan', t: 5 });
  sim.send('w4', 'ping', {});
  await sim.settle();
  t.like(sim.log.events.find((e) => e.ev === 'dropped'), { to: 'w4', reason: 'crashed' }, 'a message to the crashed actor is dropped, as if it had existed from the start');
  t.notThrows(() => sim.close(), 'w8 is registered (not a typo) and was never messaged: its crash never became due');

  const typo = new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'x4', at: 5 }] } });
  typo.spawnOnDemand(isWorker, () => ({ logic: relayLogic }));
  await t.throwsAsync(typo.runFor(10), { instanceOf: FaultPlanError, message: /no actor 'x4'/ });
});

test('a partition may name registered ids: a message across it spawns its receiver (at send time) and is dropped at delivery', async (t) => {
  const { sim, created } = lazyWorld(1, { partitions: [{ from: 0, until: 50, groups: [['me'], ['w2', 'w3']] }] });
  sim.send('w2', 'ping', {});
  await sim.settle();
  t.deepEqual(created, ['w2']);
  t.like(sim.log.events.find((e) => e.ev === 'dropped'), { to: 'w2', reason: 'partition' });
  t.false(sim.isSpawned('w3'), 'naming an id in a partition does not spawn it');
});

test('spawnOnDemand refuses what is not a pair of functions', (t) => {
  const sim = new SimulationCore();
  t.throws(() => sim.spawnOnDemand('w*' as never, () => ({ logic: relayLogic })), { instanceOf: FedsimError, message: /both are functions of an actor id/ });
});

// ── the lazy client source of runFederated ────────────────────────────────────

const FEATURES = 4;
const CLASSES = 2;
const spec = nn.logistic(FEATURES, CLASSES);
const SAMPLES = 6;

/** Client `index`'s data, from a stream named after it: a function of the index alone. */
function clientData(index: number): ClientData {
  const rng = createStream(5, `test/data/${index}`);
  const x = new Float32Array(SAMPLES * FEATURES);
  const y = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    y[i] = rng.int(CLASSES);
    for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = rng.next() + y[i] * (j % 2);
  }
  return { x, y };
}

/** A lazy source of `count` clients that counts the data it was asked for. */
function countingSource(count: number): LazyClients & { loaded: number[] } {
  const loaded: number[] = [];
  return {
    count,
    maxSamplesPerClient: SAMPLES,
    loaded,
    data(index) {
      loaded.push(index);
      return clientData(index);
    },
  };
}

const runOptions = (clients: FederatedOptions['clients'], perRound: number, rounds = 3, aggregation: FederatedOptions['aggregation'] = 'plain'): FederatedOptions => ({
  model: spec,
  clients,
  rounds,
  // A tiny fraction with minClients: exactly `perRound` clients a round, whatever the population.
  fraction: 1e-9,
  minClients: perRound,
  localEpochs: 1,
  batchSize: 3,
  lr: 0.3,
  clientEvaluation: 'none',
  trainEvaluation: 'none',
  roundDeadlineMs: 400,
  aggregation,
});

async function run(clients: FederatedOptions['clients'], perRound: number, options: { seed?: number; faults?: FaultPlanInput; rounds?: number; aggregation?: FederatedOptions['aggregation'] } = {}) {
  const sim = new SimulationCore({ seed: options.seed ?? 9, faults: options.faults });
  const result = await runFederated(sim, runOptions(clients, perRound, options.rounds, options.aggregation));
  await sim.settle();
  return { sim, result };
}

/** The log's events as plain objects without `seq`, and without the `spawned` events. */
const withoutSpawns = (sim: SimulationCore) =>
  sim.log
    .toJSONL()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((e) => e.ev !== 'spawned')
    .map(({ seq: _seq, ...rest }) => rest);

for (const aggregation of ['plain', 'secure-worker', 'additive'] as const) {
  test(`${aggregation}: a run with the lazy source equals the same run with the array source: the same weights bit for bit, the same log but for when clients are spawned`, async (t) => {
    const clients = Array.from({ length: 12 }, (_, i) => clientData(i));
    const faults = { duplicate: 0.2, delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
    const eager = await run(clients, 4, { faults, aggregation });
    const lazy = await run(lazyClients(clients, SAMPLES), 4, { faults, aggregation });
    t.is(lazy.result.weightsSha256, eager.result.weightsSha256);
    t.deepEqual(lazy.result.rounds, eager.result.rounds);
    t.deepEqual(lazy.result.bytesByLink, eager.result.bytesByLink);
    t.deepEqual(lazy.result.clientIds, eager.result.clientIds);
    // The logs differ only in the spawned events: all clients up front (eager), each selected one at its first fit (lazy).
    t.deepEqual(withoutSpawns(lazy.sim), withoutSpawns(eager.sim));
    const selected = new Set(lazy.result.rounds.flatMap((r) => r.selected));
    t.true(selected.size < clients.length, 'some clients were never selected (the test needs idle clients)');
    t.deepEqual(spawnedIds(lazy.sim).filter((id) => id.startsWith('client-')).sort(), [...selected].sort());
    t.is(spawnedIds(eager.sim).filter((id) => id.startsWith('client-')).length, clients.length);
  });
}

test('a lazy run is deterministic: two runs of one seed give one log and one model, and a re-execution checked against the log matches it to the end', async (t) => {
  const a = await run(countingSource(500), 5, { seed: 4 });
  const b = await run(countingSource(500), 5, { seed: 4 });
  t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
  t.is(a.result.weightsSha256, b.result.weightsSha256);
  // Verified re-execution (what `fedsim replay` does): every event, spawned ones included, compared as it happens.
  const replay = new SimulationCore({ seed: 4, verify: a.sim.log.toJSONL() });
  const again = await runFederated(replay, runOptions(countingSource(500), 5));
  await replay.settle();
  t.is(again.weightsSha256, a.result.weightsSha256);
  t.deepEqual(replay.close(), { events: a.sim.eventCount });
});

/** Every actor named by an event: senders, receivers, spawned, timers, errors, crashes. */
function actorsTouched(sim: SimulationCore): Set<string> {
  const touched = new Set<string>();
  for (const e of sim.log.events as unknown as Array<Record<string, unknown>>) {
    for (const field of ['from', 'to', 'actor']) if (typeof e[field] === 'string') touched.add(e[field] as string);
  }
  return touched;
}

test('idle clients cost nothing: no data loaded, no actor, no message, no turn, for every client never selected', async (t) => {
  const source = countingSource(1000);
  const { sim, result } = await run(source, 10, { rounds: 4 });
  const selected = new Set(result.rounds.flatMap((r) => r.selected));
  t.true(selected.size >= 10 && selected.size <= 40);
  const clientsTouched = [...actorsTouched(sim)].filter((id) => id.startsWith('client-'));
  t.deepEqual(clientsTouched.sort(), [...selected].sort(), 'no event names a client that was never selected');
  t.deepEqual(
    [...source.loaded].sort((a, b) => a - b),
    [...selected].map((id) => Number(id.slice('client-'.length))).sort((a, b) => a - b),
    'data was loaded once per selected client, and for no other',
  );
  t.is(sim.actorIds().filter((id) => id.startsWith('client-')).length, selected.size);
  t.is(result.clientIds.length, 1000);
});

/** Events of a run, counted per kind and per receiving role (server, client, driver). */
function workProfile(sim: SimulationCore) {
  const profile: Record<string, number> = {};
  for (const e of sim.log.events as unknown as Array<Record<string, unknown>>) {
    const who = (id: unknown) => (typeof id !== 'string' ? '-' : id.startsWith('client-') ? 'client' : id);
    const key = `${e.ev}:${who(e.to ?? e.actor)}:${typeof e.type === 'string' ? e.type : ''}`;
    profile[key] = (profile[key] ?? 0) + 1;
  }
  return profile;
}

test("a round's work does not grow with the population: the same events, turns and data loads with 1,000 or 100,000 registered", async (t) => {
  const small = countingSource(1_000);
  const large = countingSource(100_000);
  const a = await run(small, 8, { rounds: 3 });
  const b = await run(large, 8, { rounds: 3 });
  t.deepEqual(workProfile(b.sim), workProfile(a.sim));
  t.is(b.sim.eventCount, a.sim.eventCount);
  t.is(large.loaded.length, small.loaded.length);
  t.is(b.sim.actorIds().length, a.sim.actorIds().length);
  // Nor does the server's state: for an algorithm without client state it keeps nothing per client across rounds.
  const checkpoint = b.sim.actor('server').storage.get<Checkpoint>(CHECKPOINT_KEY)!;
  t.is(checkpoint.round, 3);
  t.deepEqual(checkpoint.lastIncluded, {});
});

test('the lazy source refuses what needs every client, bad counts and bad bounds, and names a client whose data does not fit when it is spawned', async (t) => {
  const sim = () => new SimulationCore({ seed: 1 });
  const source = countingSource(50);
  for (const field of ['clientEvaluation', 'trainEvaluation'] as const) {
    const error = t.throws(() => runFederated(sim(), { ...runOptions(source, 3), [field]: 'every-round' }), { instanceOf: FlConfigError });
    t.regex(error!.message, new RegExp(`${field} 'every-round'.*lazy client source.*${field}: 'none'`));
  }
  t.is(source.loaded.length, 0, 'no client data was loaded to refuse the run');
  t.throws(() => runFederated(sim(), runOptions({ ...source, count: 0 }, 3)), { instanceOf: FlConfigError, message: /clients\.count must be a whole number ≥ 1.*got 0/ });
  t.throws(() => runFederated(sim(), runOptions({ ...source, maxSamplesPerClient: 2.5 }, 3)), { instanceOf: FlConfigError, message: /clients\.maxSamplesPerClient must be a whole number ≥ 1.*got 2\.5/ });
  t.throws(() => runFederated(sim(), { ...runOptions(source, 3), serverId: 'client-07' }), { instanceOf: FlConfigError, message: /'client-07' has the id of client 7 of the lazy source/ });

  const tooBig: LazyClients = { count: 50, maxSamplesPerClient: SAMPLES - 1, data: clientData };
  await t.throwsAsync(run(tooBig, 3), { instanceOf: FlConfigError, message: /client 'client-\d\d' holds 6 training samples, more than the lazy source's maxSamplesPerClient \(5\)/ });
  const wrongShape: LazyClients = { count: 50, maxSamplesPerClient: SAMPLES, data: () => ({ x: new Float32Array(5), y: new Int32Array(1) }) };
  await t.throwsAsync(run(wrongShape, 3), { instanceOf: IncompatibleModelError, message: /client 'client-\d\d'.*5 feature values/ });
  const renamed: LazyClients = { count: 50, maxSamplesPerClient: SAMPLES, data: (i) => ({ ...clientData(i), id: 'alice' }) };
  await t.throwsAsync(run(renamed, 3), { instanceOf: FlConfigError, message: /returned data with id 'alice', but client \d+ of a lazy source is 'client-\d\d'/ });
});
