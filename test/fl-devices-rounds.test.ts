/**
 * The synchronous round engine on devices (issue #16, part B): each client's fit costs its
 * device's time (fitDurationMs), an availability trace decides who can be selected and when
 * a client drops out, and round policies (over-selection, minimum participation) decide
 * when a round completes. Every timing below is computed by hand from the devices' profiles:
 * the simulation's link latency is 0, so a fit reaches a client when it is sent.
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { type FaultPlanInput, type SimEvent, SimulationCore } from '../src/runtime/index.js';
import { ERROR_REPLY } from '../src/runtime/envelope.js';
import { createStream } from '../src/runtime/rng.js';
import { nn } from '../src/fl/models/index.js';
import { FL, type ClientData, type FederatedOptions, runFederated, wireBytes } from '../src/fl/rounds/index.js';
import { FedAvg } from '../src/fl/strategies/fedavg.js';
import type { FitPlan } from '../src/fl/strategies/strategy.js';
import { FlConfigError } from '../src/fl/errors.js';
import { fitDurationMs } from '../src/fl/devices/fit-duration.js';
import { availablePool } from '../src/fl/devices/available-pool.js';
import type { DevicePopulation } from '../src/fl/devices/population.js';
import { overSelectionCount } from '../src/fl/rounds/round-policy.js';
import { chiSquareQuantile } from './helpers/statistics.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { DROP_REASONS } from '../src/fl/rounds/drop-reasons.js';
import { FEATURES, arrayAvailability, arrayPopulation, clientsOfSizes, profile } from './helpers/devices.js';

test.before(async () => {
  await initBackend('cpu');
});

const spec = nn.logistic(FEATURES, 2);
/** Bytes of a fit and of an update of this model: header 64 + (16 + 4·8) for W + (16 + 4·2) for b. */
const MODEL_BYTES = 136;

function options(clients: ClientData[], devices: DevicePopulation, more: Partial<FederatedOptions> = {}): FederatedOptions {
  return {
    model: spec,
    clients,
    devices,
    rounds: 1,
    localEpochs: 1,
    batchSize: 5,
    lr: 0.1,
    clientEvaluation: 'none',
    trainEvaluation: 'none',
    roundDeadlineMs: 20_000,
    fitRetryMs: 1_000,
    ...more,
  };
}

async function run(opts: FederatedOptions, seed = 1, faults?: FaultPlanInput) {
  const sim = new SimulationCore({ seed, latency: 0, ...(faults ? { faults } : {}) });
  const result = await runFederated(sim, opts);
  await sim.settle();
  return { sim, result, log: sim.log.toJSONL() };
}

/** When the messages of `type` from `from` left (a busy actor's messages leave when its turn's cost is paid; latency is 0). */
const sentBy = (sim: SimulationCore, type: string, from: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.type === type && e.from === from).map((e) => e.deliverAt);
const deliveredTo = (sim: SimulationCore, type: string, to: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'delivered' }> => e.ev === 'delivered' && e.type === type && e.to === to).map((e) => e.t);

/** FedAvg that selects every client whatever the pool says: fits then reach clients the trace has offline. */
class SelectEveryone extends FedAvg {
  override configure(_round: number, clients: readonly string[]): FitPlan {
    return { clients: [...clients], config: {} };
  }
}

test('fitDurationMs: latency + download + training + latency + upload, on hand-computed cases', (t) => {
  const phone = { samplesPerSecond: 100, uploadBytesPerSecond: 1_000, downloadBytesPerSecond: 2_000, latencyMs: 5 };
  // 5 + 4000/2000 s + 50/100 s + 5 + 3000/1000 s = 5 + 2000 + 500 + 5 + 3000 ms
  t.is(fitDurationMs(phone, { bytesDown: 4_000, samplesSeen: 50, bytesUp: 3_000 }), 5_510);
  // A repeat (no training) costs the transfers only.
  t.is(fitDurationMs(phone, { bytesDown: 4_000, samplesSeen: 0, bytesUp: 3_000 }), 5_010);
  t.is(fitDurationMs({ samplesPerSecond: 8, uploadBytesPerSecond: 136, downloadBytesPerSecond: 272, latencyMs: 0 }, { bytesDown: 136, samplesSeen: 20, bytesUp: 136 }), 500 + 2_500 + 1_000);
});

