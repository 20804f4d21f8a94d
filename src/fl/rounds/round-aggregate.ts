/**
 * RoundAggregate: what an aggregator hands the strategy at the end of a round — the
 * weighted means of everything the contributors reported, and, only when the aggregator
 * lets the server see them, each contributor's own report.
 *
 * Each report weighs c_k = reportWeight(res, layout): its n_k by default (FedAvg), 1 under
 * the layout's uniform weighting (DP-FedAvg). That function is the only place that
 * decides; every mode below goes through it.
 *
 * Two ways to get there, with the same result up to encoding error:
 *   in the clear     meanOfReports: float64 sums in sorted client order (bit-reproducible);
 *   through a sum    each client packs its report into one vector weighted by c_k
 *                    (packReport); a secure protocol reveals only Σ_k of those vectors;
 *                    unpackSum reads the means back. The vector is
 *
 *       [ c·w (every weight) | c·extras (by sorted name) | c·metrics (sorted) | c | 1 | c·loss ]
 *
 *   so the server learns Σ c_k, the number of contributors and the weighted means, never one
 *   client's n_k, loss or update. The `1` slot lets the server check that the sum really has
 *   one vector per contributor (a mixed-up or replayed share would break it). Under uniform
 *   weighting c_k = 1, so the sum carries no n_k at all.
 */
import { FlInvariantError } from '../errors.js';
import type { Weights } from '../models/weights.js';
import type { ClientUpdate } from '../strategies/strategy.js';
import { compareIds } from '../strategies/strategy.js';
import type { FitRes, ReportLayout } from './fit.js';

export interface RoundAggregate {
  round: number;
  /** Clients whose report is in the aggregate, sorted. */
  contributors: string[];
  /**
   * Σ_k n_k (exact in the clear; rebuilt from Σ n_k / maxWeight behind SecAgg+). 0 when a
   * secure sum carries no sample count (uniform weighting) and when clients withhold it.
   */
  numSamples: number;
  /** Σ_k c_k loss_k / Σ_k c_k. */
  loss: number;
  /** Σ_k c_k w_k / Σ_k c_k per coordinate, in float64 (the plain mean when every c_k is 0). */
  weights: Float64Array[];
  /** The same weighted mean of each extra (see FitRes.extras). */
  extras: Record<string, Float64Array[]>;
  /** The same weighted mean of each metric. */
  metrics: Record<string, number>;
  /** Each contributor's own report — present only when the aggregator shows the server individual updates. */
  individual?: readonly ClientUpdate[];
  /**
   * Set by an aggregator whose clients noised their inputs before a secure sum (distributed
   * DP): how many clients entered the sum — each drew its share of the noise for that many —
   * of which the contributors are those whose input reached it.
   */
  secureSum?: { participants: number };
}

export interface ClientReport {
  clientId: string;
  res: FitRes;
}

const zerosLike = (layout: readonly { length: number }[]) => layout.map((w) => new Float64Array(w.length));

/**
 * c_k, the weight of one report in every aggregate, in every mode: 1 under uniform
 * weighting, else n_k divided by `samplesPerUnit` (SecAgg+'s maxWeight, which keeps the
 * packed vector in its clipping range; 1 elsewhere).
 */
export function reportWeight(res: Pick<FitRes, 'numSamples'>, layout: ReportLayout, samplesPerUnit = 1): number {
  return layout.weighting === 'uniform' ? 1 : res.numSamples / samplesPerUnit;
}

/** The weighted means of `reports` in the clear, summed in sorted client order in float64. */
export function meanOfReports(round: number, reports: readonly ClientReport[], layout: ReportLayout, options: { individual: boolean }): RoundAggregate {
  if (reports.length === 0) throw new FlInvariantError(`round ${round}: meanOfReports called with no report`);
  const sorted = [...reports].sort((a, b) => compareIds(a.clientId, b.clientId));
  const totalSamples = sorted.reduce((n, r) => n + r.res.numSamples, 0);
  const totalWeight = sorted.reduce((n, r) => n + reportWeight(r.res, layout), 0);
  // Every weight 0 (every n_k 0): the plain mean, so an all-empty round still gives a model.
  const weighted = totalWeight > 0;
  const total = weighted ? totalWeight : sorted.length;
  const first = sorted[0].res;
  const weights = zerosLike(first.weights);
  const extras: Record<string, Float64Array[]> = {};
  for (const name of layout.extras) extras[name] = zerosLike(first.weights);
  const metrics: Record<string, number> = {};
  for (const name of layout.metrics) metrics[name] = 0;
  let loss = 0;
  const scales = sorted.map(({ res }) => (weighted ? reportWeight(res, layout) : 1));
  addScaledReports(weights, sorted.map(({ res }) => res.weights), scales);
  for (const name of layout.extras) addScaledReports(extras[name], sorted.map(({ res }) => res.extras[name]), scales);
  sorted.forEach(({ res }, k) => {
    for (const name of layout.metrics) metrics[name] += scales[k] * res.metrics[name];
    loss += scales[k] * res.loss;
  });
  divideBy(weights, total);
  for (const name of layout.extras) divideBy(extras[name], total);
  for (const name of layout.metrics) metrics[name] /= total;
  const aggregate: RoundAggregate = {
    round,
    contributors: sorted.map((r) => r.clientId),
    numSamples: totalSamples,
    loss: loss / total,
    weights,
    extras,
    metrics,
  };
  if (options.individual) {
    aggregate.individual = sorted.map(({ clientId, res }) => ({ clientId, weights: res.weights, numSamples: res.numSamples, loss: res.loss, extras: res.extras, metrics: res.metrics }));
  }
  return aggregate;
}

