/**
 * An oracle for the round engine under faults: what each committed round's model must be,
 * computed outside the simulation from the round's inputs alone.
 *
 * For every round the server committed, the oracle takes the round's FitIns (the weights
 * and config of the fits it sent, read from the log), trains each reported participant
 * offline exactly as a client would (localUpdate, with the shuffle stream named after the
 * round), combines the updates the way the aggregation mode's mathematics says —
 *
 *   plain, secure-worker   the float64 weighted mean (meanOfReports)            exact
 *   additive               Σ encode(c_k·report_k) in Z_2^64, decoded            exact
 *   secagg+                the weighted mean, within SecAgg+'s quantisation     bound
 *
 * — and applies the strategy. A committed round whose model differs is CORRUPTED: it mixed
 * inputs, counted an update twice, or committed garbage. A skipped round must say why and
 * keep the model.
 *
 * Algorithms with client state: a participant trains from the state its last INCLUDED round
 * left (the initial state before that), which the oracle keeps per client from the rounds it
 * judged — a client that moved its state for a report no aggregate took trains from another
 * state than the oracle's, and its round is judged corrupted.
 */
import { createStream } from '../../src/runtime/rng.js';
import type { SimEvent, SimulationCore } from '../../src/runtime/index.js';
import { decodeFixedVector, encodeFixedVector, sumVectors } from '../../src/actors/smpc/ring-vector.js';
import { ModelWorkspace, hold } from '../../src/fl/fedavg/index.js';
import { FL, type FederatedResult, type FitIns, type FitRes, type RoundEnd, localUpdate, meanOfReports, packReport, unpackSum } from '../../src/fl/rounds/index.js';
import type { Strategy } from '../../src/fl/strategies/strategy.js';
import type { ModelSpec } from '../../src/fl/models/spec.js';
import type { Weights } from '../../src/fl/models/weights.js';
import type { ClientData } from '../../src/fl/rounds/index.js';
import { roundQuantizationStep } from '../../src/fl/secure/secagg/index.js';
import type { Mode } from './fl-world.js';

export interface RoundVerdict {
  round: number;
  outcome: 'committed' | 'skipped' | 'corrupted';
  /** For corrupted rounds: what is wrong. */
  problem?: string;
  /** max |committed − expected| over every weight (committed rounds). */
  error?: number;
}

export interface OracleSetup {
  mode: Mode;
  seed: number;
  spec: ModelSpec;
  clients: readonly ClientData[];
  clientIds: readonly string[];
  /** A fresh strategy object like the run's (its state is replayed here). */
  strategy: Strategy<any>;
  serverId?: string;
  additive?: { base: number; precisionFractional: number };
  secagg?: { clippingRange: number; quantizationRange: number; maxWeight: number };
}

const sentOf = (sim: SimulationCore, type: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.type === type);

const maxAbs = (ws: readonly ArrayLike<number>[]) => ws.reduce((m, w) => Math.max(m, ...Array.from(w, Math.abs)), 0);

function maxDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  a.forEach((w, l) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[l][j])))));
  return worst;
}