test('each client charges its own device: the update leaves fitDurationMs after the fit arrived', async (t) => {
  t.is(wireBytes([new Float32Array(8), new Float32Array(2)]), MODEL_BYTES);
  const sizes = [20, 10, 30];
  const profiles = [profile(10, 136), profile(40, 272, 3), profile(5, 1_360, 10)];
  const { sim, result } = await run(options(clientsOfSizes(sizes), arrayPopulation(profiles), { localEpochs: 2 }));
  const expected = profiles.map((p, i) => fitDurationMs(p, { bytesDown: MODEL_BYTES, samplesSeen: 2 * sizes[i], bytesUp: MODEL_BYTES }));
  // By hand: 1000 + 40/10 s + 1000; 3 + 500 + 20/40 s + 3 + 500; 10 + 100 + 60/5 s + 10 + 100.
  t.deepEqual(expected, [6_000, 1_506, 12_220]);
  result.clientIds.forEach((id, i) => {
    const [arrived] = deliveredTo(sim, FL.fit, id);
    t.is(arrived, 0);
    t.is(sentBy(sim, FL.fitResult, id)[0], arrived + expected[i], id);
  });
  const [round] = result.rounds;
  t.is(round.durationMs, 12_220, 'the round lasts until its slowest device answered');
  t.is(round.stragglerWaitMs, 12_220 - 1_506, 'from the first update (the fastest device) to the end');
  t.like(round, { finished: 3, drops: { offline: 0, deadline: 0, 'over-selected': 0, refused: 0, fault: 0 } });
});

test('a trace makes a client unavailable exactly when it says', async (t) => {
  // Every device needs 1000 (down) + 2000 (20 samples at 10/s) + 1000 (up) = 4000 ms for a fit; fits go at 0, retries every 1000.
  const p = profile(10, 136);
  const online = [
    [[0, 4_000]], // finishes exactly as it goes offline: its update has left, so it counts
    [[0, 3_999], [4_500, Infinity]], // would finish 1 ms too late; back online at 4500, it answers the retry of 5000
    [[1, Infinity]], // offline when the first fit arrives (at 0): ignored; the retry at 1000 is answered
    [[0, Infinity]],
  ] as const;
  const { sim, result } = await run(options(clientsOfSizes([20, 20, 20, 20]), arrayPopulation([p, p, p, p], online), { strategy: new SelectEveryone() }));
  const [c0, c1, c2, c3] = result.clientIds;
  t.deepEqual(sentBy(sim, FL.fitResult, c0), [4_000], 'c0 answers once, at 4000; the retries reach it when it is gone');
  t.is(sentBy(sim, FL.fitResult, c1)[0], 9_000, 'c1 never answers the fit it cannot finish; the retry at 5000 finishes at 9000');
  t.is(sentBy(sim, FL.fitResult, c2)[0], 5_000, 'c2 ignores the fit of 0 and answers the retry of 1000');
  t.is(sentBy(sim, FL.fitResult, c3)[0], 4_000);
  // c1 worked on the first fit until it went offline (busy), so the retries of 1000–3000 reached it at 3999, offline.
  t.true(deliveredTo(sim, FL.fit, c1).filter((at) => at < 5_000).every((at) => at === 0 || at === 3_999 || at === 4_000));
  const [round] = result.rounds;
  t.deepEqual(round.participants, [c0, c1, c2, c3]);
  t.is(round.endedAt, 9_000);
});

