/**
 * FedAvg as actors: learning, bit-for-bit reproducibility, a hand-checked round,
 * deadlines and late updates, the secure worker's privacy, sampling, bytes,
 * malformed messages.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { SimulationCore, digestOf, type SimEvent } from '../src/runtime/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { createModel, fromLayers, nn, weightsSha256 } from '../src/fl/models/index.js';
import { concatDatasets, evaluateModel } from '../src/fl/training/index.js';
import { FL, runFederated, wireBytes, type ClientData, type FederatedOptions, type FitRes, type RoundEnd } from '../src/fl/rounds/index.js';
import { SECURE_WORKER } from '../src/fl/aggregators/secure-worker-actor.js';
import type { RoundMetrics } from '../src/fl/metrics/index.js';

test.before(async () => {
  await initBackend('cpu');
});

const devices = syntheticFedProx(
  { alpha: 0.5, beta: 0.5, devices: 8, features: 10, classes: 3, maxSamplesPerDevice: 60 },
  { seed: 1, name: 'data' },
);
const clients: ClientData[] = devices.map((d) => ({ x: d.trainX, y: d.trainY, testX: d.testX, testY: d.testY }));
const testSet = concatDatasets(devices.map((d) => ({ x: d.testX, y: d.testY })));
const spec = nn.logistic(10, 3);
const base: FederatedOptions = { model: spec, clients, testSet, rounds: 8, fraction: 0.5, localEpochs: 2, batchSize: 10, lr: 0.1 };

const sent = (sim: SimulationCore, type: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.type === type);
const delivered = (sim: SimulationCore) => sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'delivered' }> => e.ev === 'delivered');

test('FedAvg on a small synthetic problem raises test accuracy', async (t) => {
  const sim = new SimulationCore({ seed: 3 });
  const initial = createModel(spec, createStream(3, 'model/init')); // the stream the run draws its initial model from
  const before = evaluateModel(initial, testSet).accuracy!;
  initial.dispose();
  const result = await runFederated(sim, { ...base, rounds: 15 });
  const last = result.rounds.at(-1)!;
  t.is(result.rounds.length, 15);
  t.true(last.testAccuracy! > before + 0.2, `accuracy ${before} → ${last.testAccuracy}`);
  t.true(last.testLoss! < result.rounds[0].testLoss!);
  // the central test set is the union of the clients' test splits: pooled per-client metrics agree
  t.true(Math.abs(last.clientTestAccuracy! - last.testAccuracy!) < 1e-9);
  t.is(Object.keys(last.clients!).length, 8);
});

test('two runs with one seed give identical event logs and identical final weights (also under faults)', async (t) => {
  const faults = { delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
  const once = async (seed: number) => {
    const sim = new SimulationCore({ seed, faults });
    const result = await runFederated(sim, base);
    await sim.settle();
    return { log: sim.log.toJSONL(), sha: result.weightsSha256, result };
  };
  const a = await once(11);
  const b = await once(11);
  t.is(a.sha, b.sha);
  t.is(a.sha, weightsSha256(a.result.weights));
  t.is(a.log, b.log);
  t.deepEqual(a.result.rounds, b.result.rounds);
  const c = await once(12);
  t.not(c.sha, a.sha);
  t.not(c.log, a.log);
});

test('under lost fits, duplicated updates and a crashing client, rounds close on time with each update counted once, reproducibly', async (t) => {
  const faults = {
    links: [
      { from: 'server', to: 'client-*', drop: 0.2 },
      { from: 'client-*', to: 'server', duplicate: 0.3 },
    ],
    crashes: [{ actor: 'client-3', at: 50, restartAfter: 400 }],
  };
  const once = async () => {
    const sim = new SimulationCore({ seed: 21, faults });
    const result = await runFederated(sim, { ...base, rounds: 10, fraction: 1, roundDeadlineMs: 200 });
    await sim.settle();
    return { sim, result };
  };
  const { sim, result } = await once();
  t.is(result.rounds.length, 10);
  for (const r of result.rounds) {
    t.true(r.endedAt - r.startedAt <= 200);
    t.is(new Set(r.participants).size, r.participants.length);
    t.deepEqual([...r.participants, ...r.dropped].sort(), r.selected);
  }
  t.true(result.rounds.some((r) => r.dropped.length > 0), 'lost fits drop clients');
  // Duplicated updates reach the server, are recognised as repeats and ignored: no round is aborted as inconsistent.
  const updatesDelivered = delivered(sim).filter((e) => e.type === FL.fitResult && e.to === 'server').length;
  const counted = result.rounds.reduce((n, r) => n + r.participants.length, 0);
  t.true(updatesDelivered > counted, `${updatesDelivered} updates delivered, ${counted} counted`);
  t.true(result.rounds.every((r) => r.skipped === undefined), 'no round skipped');
  t.true(sim.log.events.some((e) => e.ev === 'crashed') && sim.log.events.some((e) => e.ev === 'restarted'));
  const again = await once();
  t.is(again.result.weightsSha256, result.weightsSha256);
  t.is(again.sim.log.toJSONL(), sim.log.toJSONL());
});

test('one FedAvg round of full-batch SGD on linear regression matches the closed form (1e-5)', async (t) => {
  // Fixed initial model w = (0.5, −0.25), b = 0.1; two clients; E = 2 full-batch steps of SGD, η = 0.1, MSE.
  const w0 = [0.5, -0.25];
  const b0 = 0.1;
  const data = {
    alice: { X: [[1, 0], [0, 1]], y: [1, 2] },
    bob: { X: [[1, 1], [2, 0], [0, 3]], y: [0, 1, -1] },
  };
  // Local training by hand: r_i = x_i·w + b − y_i, ∇w = (2/n) Σ r_i x_i, ∇b = (2/n) Σ r_i, w ← w − η∇.
  const local = ({ X, y }: { X: number[][]; y: number[] }) => {
    let w = [...w0];
    let b = b0;
    for (let step = 0; step < 2; step++) {
      const r = X.map((x, i) => x[0] * w[0] + x[1] * w[1] + b - y[i]);
      const gw = [0, 1].map((j) => (2 / X.length) * r.reduce((s, ri, i) => s + ri * X[i][j], 0));
      const gb = (2 / X.length) * r.reduce((s, ri) => s + ri, 0);
      w = [w[0] - 0.1 * gw[0], w[1] - 0.1 * gw[1]];
      b = b - 0.1 * gb;
    }
    return { w, b, n: X.length };
  };
  const a = local(data.alice);
  const c = local(data.bob);
  const expected = [(a.n * a.w[0] + c.n * c.w[0]) / 5, (a.n * a.w[1] + c.n * c.w[1]) / 5, (a.n * a.b + c.n * c.b) / 5];

  const model = createModel(nn.linear(2, 1), createStream(0, 'unused'));
  model.setWeights([Float32Array.from(w0), Float32Array.from([b0])]);
  const sim = new SimulationCore({ seed: 1 });
  const result = await runFederated(sim, {
    model,
    clients: Object.entries(data).map(([id, d]) => ({ id, x: Float32Array.from(d.X.flat()), y: Float32Array.from(d.y) })),
    rounds: 1,
    localEpochs: 2,
    batchSize: 3,
    lr: 0.1,
  });
  model.dispose();
  const got = [result.weights[0][0], result.weights[0][1], result.weights[1][0]];
  got.forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-5, `parameter ${i}: ${v} vs ${expected[i]}`));
  t.deepEqual(result.rounds[0].participants, ['alice', 'bob']);
});

test('a round deadline drops a slow client, and its late update is rejected in the next round', async (t) => {
  const sim = new SimulationCore({ seed: 5 });
  const three = clients.slice(0, 3).map((c, i) => ({ ...c, x: c.x.slice(0, 100), y: c.y.slice(0, 10), slowdown: i === 2 ? 100 : 1 }));
  // 10 samples × 1 epoch × 1 ms = 10 ms for the fast clients, 1000 ms for the slow one; the deadline is 600 ms.
  const result = await runFederated(sim, {
    ...base,
    clients: three,
    rounds: 2,
    fraction: 1,
    localEpochs: 1,
    roundDeadlineMs: 600,
    cost: { perSampleMs: 1 },
  });
  const [r1, r2] = result.rounds;
  t.deepEqual(r1.participants, ['client-0', 'client-1']);
  t.deepEqual(r1.dropped, ['client-2']);
  t.is(r1.endedAt - r1.startedAt, 600);
  // The slow client's round-1 update reaches the server at ~1002 ms, during round 2 (600–1200 ms): refused. The server
  // re-sent the unanswered fit every fitRetryMs (150 ms), and the busy client answers each copy from storage, so the
  // stale update arrives once per copy: every copy is refused, none is trained twice.
  t.true(r2.rejectedUpdates >= 1);
  t.deepEqual(r2.dropped, ['client-2']);
  const rejections = sent(sim, FL.updateRejected).map((e) => ({ to: e.to, ...(e.envelope.payload as object) }));
  t.is(rejections.length, r2.rejectedUpdates);
  t.true(rejections.every((r) => JSON.stringify(r) === JSON.stringify({ to: 'client-2', round: 1, currentRound: 2, reason: 'stale-round' })));
  t.is(sent(sim, FL.fitResult).filter((e) => e.from === 'client-2' && (e.envelope.payload as FitRes).round === 1).length, r2.rejectedUpdates);
  // Its round-2 update arrives after the run ended: refused too, never aggregated.
  await sim.settle();
  const late = sent(sim, FL.updateRejected).slice(rejections.length).map((e) => (e.envelope.payload as { reason: string }).reason);
  t.true(late.length >= 1 && late.every((r) => r === 'not-collecting'), late.join(','));
  // The final model is what the fast clients produced: no stale update leaked in.
  const lateDigests = sent(sim, FL.fitResult).filter((e) => e.from === 'client-2').map((e) => digestOf((e.envelope.payload as FitRes).weights));
  t.false(lateDigests.includes(digestOf(result.weights)));
});

test('secure-worker aggregation: no message to the server carries an individual update, and the model equals plain FedAvg', async (t) => {
  const run = async (aggregation: 'plain' | 'secure-worker') => {
    const sim = new SimulationCore({ seed: 9 });
    const result = await runFederated(sim, { ...base, rounds: 4, fraction: 0.5, aggregation });
    return { sim, result };
  };
  const { sim, result } = await run('secure-worker');
  const toServer = delivered(sim).filter((e) => e.to === 'server');
  t.deepEqual([...new Set(toServer.map((e) => e.type))].sort(), [FL.run, SECURE_WORKER.aggregate].sort());
  const aggregates = toServer.filter((e) => e.type === SECURE_WORKER.aggregate);
  t.is(aggregates.length, 4);
  t.true(aggregates.every((e) => e.from === 'secure_worker'));
  const clientDigests = new Set(sent(sim, FL.fitResult).map((e) => digestOf((e.envelope.payload as FitRes).weights)));
  t.is(clientDigests.size, 4 * 4);
  for (const e of aggregates) {
    const payload = e.envelope.payload as { weights: Float32Array[]; contributors: string[] };
    t.is(payload.contributors.length, 4);
    t.false(clientDigests.has(digestOf(payload.weights)));
  }
  // Every fit result went to the secure worker.
  t.true(sent(sim, FL.fitResult).every((e) => e.to === 'secure_worker'));
  // Averaging at the secure worker then at the server changes nothing: the same bits as plain FedAvg.
  const plain = await run('plain');
  t.is(result.weightsSha256, plain.result.weightsSha256);
  t.true(result.rounds.every((r) => r.bytesAggregate > 0));
  t.true(plain.result.rounds.every((r) => r.bytesAggregate === 0));
});

test('the secure worker withholds an average of fewer than minContributors updates', async (t) => {
  // One client a round could never be hidden: refused before the run.
  t.throws(() => runFederated(new SimulationCore({ seed: 2 }), { ...base, clients: clients.slice(0, 1), rounds: 2, fraction: 1, aggregation: 'secure-worker' }), {
    message: /secureMinContributors: expected at least 2 clients per round for 'secure-worker' with secureMinContributors 2 .*raise fraction or minClients; lowering secureMinContributors to 1 would .* a single client's update.*found 1 client per round/,
  });
  // Two selected, but one crashes for good before it reports: the worker holds one update and withholds it.
  const sim = new SimulationCore({ seed: 2, faults: { crashes: [{ actor: 'client-1', at: 0 }] } });
  const model = createModel(spec, createStream(0, 'init'));
  const start = weightsSha256(model.getWeights());
  const result = await runFederated(sim, { ...base, model, clients: clients.slice(0, 2), rounds: 2, fraction: 1, aggregation: 'secure-worker', roundDeadlineMs: 200 });
  model.dispose();
  t.is(result.weightsSha256, start);
  t.regex(result.rounds[0].skipped!, /withheld the average of 1 update/);
  t.deepEqual(result.rounds[0].participants, []);
});

test('a tfjs-layers model runs federated like a built-in one (clients rebuild it from its topology)', async (t) => {
  const layers = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 8, activation: 'relu' }), tf.layers.dense({ units: 3 })] });
  const model = fromLayers(layers, createStream(3, 'init'));
  layers.dispose();
  const sim = new SimulationCore({ seed: 3 });
  const result = await runFederated(sim, { ...base, model, rounds: 6 });
  t.is(result.spec.kind, 'layers');
  t.true(result.rounds.at(-1)!.testAccuracy! > result.rounds[0].testAccuracy!);
  model.dispose();
});

test('robust strategies cannot run behind the secure worker', (t) => {
  const sim = new SimulationCore({ seed: 1 });
  t.throws(() => runFederated(sim, { ...base, strategy: { name: 'fedmedian' }, aggregation: 'secure-worker' }), {
    message: /aggregation: expected an aggregation that shows the server each update, as strategy 'fedmedian' needs .*found 'secure-worker', which shows the server only the sum/,
  });
});

test('each round samples ⌈C·K⌉ clients from the server stream, and FedProx sends μ to them', async (t) => {
  const sim = new SimulationCore({ seed: 4 });
  const metrics: RoundMetrics[] = [];
  const run = runFederated(sim, { ...base, rounds: 5, fraction: 0.3, strategy: { name: 'fedprox', mu: 1 } });
  run.metrics$.subscribe((m) => metrics.push(m));
  const result = await run;
  const fits = sent(sim, FL.fit);
  for (let round = 1; round <= 5; round++) {
    const ofRound = fits.filter((e) => (e.envelope.payload as { round: number }).round === round);
    t.is(ofRound.length, 3); // ⌈0.3 · 8⌉ = ⌈2.4⌉
    t.true(ofRound.every((e) => (e.envelope.payload as { config: { proxMu: number } }).config.proxMu === 1));
  }
  t.true(new Set(fits.map((e) => e.to)).size > 3, 'different clients in different rounds');
  t.deepEqual(metrics.map((m) => m.round), [1, 2, 3, 4, 5]);
  // bytes: three copies of the global model down, three updates up, per round
  const modelBytes = wireBytes(result.weights);
  t.true(result.rounds.every((r) => r.bytesDown === 3 * modelBytes && r.bytesUp === 3 * modelBytes));
  t.is(fits[0].envelope.bytes, modelBytes);
});

test('malformed messages get error replies; the actors keep working', async (t) => {
  const sim = new SimulationCore({ seed: 6 });
  const result = await runFederated(sim, { ...base, rounds: 1 });
  await t.throwsAsync(sim.request('client-0', FL.fit, { round: 'one', weights: [] }), { message: /malformed 'fl\/fit' from 'me': round/ });
  await t.throwsAsync(sim.request('client-0', FL.fit, { round: 1, weights: [new Float32Array(3)], config: { epochs: 1, batchSize: 1, lr: 0.1 } }), {
    message: /expected 2 weight arrays, got 1/,
  });
  await t.throwsAsync(sim.request('server', FL.fitResult, { round: 1, weights: 'nope', numSamples: 1, loss: 0 }), { message: /malformed 'fl\/fit-result'/ });
  // A well-formed update outside a round is refused with a reason, not an error.
  const refusal = await sim.request<{ reason: string }>('server', FL.fitResult, { round: 1, weights: result.weights, numSamples: 1, loss: 0 });
  t.is(refusal.reason, 'not-collecting');
  // The client still trains when asked properly.
  const fit = await sim.request<FitRes>('client-0', FL.fit, { round: 9, weights: result.weights, config: { epochs: 1, batchSize: 5, lr: 0.1 } });
  t.is(fit.round, 9);
  t.is(fit.numSamples, devices[0].nTrain);
  await t.throwsAsync(sim.request('server', FL.run, {}), { message: /malformed 'fl\/run' from 'me': runId/ });
  await t.throwsAsync(sim.request('server', FL.run, { runId: 'another' }), { message: /run 'another' cannot start: this server already runs 'run-1'/ });
});

test('a lost round report is recovered from the final answer, a duplicated one counted once', async (t) => {
  const plain = new SimulationCore({ seed: 8 });
  const reference = await runFederated(plain, { ...base, rounds: 3 });
  const reportIds = sent(plain, FL.roundEnd).map((e) => e.msg);
  const sim = new SimulationCore({ seed: 8, faults: { script: [{ msg: reportIds[1], drop: true }, { msg: reportIds[2], duplicateAfter: 0 }] } });
  const emitted: number[] = [];
  const run = runFederated(sim, { ...base, rounds: 3 });
  run.metrics$.subscribe((m) => emitted.push(m.round));
  const result = await run;
  t.is(result.weightsSha256, reference.weightsSha256);
  t.deepEqual(result.rounds.map((r) => r.round), [1, 2, 3]);
  t.deepEqual(emitted, [1, 3, 2]);
  t.true(result.rounds[1].reportLost);
  t.is(result.rounds[1].testAccuracy, reference.rounds[1].testAccuracy);
  t.is(result.rounds[1].clients, undefined);
});

test('round reports reach the driver as fl/round-end messages with the global model', async (t) => {
  const sim = new SimulationCore({ seed: 8 });
  const result = await runFederated(sim, { ...base, rounds: 2 });
  const reports = delivered(sim).filter((e) => e.type === FL.roundEnd).map((e) => e.envelope.payload as RoundEnd);
  t.deepEqual(reports.map((r) => r.round), [1, 2]);
  t.is(weightsSha256(reports[1].weights), result.weightsSha256);
});

// Serial tests run before the concurrent ones, so no other test holds tensors meanwhile.
test.serial('a whole run leaves no tensor behind', async (t) => {
  const before = tf.memory().numTensors;
  await runFederated(new SimulationCore({ seed: 8 }), { ...base, rounds: 2, aggregation: 'secure-worker' });
  t.is(tf.memory().numTensors, before);
});