/** Judges every round of a finished run. */
export function judgeRounds(setup: OracleSetup, sim: SimulationCore, result: FederatedResult): RoundVerdict[] {
  const serverId = setup.serverId ?? 'server';
  const workspace = new ModelWorkspace();
  try {
    // The round's FitIns: every fit of one round carries the same weights and config (a re-sent fit too).
    const fits = new Map<number, FitIns>();
    for (const e of sentOf(sim, FL.fit)) {
      const ins = e.envelope.payload as FitIns;
      if (!fits.has(ins.round)) fits.set(ins.round, ins);
    }
    // The committed model of each round, as the server reported it (the first report of a round).
    const reports = new Map<number, RoundEnd>();
    for (const e of sentOf(sim, FL.roundEnd)) {
      const report = e.envelope.payload as RoundEnd;
      if (e.from === serverId && !reports.has(report.round)) reports.set(report.round, report);
    }
    const indexOf = new Map(setup.clientIds.map((id, i) => [id, i]));
    let state = setup.strategy.initialState(fits.get(1)?.weights ?? result.weights);
    // Each client's algorithm state after the last round that included it (absent: it has not been included yet).
    const clientStates = new Map<string, unknown>();
    let previous: Weights | null = null;
    const verdicts: RoundVerdict[] = [];
    for (const metrics of result.rounds) {
      const { round } = metrics;
      const report = reports.get(round);
      const ins = fits.get(round);
      const corrupted = (problem: string): RoundVerdict => ({ round, outcome: 'corrupted', problem });
      if (!report) {
        verdicts.push(corrupted('no round-end report was ever sent for it'));
        continue;
      }
      if (metrics.skipped !== undefined || report.skipped !== undefined) {
        const reason = report.skipped ?? metrics.skipped ?? '';
        const start = ins?.weights ?? previous;
        if (reason.trim().length === 0) verdicts.push(corrupted('skipped without a reason'));
        else if (start && maxDiff(report.weights, start) !== 0) verdicts.push(corrupted(`skipped ("${reason}") but the model changed`));
        else verdicts.push({ round, outcome: 'skipped' });
        previous = report.weights;
        continue;
      }
      if (!ins) {
        verdicts.push(corrupted('committed without a fit ever being sent'));
        continue;
      }
      const participants = [...metrics.participants];
      const trained = participants.map((clientId) => {
        const i = indexOf.get(clientId)!;
        // A client that has not answered this round yet: nothing in storage.
        const io = { id: clientId, derivedRng: (name: string) => createStream(setup.seed, `actor/${clientId}/${name}`), storage: { get: () => undefined, has: () => false } };
        const trainer = { io: io as never, data: hold(setup.clients[i]), spec: setup.spec, workspace, algorithm: setup.strategy.client };
        const from = clientStates.has(clientId) ? clientStates.get(clientId) : setup.strategy.client.initialState?.(ins.weights);
        return { clientId, update: localUpdate(trainer, ins, from) };
      });
      const res: { clientId: string; res: FitRes }[] = trained.map(({ clientId, update }) => ({ clientId, res: update.res }));
      const layout = setup.strategy.client.reports;
      let aggregate;
      if (setup.mode === 'additive') {
        const options = setup.additive ?? { base: 10, precisionFractional: 6 };
        const total = sumVectors(res.map((r) => encodeFixedVector(packReport(r.res, r.res.numSamples, layout), options)));
        aggregate = unpackSum(round, decodeFixedVector(total, options), participants, ins.weights, layout, 1)!.aggregate;
      } else {
        aggregate = meanOfReports(round, res, layout, { individual: setup.mode === 'plain' });
      }
      const step = setup.strategy.aggregate(round, aggregate, [], {
        rng: createStream(setup.seed, `actor/${serverId}/aggregate/round-${round}`),
        state,
        weights: ins.weights,
        clients: setup.clientIds,
      });
      const error = maxDiff(report.weights, step.weights);
      let bound = 0;
      if (setup.mode === 'secagg+') {
        // Each of the n vectors is off by < one quantisation step per value, in Σ c_k w_k and in Σ c_k (c_k = n_k / maxWeight).
        const q = setup.secagg!;
        const n = participants.length;
        const quantum = roundQuantizationStep({ clippingRange: q.clippingRange, quantizationRange: q.quantizationRange });
        const totalWeight = res.reduce((s, r) => s + r.res.numSamples, 0) / q.maxWeight;
        const drift = n * quantum;
        bound = (drift * (1 + maxAbs(step.weights))) / (totalWeight - drift) + 4 * 1.2e-7 * maxAbs(step.weights);
      }
      if (error > bound) verdicts.push({ ...corrupted(`the committed model is ${error} away from the oracle's (bound ${bound})`), error });
      else verdicts.push({ round, outcome: 'committed', error });
      // The next round starts from what was committed (the run's bits, not the oracle's).
      state = step.state;
      for (const { clientId, update } of trained) clientStates.set(clientId, update.state);
      previous = report.weights;
    }
    return verdicts;
  } finally {
    workspace.dispose();
  }
}

export function tally(verdicts: readonly RoundVerdict[]): { committed: number; skipped: number; corrupted: number } {
  return {
    committed: verdicts.filter((v) => v.outcome === 'committed').length,
    skipped: verdicts.filter((v) => v.outcome === 'skipped').length,
    corrupted: verdicts.filter((v) => v.outcome === 'corrupted').length,
  };
}

/** Handler errors that are bugs, not refusals: a JS error or a broken invariant inside some actor's turn. */
export function bugErrors(sim: SimulationCore): string[] {
  const bugs = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'Error', 'FlInvariantError']);
  return sim.log.events
    .filter((e): e is Extract<SimEvent, { ev: 'error' }> => e.ev === 'error' && bugs.has(e.error))
    .map((e) => `${e.actor} at ${e.t} ms handling ${e.msg}: ${e.error}: ${e.message}`);
}