/**
 * The aggregate of a round in which nobody was selected (Strategy.acceptsEmptyRounds): no
 * contributor, the current model as the "mean" (a zero mean update), zero sums of extras
 * and metrics, no loss.
 */
export function aggregateOfNoOne(round: number, current: readonly Float32Array[], layout: ReportLayout): RoundAggregate {
  const extras: Record<string, Float64Array[]> = {};
  for (const name of layout.extras) extras[name] = zerosLike(current);
  const metrics: Record<string, number> = {};
  for (const name of layout.metrics) metrics[name] = 0;
  return { round, contributors: [], numSamples: 0, loss: NaN, weights: current.map((w) => Float64Array.from(w)), extras, metrics };
}

/**
 * acc += Σ_k scales[k] · reports[k], coordinate by coordinate, adding the reports in their order:
 * for each j, acc[j] = (…((acc[j] + c₀·v₀[j]) + c₁·v₁[j]) + …), in float64 — the same operations,
 * in the same order, as adding one report at a time, so the same bits (float addition is not
 * associative: only the grouping of the passes changes, never the order of the additions). Four
 * reports go in one pass over `acc` instead of one: the simulation's thread reads and writes the
 * accumulator a quarter as often (test/fl-aggregate-passes.test.ts checks the bits).
 */
export function addScaledReports(acc: Float64Array[], reports: ReadonlyArray<readonly Float32Array[]>, scales: readonly number[]): void {
  for (let l = 0; l < acc.length; l++) {
    const a = acc[l];
    let k = 0;
    for (; k + 4 <= reports.length; k += 4) addFour(a, reports[k][l], scales[k], reports[k + 1][l], scales[k + 1], reports[k + 2][l], scales[k + 2], reports[k + 3][l], scales[k + 3]);
    for (; k < reports.length; k++) addOne(a, reports[k][l], scales[k]);
  }
}

function addFour(a: Float64Array, v0: Float32Array, c0: number, v1: Float32Array, c1: number, v2: Float32Array, c2: number, v3: Float32Array, c3: number): void {
  for (let j = 0; j < a.length; j++) a[j] = a[j] + c0 * v0[j] + c1 * v1[j] + c2 * v2[j] + c3 * v3[j];
}

function addOne(a: Float64Array, v: Float32Array, c: number): void {
  for (let j = 0; j < a.length; j++) a[j] += c * v[j];
}

function divideBy(acc: Float64Array[], total: number): void {
  for (const a of acc) for (let j = 0; j < a.length; j++) a[j] /= total;
}

/** Length of the packed vector for this model layout and report layout. */
export function packedLength(weights: readonly { length: number }[], layout: ReportLayout): number {
  const L = weights.reduce((n, w) => n + w.length, 0);
  return L * (1 + layout.extras.length) + layout.metrics.length + 3;
}

/** One client's report as a vector weighted by c (see the file comment for the layout). */
export function packReport(res: FitRes, c: number, layout: ReportLayout): Float64Array {
  const out = new Float64Array(packedLength(res.weights, layout));
  let at = 0;
  const put = (arrays: readonly Float32Array[]) => {
    for (const w of arrays) for (let j = 0; j < w.length; j++) out[at++] = c * w[j];
  };
  put(res.weights);
  for (const name of [...layout.extras].sort()) put(res.extras[name]);
  for (const name of [...layout.metrics].sort()) out[at++] = c * res.metrics[name];
  out[at++] = c;
  out[at++] = 1;
  out[at] = c * res.loss;
  return out;
}

export interface UnpackedSum {
  aggregate: RoundAggregate;
  /** Σ c_k as read from the sum. */
  totalWeight: number;
  /** The number of vectors the sum says it holds (≈ an integer; compare with the contributors). */
  count: number;
}

/**
 * Reads the weighted means back from the sum of the contributors' packed vectors;
 * null when the summed weight is not positive. `samplesPerWeight` turns Σ c_k back into
 * Σ n_k (1 when c_k = n_k; maxWeight when c_k = n_k / maxWeight); under uniform weighting
 * the sum carries no n_k and numSamples is 0.
 */
export function unpackSum(
  round: number,
  sum: ArrayLike<number>,
  contributors: readonly string[],
  weightsLayout: readonly { length: number }[],
  layout: ReportLayout,
  samplesPerWeight: number,
): UnpackedSum | null {
  const length = packedLength(weightsLayout, layout);
  if (sum.length !== length) throw new FlInvariantError(`round ${round}: the sum has ${sum.length} values, the model and report layout need ${length}`);
  const totalWeight = sum[length - 3];
  const count = sum[length - 2];
  if (!(totalWeight > 0)) return null;
  let at = 0;
  const take = () =>
    weightsLayout.map((w) => {
      const out = new Float64Array(w.length);
      for (let j = 0; j < out.length; j++) out[j] = sum[at++] / totalWeight;
      return out;
    });
  const weights = take();
  const extras: Record<string, Float64Array[]> = {};
  for (const name of [...layout.extras].sort()) extras[name] = take();
  const metrics: Record<string, number> = {};
  for (const name of [...layout.metrics].sort()) metrics[name] = sum[at++] / totalWeight;
  return {
    aggregate: {
      round,
      contributors: [...contributors].sort(compareIds),
      numSamples: layout.weighting === 'uniform' ? 0 : Math.round(totalWeight * samplesPerWeight),
      loss: sum[length - 1] / totalWeight,
      weights,
      extras,
      metrics,
    },
    totalWeight,
    count,
  };
}

/** float64 means to the model's float32. */
export function toWeights(means: readonly Float64Array[]): Weights {
  return means.map((w) => Float32Array.from(w));
}
