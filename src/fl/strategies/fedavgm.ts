/**
 * FedAvgM (Hsu, Qi & Brown 2019): server momentum on the FedAvg pseudo-gradient.
 *
 *   Δ_t = w_t − FedAvg(updates)          (a pseudo-gradient: the direction to descend)
 *   v_t = β v_{t−1} + Δ_t                 (v = Δ at the first aggregation)
 *   w_{t+1} = w_t − η v_t
 *
 * With β = 0 and η = 1 this is FedAvg. Same convention as Flower's FedAvgM.
 */
import { FlConfigError } from '../errors.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from './strategy.js';

/** The server's momentum buffer v (none before the first aggregation). */
export type FedAvgMState = { velocity: Float64Array[] } | undefined;

export interface FedAvgMOptions extends SamplingOptions {
  /** η (default 1). */
  serverLr?: number;
  /** β (default 0.9, Hsu et al.'s usual value). */
  momentum?: number;
}

export class FedAvgM extends SamplingStrategy<FedAvgMState> {
  readonly name = 'fedavgm';
  readonly serverLr: number;
  readonly momentum: number;

  constructor(options: FedAvgMOptions = {}) {
    super(options);
    this.serverLr = options.serverLr ?? 1;
    this.momentum = options.momentum ?? 0.9;
    if (!(this.serverLr > 0)) throw new FlConfigError(`fedavgm: serverLr must be > 0, got ${this.serverLr}; 1 (the default) applies the averaged step as is`, { op: 'fedavgm', field: 'serverLr' });
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new FlConfigError(`fedavgm: momentum must be in [0, 1), got ${this.momentum}; Hsu et al. use 0.9 (the default), 0 is FedAvg`, { op: 'fedavgm', field: 'momentum' });
    }
  }

  aggregate(_round: number, results: RoundAggregate, _failures: unknown, ctx: StrategyContext<FedAvgMState>): StrategyStep<FedAvgMState> {
    const currentWeights = ctx.weights;
    const avg = results.weights;
    const previous = ctx.state?.velocity;
    const velocity = currentWeights.map((w, l) => {
      const v = new Float64Array(w.length);
      for (let j = 0; j < w.length; j++) {
        const delta = w[j] - avg[l][j];
        v[j] = previous ? this.momentum * previous[l][j] + delta : delta;
      }
      return v;
    });
    const next = currentWeights.map((w, l) => {
      const out = new Float32Array(w.length);
      for (let j = 0; j < w.length; j++) out[j] = w[j] - this.serverLr * velocity[l][j];
      return out;
    });
    return { weights: next, state: { velocity } };
  }
}
