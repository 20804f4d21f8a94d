/**
 * The algorithms that prove the round engine's seams — SCAFFOLD (client and server control
 * variates), FedNova (normalised averaging) and FedDyn (dynamic regularisation): each one
 * file plus a registration line. Each is checked against two rounds computed by hand
 * (full-batch gradient descent on linear regression, so the shuffle order does not matter),
 * under faults (the client state survives a crash and a retried fit), and for determinism.
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { createModel, nn } from '../src/fl/models/index.js';
import { createStream } from '../src/runtime/rng.js';
import { FL, type FitRes, runFederated, type ClientData, type FederatedOptions } from '../src/fl/rounds/index.js';
import { FlConfigError } from '../src/fl/errors.js';
import { FedAvg } from '../src/fl/strategies/fedavg.js';
import type { ClientAlgorithm } from '../src/fl/algorithms/client-algorithm.js';
import { eventsOf } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

// ── a tiny linear regression, solvable by hand ────────────────────────────────

const W0 = [0.5, -0.25];
const B0 = 0.1;
const LR = 0.1;
const EPOCHS = 2;
const DATA = {
  alice: { X: [[1, 0], [0, 1]], y: [1, 2] },
  bob: { X: [[1, 1], [2, 0], [0, 3]], y: [0, 1, -1] },
};
type Params = [number, number, number]; // w1, w2, b
type Term = (p: Params, client: keyof typeof DATA) => Params;

/** E steps of full-batch GD on MSE, with an extra gradient term; returns the trained params and K. */
function localGd(start: Params, client: keyof typeof DATA, term: Term): { p: Params; K: number } {
  const { X, y } = DATA[client];
  let p = [...start] as Params;
  for (let step = 0; step < EPOCHS; step++) {
    const r = X.map((x, i) => x[0] * p[0] + x[1] * p[1] + p[2] - y[i]);
    const g: Params = [
      (2 / X.length) * r.reduce((s, ri, i) => s + ri * X[i][0], 0),
      (2 / X.length) * r.reduce((s, ri, i) => s + ri * X[i][1], 0),
      (2 / X.length) * r.reduce((s, ri) => s + ri, 0),
    ];
    const t = term(p, client);
    p = p.map((v, j) => v - LR * (g[j] + t[j])) as Params;
  }
  return { p, K: EPOCHS };
}

const n = { alice: 2, bob: 3 };
const weightedMean = (a: Params, b: Params): Params => a.map((v, j) => (n.alice * v + n.bob * b[j]) / 5) as Params;
const sub = (a: Params, b: Params): Params => a.map((v, j) => v - b[j]) as Params;
const zero: Params = [0, 0, 0];

function options(strategy: FederatedOptions['strategy'], rounds = 2): FederatedOptions {
  const model = createModel(nn.linear(2, 1), createStream(0, 'unused'));
  model.setWeights([Float32Array.from(W0), Float32Array.from([B0])]);
  return {
    model,
    clients: Object.entries(DATA).map(([id, d]) => ({ id, x: Float32Array.from(d.X.flat()), y: Float32Array.from(d.y) })) as ClientData[],
    rounds,
    localEpochs: EPOCHS,
    batchSize: 8,
    lr: LR,
    strategy,
    clientEvaluation: 'none',
  };
}

const flat = (weights: Float32Array[]): Params => [weights[0][0], weights[0][1], weights[1][0]];

function close(t: import('ava').ExecutionContext, got: Params, want: Params, label: string) {
  got.forEach((v, j) => t.true(Math.abs(v - want[j]) < 2e-5, `${label}[${j}]: ${v} vs ${want[j]}`));
}

// ── SCAFFOLD ──────────────────────────────────────────────────────────────────