test('an offline device answers nothing, not even a refusal: the fit never reached it', async (t) => {
  const p = profile(10, 136);
  const online = [[[0, Infinity]], [[10_000, Infinity]]] as const;
  // lr −1 is refused by every client that gets the fit.
  class Refused extends SelectEveryone {
    override configure(round: number, clients: readonly string[]): FitPlan {
      return { ...super.configure(round, clients), config: { lr: -1 } };
    }
  }
  const { sim, result } = await run(options(clientsOfSizes([20, 20]), arrayPopulation([p, p], online), { strategy: new Refused(), roundDeadlineMs: 5_000 }));
  const [c0, c1] = result.clientIds;
  t.deepEqual(sentBy(sim, ERROR_REPLY, c0), [0]);
  t.true(deliveredTo(sim, FL.fit, c1).length > 1, 'the fit and its retries reached the actor');
  t.is(sim.log.events.filter((e) => e.ev === 'sent' && e.from === c1).length, 0, 'the offline device sent nothing');
  const [round] = result.rounds;
  t.deepEqual(round.failures.map((f) => [f.clientId, f.drop]), [[c0, 'refused'], [c1, 'offline']]);
  t.like(round.drops, { refused: 1, offline: 1 });
});

test('drops are classified: offline by the trace, deadline for a straggler that stayed online', async (t) => {
  const fast = profile(10, 136); // 4000 ms a fit
  const slow = profile(1, 136); // 22000 ms: past the deadline of 20000
  const online = [[[0, Infinity]], [[0, 3_000]], [[0, Infinity]], [[0, Infinity]]] as const;
  const { result } = await run(options(clientsOfSizes([20, 20, 20, 20]), arrayPopulation([fast, fast, slow, fast], online)));
  const [round] = result.rounds;
  const [, c1, c2] = result.clientIds;
  t.like(round, { finished: 2, drops: { offline: 1, deadline: 1, 'over-selected': 0, refused: 0, fault: 0 }, endedAt: 20_000, durationMs: 20_000, stragglerWaitMs: 16_000 });
  t.deepEqual(
    round.failures.map((f) => [f.clientId, f.drop]),
    [
      [c1, 'offline'],
      [c2, 'deadline'],
    ],
  );
  t.regex(round.failures[0].reason, /offline/);
});

test('selection by availability: the strategy samples among the clients online at the round start, K from onlineCount', async (t) => {
  const p = profile(100, 136_000);
  // Clients 0–3 online from the start; 4–7 only from 10^9 ms (never, for this run).
  const online = Array.from({ length: 8 }, (_, i) => (i < 4 ? [[0, Infinity]] : [[1e9, Infinity]]) as [number, number][]);
  const { result } = await run(options(clientsOfSizes(Array(8).fill(10)), arrayPopulation(Array(8).fill(p), online), { fraction: 0.5, rounds: 4 }));
  const onlineIds = new Set(result.clientIds.slice(0, 4));
  for (const round of result.rounds) {
    t.is(round.selected.length, 2, 'fraction 0.5 of the 4 online (not of the 8 registered)');
    t.true(round.selected.every((c) => onlineIds.has(c)), `round ${round.round} selected ${round.selected}`);
  }
  t.true(new Set(result.rounds.flatMap((r) => r.selected)).size > 2, 'rounds draw different online clients');
});

