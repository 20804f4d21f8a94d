/**
 * Byzantine-robust coordinate-wise aggregators (Yin et al. 2018, "Byzantine-Robust
 * Distributed Learning: Towards Optimal Statistical Rates"): each coordinate of the
 * new model is a robust statistic of that coordinate across clients, unweighted
 * by sample counts (a weighted median would let one client claim a huge n_k).
 */
import { FlConfigError } from '../errors.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { coordinateWise } from './aggregate.js';
import { SamplingStrategy, type SamplingOptions, type StrategyStep, individualUpdates, sortedUpdates } from './strategy.js';

const ascending = (a: number, b: number) => a - b;

/** Median of the column (mean of the two middle values for an even count). Sorts `column`. */
export function median(column: Float64Array): number {
  column.sort(ascending);
  const n = column.length;
  const mid = n >> 1;
  return n % 2 === 1 ? column[mid] : (column[mid - 1] + column[mid]) / 2;
}

/** Mean after removing the ⌊β·n⌋ smallest and ⌊β·n⌋ largest values (scipy's trim_mean). Sorts `column`. */
export function trimmedMean(column: Float64Array, beta: number): number {
  column.sort(ascending);
  const n = column.length;
  const cut = Math.floor(beta * n + 1e-9);
  let sum = 0;
  for (let i = cut; i < n - cut; i++) sum += column[i];
  return sum / (n - 2 * cut);
}

export class FedMedian extends SamplingStrategy {
  readonly name = 'fedmedian';
  override readonly needs = 'individual' as const;

  aggregate(_round: number, results: RoundAggregate): StrategyStep<undefined> {
    const updates = sortedUpdates(individualUpdates(results, this.name), this.name);
    return { weights: coordinateWise(updates, median), state: undefined };
  }
}

export interface TrimmedMeanOptions extends SamplingOptions {
  /** β ∈ [0, 0.5): the fraction cut from each end (default 0.2, as Flower's FedTrimmedAvg). */
  beta?: number;
}

export class FedTrimmedAvg extends SamplingStrategy {
  readonly name = 'fedtrimmedavg';
  override readonly needs = 'individual' as const;
  readonly beta: number;

  constructor(options: TrimmedMeanOptions = {}) {
    super(options);
    this.beta = options.beta ?? 0.2;
    if (!(this.beta >= 0 && this.beta < 0.5)) {
      throw new FlConfigError(`fedtrimmedavg: beta must be in [0, 0.5), got ${this.beta}; it is the fraction cut from each end (default 0.2)`, { op: 'fedtrimmedavg', field: 'beta' });
    }
  }

  aggregate(_round: number, results: RoundAggregate): StrategyStep<undefined> {
    const updates = sortedUpdates(individualUpdates(results, this.name), this.name);
    return { weights: coordinateWise(updates, (column) => trimmedMean(column, this.beta)), state: undefined };
  }
}