test('SCAFFOLD: two rounds match the hand computation (control variates, option II)', async (t) => {
  let x: Params = [W0[0], W0[1], B0];
  let c: Params = zero;
  const ci: Record<string, Params> = { alice: zero, bob: zero };
  for (let round = 1; round <= 2; round++) {
    const trained: Record<string, Params> = {};
    const deltas: Record<string, Params> = {};
    for (const id of ['alice', 'bob'] as const) {
      const { p, K } = localGd(x, id, () => sub(c, ci[id]));
      trained[id] = p;
      // c_i⁺ = c_i − c + (x − y_i)/(Kη)
      const next = ci[id].map((v, j) => v - c[j] + (x[j] - p[j]) / (K * LR)) as Params;
      deltas[id] = sub(next, ci[id]);
      ci[id] = next;
    }
    // x ← x + η_g (1/|S|) Σ_i (y_i − x), η_g = 1: the paper's uniform mean of the models, not FedAvg's weighted one.
    x = trained.alice.map((v, j) => (v + trained.bob[j]) / 2) as Params;
    // c ← c + (1/N) Σ_i Δc_i: the plain sum, so that c stays the mean of every c_i.
    c = c.map((v, j) => v + (deltas.alice[j] + deltas.bob[j]) / 2) as Params;
  }
  const result = await runFederated(new SimulationCore({ seed: 1 }), options({ name: 'scaffold' }));
  close(t, flat(result.weights), x, 'x after 2 rounds');
  const fedavg = flat((await runFederated(new SimulationCore({ seed: 1 }), options({ name: 'fedavg' }))).weights);
  t.true(Math.max(...x.map((v, j) => Math.abs(v - fedavg[j]))) > 1e-4, 'SCAFFOLD differs from FedAvg in round 2');
});

test('SCAFFOLD: the client control variate survives a client crash that loses its memory (it is in durable storage)', async (t) => {
  const reference = await runFederated(new SimulationCore({ seed: 1 }), options({ name: 'scaffold' }, 3));
  // bob crashes after its round-1 answer and comes back with an empty memory but its disk.
  const crashed = await runFederated(new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'bob', afterMessages: 1, restartAfter: 1, loseState: true }] } }), options({ name: 'scaffold' }, 3));
  t.is(crashed.weightsSha256, reference.weightsSha256);
  // Losing the disk too would reset c_i: the run would differ — the test above is not vacuous.
  const wiped = await runFederated(
    new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'bob', afterMessages: 1, restartAfter: 1, loseState: true, loseStorage: true }] } }),
    options({ name: 'scaffold' }, 3),
  );
  t.not(wiped.weightsSha256, reference.weightsSha256);
});