test('a round with nobody online sends no fit and is skipped at its deadline; the next round finds clients online', async (t) => {
  const p = profile(100, 136_000);
  const online = [[[5_000, Infinity]], [[5_000, Infinity]]] as const;
  const { sim, result } = await run(options(clientsOfSizes([10, 10]), arrayPopulation([p, p], online), { rounds: 2, roundDeadlineMs: 6_000 }));
  const [first, second] = result.rounds;
  t.like(first, { startedAt: 0, endedAt: 6_000, durationMs: 6_000, finished: 0 });
  t.deepEqual(first.selected, []);
  t.regex(first.skipped!, /no client was online at the round's start/);
  t.is(second.startedAt, 6_000);
  t.is(second.skipped, undefined);
  t.is(second.participants.length, 2);
  t.true(deliveredTo(sim, FL.fit, result.clientIds[0]).every((at) => at >= 6_000));
});

test('availablePool: size from onlineCount, only online clients, uniform among them, O(K) draws, fixed by the stream', (t) => {
  const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const onlineSet = [1, 3, 4, 8, 9];
  const availability = arrayAvailability(ids.map((_, i) => (onlineSet.includes(i) ? [[0, 100]] : [[100, 200]])));
  const pool = availablePool(ids, availability, 50);
  t.is(pool.size, 5);
  t.deepEqual(availablePool(ids, availability, 150).size, 5);
  t.deepEqual(pool.sample(5, createStream(1, 's')), ['c1', 'c3', 'c4', 'c8', 'c9']);
  t.deepEqual(pool.sample(2, createStream(7, 's')), pool.sample(2, createStream(7, 's')), 'the same stream, the same clients');
  t.throws(() => pool.sample(6, createStream(1, 's')), { instanceOf: FlConfigError, message: /cannot sample 6 clients when 5 are online at virtual time 50/ });
  // Uniform: each of the 10 pairs of online clients equally likely (χ², df 9, α = 0.001).
  const rng = createStream(3, 'uniformity');
  const counts = new Map<string, number>();
  const n = 5_000;
  for (let i = 0; i < n; i++) {
    const pair = pool.sample(2, rng);
    t.true(pair.every((c) => onlineSet.includes(Number(c.slice(1)))));
    counts.set(pair.join(','), (counts.get(pair.join(',')) ?? 0) + 1);
  }
  t.is(counts.size, 10);
  const expected = n / 10;
  const chi2 = [...counts.values()].reduce((s, k) => s + (k - expected) ** 2 / expected, 0);
  t.true(chi2 < chiSquareQuantile(0.001, 9), `χ² = ${chi2}`);
  // Draws: K picks among half of a large population cost about 2K draws, never a scan.
  const big = Array.from({ length: 100_000 }, (_, i) => `d${String(i).padStart(6, '0')}`);
  const half = { isOnline: (i: number) => i % 2 === 0, onlineUntil: (i: number) => (i % 2 === 0 ? Infinity : undefined), onlineCount: () => 50_000 };
  let draws = 0;
  const base = createStream(5, 'draws');
  const counting = { ...base, int: (m: number) => (draws++, base.int(m)) } as typeof base;
  const picked = availablePool(big, half, 0).sample(100, counting);
  t.is(picked.length, 100);
  t.true(draws < 400, `${draws} draws for 100 clients`);
});

test('over-selection selects ⌈f·K⌉ and keeps the K earliest updates; the others are dropped as over-selected', async (t) => {
  // 20 samples; transfers 1 ms each way: fits take 2 + 20/s·1000 ms → 2002, 1002, 502, 4002, 252, 1252.
  const speeds = [10, 20, 40, 5, 80, 16];
  const devices = arrayPopulation(speeds.map((s) => profile(s, 136_000)));
  const { sim, result } = await run(options(clientsOfSizes(Array(6).fill(20)), devices, { fraction: 0.5, roundPolicy: { overSelection: 2 } }));
  const ids = result.clientIds;
  const [round] = result.rounds;
  t.is(round.selected.length, 6, '⌈2 · 3⌉');
  t.deepEqual(round.participants, [ids[1], ids[2], ids[4]], 'the three fastest devices');
  t.like(round, { finished: 3, endedAt: 1_002, stragglerWaitMs: 1_002 - 252, drops: { 'over-selected': 3, offline: 0, deadline: 0, refused: 0, fault: 0 } });
  t.deepEqual(round.failures.map((f) => [f.clientId, f.drop]), [ids[0], ids[3], ids[5]].map((c) => [c, 'over-selected']));
  t.is(sentBy(sim, FL.fitResult, ids[1])[0], 1_002);
  // Without over-selection the round waits for the slowest (4002).
  const plain = await run(options(clientsOfSizes(Array(6).fill(20)), devices, { fraction: 1 }));
  t.is(plain.result.rounds[0].endedAt, 4_002);
  t.is(overSelectionCount(4, 1.3), 6, '⌈5.2⌉');
  t.is(overSelectionCount(10, 1.3), 13, '1.3·10 is 13.000000000000002 in floating point');
  t.is(overSelectionCount(3, 1), 3);
});

test('over-selection with ⌈1.3·K⌉: 10 clients, fraction 0.4 selects 6 and keeps 4', async (t) => {
  const devices = arrayPopulation(Array.from({ length: 10 }, (_, i) => profile(10 + i, 136_000)));
  const { result } = await run(options(clientsOfSizes(Array(10).fill(10)), devices, { fraction: 0.4, rounds: 2, roundPolicy: { overSelection: 1.3 } }));
  for (const round of result.rounds) {
    t.is(round.selected.length, 6);
    t.is(round.participants.length, 4);
    t.is(round.drops['over-selected'], 2);
  }
});

test('minParticipation: a round with fewer updates at the deadline is skipped, saying why', async (t) => {
  const fast = profile(10, 136);
  const slow = profile(1, 136);
  const devices = arrayPopulation([fast, slow, fast, slow]);
  const { result } = await run(options(clientsOfSizes([20, 20, 20, 20]), devices, { roundPolicy: { minParticipation: 3 } }));
  const [round] = result.rounds;
  t.is(round.skipped, 'only 2 updates of 4 selected clients arrived, fewer than roundPolicy.minParticipation 3');
  t.like(round, { finished: 2, participants: [], drops: { deadline: 2 } });
  const enough = await run(options(clientsOfSizes([20, 20, 20, 20]), devices, { roundPolicy: { minParticipation: 2 } }));
  t.is(enough.result.rounds[0].skipped, undefined);
  t.is(enough.result.rounds[0].participants.length, 2);
});

test('refused before the run: cost or slowdown beside devices, a population of another size, over-selection with secure modes or dp', (t) => {
  const clients = clientsOfSizes([10, 10, 10, 10]);
  const devices = arrayPopulation(Array(4).fill(profile(10)));
  const sim = () => new SimulationCore({ seed: 1 });
  t.throws(() => runFederated(sim(), options(clients, devices, { cost: { perSampleMs: 1 } })), { instanceOf: FlConfigError, message: /cost \{"perSampleMs":1\} and devices both say what a fit costs/ });
  t.throws(() => runFederated(sim(), options(clients.map((c, i) => (i === 2 ? { ...c, slowdown: 3 } : c)), devices)), { instanceOf: FlConfigError, message: /client 'client-2' has slowdown 3, but devices set every client's speed/ });
  t.notThrows(() => runFederated(sim(), options(clients.map((c) => ({ ...c, slowdown: 1 })), devices)).then(undefined, () => {}));
  t.throws(() => runFederated(sim(), options(clients, arrayPopulation(Array(3).fill(profile(10))))), { instanceOf: FlConfigError, message: /devices has 3 devices for 4 clients/ });
  t.throws(() => runFederated(sim(), options(clients, devices, { aggregation: 'secure-worker', roundPolicy: { overSelection: 1.5 } })), {
    instanceOf: FlConfigError,
    message: /roundPolicy\.overSelection: expected no over-selection with aggregation 'secure-worker'/,
  });
  t.throws(() => runFederated(sim(), options(clients, devices, { dp: { clip: 0.5, noiseMultiplier: 1.2, delta: 1e-3 }, roundPolicy: { overSelection: 1.5 } })), {
    instanceOf: FlConfigError,
    message: /roundPolicy\.overSelection: expected no over-selection with dp/,
  });
  t.throws(() => runFederated(sim(), options(clients, devices, { roundPolicy: { minParticipation: 5 } })), { instanceOf: FlConfigError, message: /roundPolicy\.minParticipation: expected at most the 4 clients a round aggregates/ });
  t.throws(() => runFederated(sim(), options(clients, devices, { roundPolicy: { overSelection: 0.5 } })), { instanceOf: FlConfigError, message: /roundPolicy\.overSelection/ });
});

test('same seed with devices, a trace and over-selection: identical event logs and weights; another seed selects differently', async (t) => {
  const n = 12;
  const devices = arrayPopulation(
    Array.from({ length: n }, (_, i) => profile(5 + ((i * 7) % 11), 1_000 + 100 * i, i % 3)),
    Array.from({ length: n }, (_, i) => [[0, 3_000 + 1_000 * i], [20_000 + 500 * i, Infinity]] as [number, number][]),
  );
  const opts = options(clientsOfSizes(Array.from({ length: n }, (_, i) => 8 + i)), devices, { fraction: 0.25, rounds: 4, roundDeadlineMs: 8_000, roundPolicy: { overSelection: 1.5 } });
  const a = await run(opts, 11);
  const b = await run(opts, 11);
  t.is(a.log, b.log);
  t.is(a.result.weightsSha256, b.result.weightsSha256);
  t.deepEqual(a.result.rounds, b.result.rounds);
  const c = await run(opts, 12);
  t.notDeepEqual(
    c.result.rounds.map((r) => r.selected),
    a.result.rounds.map((r) => r.selected),
  );
  // Under a fault plan (lost and duplicated messages, the server crashing mid-run and restarting from its checkpoint) too.
  const faults: FaultPlanInput = { drop: 0.05, duplicate: 0.1, crashes: [{ actor: 'server', at: 9_000, restartAfter: 500, loseState: true }] };
  const f1 = await run(opts, 11, faults);
  const f2 = await run(opts, 11, faults);
  t.true(f1.sim.log.events.some((e) => e.ev === 'crashed'));
  t.is(f1.log, f2.log);
  t.is(f1.result.weightsSha256, f2.result.weightsSha256);
  t.is(f1.result.rounds.length, 4);
});

test('secure aggregation on devices: clients charge their device time, an offline client is a dropout, no straggler wait is claimed', async (t) => {
  const p = profile(10, 136); // 4000 ms a fit
  const online = [[[0, Infinity]], [[0, Infinity]], [[0, 2_000]], [[0, Infinity]], [[0, Infinity]]] as const;
  const { sim, result } = await run(
    options(clientsOfSizes([20, 20, 20, 20, 20]), arrayPopulation([p, p, p, p, p], online), { aggregation: 'secagg+', secagg: { numShares: 5, reconstructionThreshold: 3 }, roundDeadlineMs: 10_000 }),
  );
  const [round] = result.rounds;
  const gone = result.clientIds[2];
  t.is(round.skipped, undefined, round.skipped);
  t.deepEqual(round.participants, result.clientIds.filter((c) => c !== gone));
  t.deepEqual(round.failures.map((f) => [f.clientId, f.drop]), [[gone, 'offline']]);
  t.is(round.stragglerWaitMs, undefined);
  t.true(result.rounds[0].endedAt >= 4_000, 'the round lasted at least one device fit');
  t.is(sentBy(sim, FL.fitResult, gone).length, 0);
});

test("the experiment's perRound reports selected, finished, drops by reason, straggler wait and duration", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-devices-'));
  try {
    const file = join(dir, 'experiment.yaml');
    writeFileSync(
      file,
      [
        'kind: fedavg',
        'seed: 2',
        'data: { source: synthetic, alpha: 0.5, beta: 0.5, devices: 6, features: 6, classes: 3, maxSamplesPerDevice: 30 }',
        'model: { kind: logistic, inputs: 6, classes: 3 }',
        'rounds: 4',
        'fraction: 0.5',
        'localEpochs: 1',
        'batchSize: 10',
        'lr: 0.1',
        'slowdown: { client-2: 1000 }',
        'roundDeadlineMs: 500',
        'roundPolicy: { overSelection: 1.5 }',
        'expect: { maxSkippedRounds: 4 }',
      ].join('\n') + '\n',
    );
    const outcome = await runScenario<FedAvgExperimentResult>(await loadScenario(file));
    t.true(outcome.ok, JSON.stringify(outcome.checks));
    for (const row of outcome.result!.perRound) {
      t.is(row.selected, 5, '⌈1.5 · 3⌉');
      const dropped = DROP_REASONS.reduce((n, why) => n + row.drops[why], 0);
      t.is(dropped, row.selected - row.finished, `round ${row.round}: every client that did not finish has one reason`);
      if (!row.skipped) t.is(row.participants, row.finished);
      t.true(row.finished <= 3, 'at most K updates are kept');
      t.true(row.durationMs > 0 && row.durationMs <= 500);
      t.true(row.stragglerWaitMs! >= 0 && row.stragglerWaitMs! <= row.durationMs);
    }
    t.true(outcome.result!.perRound.some((r) => r.drops['over-selected'] > 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a device the round gave up on is not selected again while it still trains that fit; its late update frees it', async (t) => {
  // Fits take 2 + 20/s·1000 ms: 252, 502, 1002 and 4002 ms. Over-selection 2 with K = 2 picks all four and keeps
  // the two fastest (round 1 ends at 502); the two slow ones train on, until 1002 and 4002.
  const devices = arrayPopulation([80, 40, 20, 5].map((s) => profile(s, 136_000)));
  const { sim, result } = await run(options(clientsOfSizes(Array(4).fill(20)), devices, { fraction: 0.5, rounds: 4, roundPolicy: { overSelection: 2 } }));
  const ids = result.clientIds;
  const [first, ...later] = result.rounds;
  t.deepEqual(first.participants, [ids[0], ids[1]]);
  for (const round of later) {
    for (const client of round.selected) {
      // Selected only once every fit it was sent before has been answered (a device trains one fit at a time).
      const answers = sentBy(sim, FL.fitResult, client).filter((at) => at <= round.startedAt).length;
      const fits = result.rounds.filter((r) => r.round < round.round && r.selected.includes(client)).length;
      t.is(answers, fits, `${client} selected in round ${round.round} while still training`);
    }
  }
  // The slowest device sat out until its late update (at 4002) arrived.
  const slowRounds = later.filter((r) => r.selected.includes(ids[3]));
  t.true(slowRounds.every((r) => r.startedAt >= 4_002), JSON.stringify(later.map((r) => [r.round, r.startedAt, r.selected])));
});

test('minParticipation above fraction × online raises K to it (Flower min_fit_clients) rather than sending fits to a round sure to be skipped; dp with a trace is refused', async (t) => {
  const devices = arrayPopulation(Array(10).fill(profile(100, 136_000)), [...Array(6).fill([[0, 1e9]]), ...Array(4).fill([])]);
  const { result } = await run(options(clientsOfSizes(Array(10).fill(10)), devices, { fraction: 0.5, rounds: 2, roundPolicy: { minParticipation: 5 } }));
  for (const round of result.rounds) {
    t.is(round.selected.length, 5, 'K = 0.5 · 6 online = 3, raised to 5');
    t.is(round.skipped, undefined);
    t.is(round.participants.length, 5);
  }
  t.throws(() => runFederated(new SimulationCore({ seed: 1 }), { ...options(clientsOfSizes(Array(10).fill(10)), devices), dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5 } }), { message: /dp with an availability trace/ });
});
