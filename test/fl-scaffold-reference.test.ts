/**
 * SCAFFOLD under partial participation and unequal local work, against an independent
 * float64 reference (test/helpers/scaffold-reference.ts), round by round.
 *
 * test/fl-algorithms.test.ts checks two full-participation rounds with equal K by hand
 * and the drift-free fixed point; what it cannot see is the part of the algorithm that
 * only exists when clients are sampled and do different amounts of work: clients that
 * sit out keep a stale c_i, a client's first c_i is zero, each client divides by its own
 * K = E·⌈n_i/B⌉, and the server must move c by the plain sum (1/N) Σ_{i∈S} Δc_i — which
 * fedsim rebuilds from the engine's n_i-weighted mean of Δc_i / n_i. Each round's FitIns
 * carries the server's x and c, so the event log shows both after every round; the test
 * compares them, and every client's reported Δc_i / n_i, with the reference.
 *
 * The reference gets fedsim's selection (the round's `selected`) and each client's epoch
 * orders from the documented stream `actor/<id>/shuffle/round-<r>` — inputs, not logic —
 * and does everything else itself in float64. fedsim trains in float32, so the tolerance
 * is relative (float32 rounding, amplified by 1/(Kη) in c_i), not bit-for-bit.
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { createStream } from '../src/runtime/rng.js';
import { createModel, nn } from '../src/fl/models/index.js';
import { FL, type FitIns, type FitRes, runFederated, type ClientData } from '../src/fl/rounds/index.js';
import { shuffleStreamName } from '../src/fl/rounds/local-update.js';
import { eventsOf } from './helpers/fl-world.js';
import { type ReferenceClient, type ReferenceLoss, scaffoldReference } from './helpers/scaffold-reference.js';

test.before(async () => {
  await initBackend('cpu');
});

const SEED = 11;
const EPOCHS = 3;
const BATCH = 2;

/** Clients of n = 1, 2, 3, 5, 8, 13 samples: with B = 2 they take K = 3·⌈n/2⌉ = 3, 3, 6, 9, 12, 21 steps. */
const SIZES = [1, 2, 3, 5, 8, 13];

/** Deterministic, heterogeneous data: each client its own input scale and shift and its own target rule. */
function makeClients(loss: ReferenceLoss, inputs: number, outputs: number): ReferenceClient[] {
  const rng = createStream(SEED, 'test/scaffold-reference/data');
  return SIZES.map((n, i) => {
    const x = Float64Array.from({ length: n * inputs }, (_, j) => Math.fround((rng.next() * 2 - 1) * (1 + i / 2) + (j % inputs === i % inputs ? 1 : 0)));
    const y =
      loss === 'mse'
        ? Float64Array.from({ length: n * outputs }, (_, j) => Math.fround(x[Math.floor(j / outputs) * inputs] * (i - 2) + 0.5 * i + (rng.next() - 0.5)))
        : Float64Array.from({ length: n }, (_, r) => (r + i) % outputs);
    return { id: `c${i}`, x, y };
  });
}

interface Case {
  label: string;
  loss: ReferenceLoss;
  inputs: number;
  outputs: number;
  lr: number;
  fraction: number;
  rounds: number;
  tolerance: number;
}

const CASES: Case[] = [
  { label: 'least squares, 2 of 6 clients a round', loss: 'mse', inputs: 2, outputs: 1, lr: 0.02, fraction: 2 / 6, rounds: 8, tolerance: 1e-5 },
  { label: 'softmax regression, 3 of 6 clients a round', loss: 'softmax-cross-entropy', inputs: 3, outputs: 3, lr: 0.1, fraction: 3 / 6, rounds: 8, tolerance: 1e-5 },
];

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j] - b[j]));
  return m;
};
const maxMagnitude = (arrays: readonly ArrayLike<number>[]) => Math.max(1, ...arrays.flatMap((a) => Array.from(a, Math.abs)));