test('SCAFFOLD refuses optimizers its control variate does not model', (t) => {
  const error = t.throws(() => runFederated(new SimulationCore({ seed: 1 }), { ...options({ name: 'scaffold' }), optimizer: { name: 'sgd', momentum: 0.9 } }), { instanceOf: FlConfigError });
  t.regex(error!.message, /SCAFFOLD's client formulas assume plain SGD steps/);
});

// ── FedNova ───────────────────────────────────────────────────────────────────

test('FedNova: the server step is x − τ_eff Σ p_i (x − y_i)/τ_i over the updates the clients sent', async (t) => {
  // Batch 1: alice takes 2·2 = 4 steps, bob 2·3 = 6, so FedNova and FedAvg differ.
  const opts = { ...options({ name: 'fednova' }, 1), batchSize: 1 };
  const sim = new SimulationCore({ seed: 4 });
  const result = await runFederated(sim, opts);
  const updates = eventsOf(sim, 'sent').filter((e) => e.type === FL.fitResult).map((e) => ({ from: e.from, res: e.envelope.payload as FitRes }));
  const y = Object.fromEntries(updates.map((u) => [u.from, flat(u.res.weights)]));
  const tau = Object.fromEntries(updates.map((u) => [u.from, u.res.metrics.novaSteps]));
  t.deepEqual(tau, { alice: 4, bob: 6 });
  const x: Params = [W0[0], W0[1], B0];
  const d = (id: string) => x.map((v, j) => (v - y[id][j]) / tau[id]) as Params;
  const tauEff = (n.alice * 4 + n.bob * 6) / 5;
  const expected = x.map((v, j) => v - tauEff * weightedMean(d('alice'), d('bob'))[j]) as Params;
  close(t, flat(result.weights), expected, 'FedNova');
  const fedavg = weightedMean(y.alice, y.bob);
  t.true(Math.max(...expected.map((v, j) => Math.abs(v - fedavg[j]))) > 1e-3, 'with unequal τ FedNova is not FedAvg');
});

test('FedNova equals FedAvg when every client takes the same number of steps', async (t) => {
  const nova = await runFederated(new SimulationCore({ seed: 2 }), options({ name: 'fednova' }));
  const avg = await runFederated(new SimulationCore({ seed: 2 }), options({ name: 'fedavg' }));
  close(t, flat(nova.weights), flat(avg.weights), 'FedNova vs FedAvg');
});

// ── FedDyn ────────────────────────────────────────────────────────────────────

test('FedDyn: two rounds match the hand computation (linear and quadratic terms, server h)', async (t) => {
  const alpha = 0.1;
  let x: Params = [W0[0], W0[1], B0];
  let h: Params = zero;
  const g: Record<string, Params> = { alice: zero, bob: zero };
  for (let round = 1; round <= 2; round++) {
    const trained: Record<string, Params> = {};
    for (const id of ['alice', 'bob'] as const) {
      const anchor = x;
      const { p } = localGd(x, id, (q) => q.map((v, j) => alpha * (v - anchor[j]) - g[id][j]) as Params);
      trained[id] = p;
      g[id] = g[id].map((v, j) => v - alpha * (p[j] - anchor[j])) as Params;
    }
    const mean = weightedMean(trained.alice, trained.bob);
    // h ← h − (α/m) Σ_i (θ_i − θ): the plain sum of the moves.
    h = h.map((v, j) => v - (alpha / 2) * (trained.alice[j] - x[j] + (trained.bob[j] - x[j]))) as Params;
    x = mean.map((v, j) => v - h[j] / alpha) as Params;
  }
  const result = await runFederated(new SimulationCore({ seed: 1 }), options({ name: 'feddyn', alpha }));
  close(t, flat(result.weights), x, 'FedDyn after 2 rounds');
});

// ── every new algorithm: determinism and secure aggregation ───────────────────

for (const strategy of [{ name: 'scaffold' }, { name: 'fednova' }, { name: 'feddyn', alpha: 0.1 }]) {
  test(`${strategy.name}: one seed gives one event log, also under faults and through additive secure aggregation (its extras and metrics travel in the secure sum)`, async (t) => {
    const faults = { duplicate: 0.2, delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
    const once = async (aggregation: 'plain' | 'additive') => {
      const sim = new SimulationCore({ seed: 7, faults });
      const clients = [...(options(strategy).clients as ClientData[]), { id: 'carol', x: Float32Array.of(1, 2, 3, 1), y: Float32Array.of(2, 1) }];
      const result = await runFederated(sim, { ...options(strategy, 3), clients, aggregation });
      await sim.settle();
      return { log: sim.log.toJSONL(), result };
    };
    const a = await once('plain');
    const b = await once('plain');
    t.is(a.log, b.log);
    t.is(a.result.weightsSha256, b.result.weightsSha256);
    const secure = await once('additive');
    t.true(secure.result.rounds.every((r) => r.skipped === undefined));
    const diff = Math.max(...flat(secure.result.weights).map((v, j) => Math.abs(v - flat(a.result.weights)[j])));
    t.true(diff < 1e-4, `additive vs plain: ${diff}`);
  });
}

// ── the papers' claim on a problem with a known optimum ──────────────────────

/**
 * Four clients, each with its own least-squares problem (different inputs AND targets, so
 * their Hessians differ) and the same number of samples. With several local steps FedAvg
 * drifts: it converges to a point that is not the minimiser of the average objective
 * (Karimireddy et al. §3, Acar et al. §2). SCAFFOLD and FedDyn remove the drift and reach
 * the minimiser itself; FedAvg stays measurably away from it.
 */
test('client drift: on heterogeneous least squares SCAFFOLD and FedDyn reach the global minimiser, FedAvg does not', async (t) => {
  const clients = [
    { X: [[1, 0], [2, 1], [0, 1]], y: [1, 3, 0] },
    { X: [[0, 2], [1, 3], [0, 1]], y: [-2, -1, 0] },
    { X: [[3, 0], [1, 1], [2, 2]], y: [2, 1, 4] },
    { X: [[1, -1], [0, -2], [2, 0]], y: [0, 1, 3] },
  ];
  // The minimiser of (1/4) Σ_i (1/3) Σ_j (x_j·w + b − y_j)²: equal sizes, so ordinary least squares on all 12 rows.
  const rows = clients.flatMap((c) => c.X.map((x, j) => ({ a: [x[0], x[1], 1], y: c.y[j] })));
  const ata = [0, 1, 2].map((r) => [0, 1, 2].map((s) => rows.reduce((acc, row) => acc + row.a[r] * row.a[s], 0)));
  const aty = [0, 1, 2].map((r) => rows.reduce((acc, row) => acc + row.a[r] * row.y, 0));
  const optimum = solve3(ata, aty);
  const run = async (strategy: FederatedOptions['strategy']) => {
    const model = createModel(nn.linear(2, 1), createStream(0, 'unused'));
    model.setWeights([Float32Array.of(0, 0), Float32Array.of(0)]);
    const result = await runFederated(new SimulationCore({ seed: 3 }), {
      model,
      clients: clients.map((c, i) => ({ id: `c${i}`, x: Float32Array.from(c.X.flat()), y: Float32Array.from(c.y) })),
      rounds: 150,
      localEpochs: 5,
      batchSize: 8,
      lr: 0.05,
      strategy,
      clientEvaluation: 'none',
    });
    model.dispose();
    return Math.max(...flat(result.weights).map((v, j) => Math.abs(v - optimum[j])));
  };
  const fedavg = await run({ name: 'fedavg' });
  const scaffold = await run({ name: 'scaffold' });
  // α = 1: on this problem a smaller α converges too, only more slowly (0.5: 3.6e-5, 0.1: 3.4e-2, 0.01: 0.15 after 150 rounds).
  const feddyn = await run({ name: 'feddyn', alpha: 1 });
  t.log(`max |w − w*|: FedAvg ${fedavg.toExponential(2)}, SCAFFOLD ${scaffold.toExponential(2)}, FedDyn ${feddyn.toExponential(2)}`);
  t.true(fedavg > 1e-2, 'FedAvg drifts away from the minimiser');
  t.true(scaffold < 1e-4, 'SCAFFOLD reaches it');
  t.true(feddyn < 1e-4, 'FedDyn reaches it');
});

/** Solves a 3×3 linear system by Cramer's rule. */
function solve3(m: number[][], v: number[]): Params {
  const det = (a: number[][]) =>
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  const d = det(m);
  return [0, 1, 2].map((c) => det(m.map((row, r) => row.map((x, k) => (k === c ? v[r] : x)))) / d) as Params;
}

test('a client algorithm may report other weights than it trained (a clipped update): two clients, by hand', async (t) => {
  const clip = 0.05;
  const clipped: ClientAlgorithm<undefined> = {
    name: 'clipped',
    reports: { extras: [], metrics: [] },
    usesGradientTerms: false,
    afterTraining(ins, trained) {
      const delta = trained.weights.map((w, l) => w.map((v, j) => v - ins.weights[l][j]));
      const norm = Math.sqrt(delta.reduce((sum, d) => sum + d.reduce((s, v) => s + v * v, 0), 0));
      const scale = Math.min(1, clip / norm);
      return { weights: ins.weights.map((w, l) => w.map((v, j) => v + scale * delta[l][j])) };
    },
  };
  class ClippedFedAvg extends FedAvg {
    override readonly client = clipped;
  }
  const x: Params = [W0[0], W0[1], B0];
  const reported = (id: keyof typeof DATA): Params => {
    const { p } = localGd(x, id, () => zero);
    const d = sub(p, x);
    const norm = Math.hypot(...d);
    return x.map((v, j) => v + Math.min(1, clip / norm) * d[j]) as Params;
  };
  const expected = weightedMean(reported('alice'), reported('bob'));
  const result = await runFederated(new SimulationCore({ seed: 1 }), { ...options(undefined, 1), strategy: new ClippedFedAvg() });
  close(t, flat(result.weights), expected, 'clipped FedAvg');
  // And an algorithm that reports a different layout is a broken plugin (a bug), not a silent mix.
  const broken: ClientAlgorithm<undefined> = { ...clipped, name: 'broken', afterTraining: (ins) => ({ weights: [ins.weights[0]] }) };
  class Broken extends FedAvg {
    override readonly client = broken;
  }
  const bad = await runFederated(new SimulationCore({ seed: 1 }), { ...options(undefined, 1), strategy: new Broken() });
  t.regex(bad.rounds[0].skipped ?? '', /no client update arrived/);
  t.true(bad.rounds[0].failures.every((f) => f.kind === 'bug'), JSON.stringify(bad.rounds[0].failures));
});