for (const c of CASES) {
  test(`SCAFFOLD with partial participation and unequal K matches the float64 reference round by round (${c.label})`, async (t) => {
    const clients = makeClients(c.loss, c.inputs, c.outputs);
    const initRng = createStream(SEED, 'test/scaffold-reference/init');
    const initial = [
      Float32Array.from({ length: c.inputs * c.outputs }, () => Math.fround(initRng.next() - 0.5)),
      Float32Array.from({ length: c.outputs }, () => Math.fround(initRng.next() - 0.5)),
    ];
    const spec = c.loss === 'mse' ? nn.linear(c.inputs, c.outputs) : nn.logistic(c.inputs, c.outputs);
    const model = createModel(spec, createStream(0, 'unused'));
    model.setWeights(initial);
    const sim = new SimulationCore({ seed: SEED });
    const result = await runFederated(sim, {
      model,
      clients: clients.map((cl) => ({ id: cl.id, x: Float32Array.from(cl.x), y: c.loss === 'mse' ? Float32Array.from(cl.y) : Int32Array.from(cl.y) })) as ClientData[],
      rounds: c.rounds,
      fraction: c.fraction,
      localEpochs: EPOCHS,
      batchSize: BATCH,
      lr: c.lr,
      strategy: { name: 'scaffold' },
      clientEvaluation: 'none',
    });
    model.dispose();
    t.true(result.rounds.every((r) => r.skipped === undefined && r.participants.length === r.selected.length), 'every round aggregates every selected client');

    // What fedsim's server sent (x and c at the start of each round) and what each client reported.
    const sent = eventsOf(sim, 'sent');
    const fitsOfRound = (round: number) => sent.filter((e) => e.type === FL.fit && (e.envelope.payload as FitIns).round === round).map((e) => e.envelope.payload as FitIns);
    const reportsOfRound = (round: number) =>
      new Map(sent.filter((e) => e.type === FL.fitResult && (e.envelope.payload as FitRes).round === round).map((e) => [e.from, e.envelope.payload as FitRes]));

    const selection = (round: number) => result.rounds[round - 1].selected;
    const participation = new Map<string, number>();
    let compared = 0;
    let worst = 0;
    const previous = new Map<string, Float64Array[]>();
    const reference = scaffoldReference({
      loss: c.loss,
      inputs: c.inputs,
      outputs: c.outputs,
      clients,
      initial,
      rounds: c.rounds,
      epochs: EPOCHS,
      batchSize: BATCH,
      lr: c.lr,
      modelMean: 'uniform',
      selection,
      shuffler: (id, round) => {
        const stream = createStream(SEED, `actor/${id}/${shuffleStreamName(round)}`);
        return (order) => stream.shuffle(order);
      },
      onRound: (round, state) => {
        const reports = reportsOfRound(round);
        for (const id of selection(round)) {
          participation.set(id, (participation.get(id) ?? 0) + 1);
          const n = clients.find((cl) => cl.id === id)!.y.length / (c.loss === 'mse' ? c.outputs : 1);
          const res = reports.get(id);
          if (!res) return t.fail(`round ${round}: no report from ${id}`);
          t.is(res.numSamples, n);
          // The report carries Δc_i / n_i; the reference's Δc_i is c_i after the round minus c_i before it (zero at first).
          const after = state.ci.get(id)!;
          const before = previous.get(id) ?? after.map((w) => new Float64Array(w.length));
          const want = after.map((w, l) => w.map((v, j) => (v - before[l][j]) / n));
          const got = res.extras.scaffoldControlDelta;
          const scale = maxMagnitude(after);
          const d = Math.max(...want.map((w, l) => maxAbs(got[l], w)));
          worst = Math.max(worst, d / scale);
          t.true(d <= c.tolerance * scale, `round ${round}: ${id}'s Δc_i / n_i differs by ${d} (scale ${scale})`);
          previous.set(id, after.map((w) => Float64Array.from(w)));
        }
        if (round === c.rounds) return;
        // The next round's FitIns holds this round's x and c.
        const next = fitsOfRound(round + 1);
        t.true(next.length > 0, `round ${round + 1} has fits`);
        for (const ins of next) {
          const scale = maxMagnitude([...state.x, ...state.c]);
          const dx = Math.max(...state.x.map((w, l) => maxAbs(ins.weights[l], w)));
          const control = ins.config.scaffoldControl as Float32Array[];
          const dc = Math.max(...state.c.map((w, l) => maxAbs(control[l], w)));
          worst = Math.max(worst, dx / scale, dc / scale);
          t.true(dx <= c.tolerance * scale, `round ${round}: x differs by ${dx} (scale ${scale})`);
          t.true(dc <= c.tolerance * scale, `round ${round}: c differs by ${dc} (scale ${scale})`);
          compared++;
        }
      },
    });
    // The final model too.
    const scale = maxMagnitude(reference.x);
    const dFinal = Math.max(...reference.x.map((w, l) => maxAbs(result.weights[l], w)));
    t.true(dFinal <= c.tolerance * scale, `final x differs by ${dFinal}`);
    t.log(`${compared} FitIns compared, worst relative difference ${Math.max(worst, dFinal / scale).toExponential(2)}; participation ${JSON.stringify(Object.fromEntries(participation))}`);
    // Not vacuous: some client sat out at least one round after training (stale c_i), some trained for the first time after round 1, and K differed.
    const firstSeen = new Map<string, number>();
    result.rounds.forEach((r) => r.selected.forEach((id) => firstSeen.has(id) || firstSeen.set(id, r.round)));
    t.true([...firstSeen.values()].some((r) => r > 1), 'a client joins late (its first c_i is zero against a non-zero c)');
    t.true(result.rounds.some((r, i) => i > 0 && result.rounds[i - 1].selected.some((id) => !r.selected.includes(id))), 'a client sits out after training (stale c_i)');
    t.true(new Set(result.rounds.flatMap((r) => r.selected.map((id) => reference.ci.has(id) && SIZES[Number(id.slice(1))]))).size > 2, 'the participants take different K');
  });
}
