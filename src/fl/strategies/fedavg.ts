/**
 * FedAvg (McMahan et al. 2017) and FedProx (Li et al. 2020).
 *
 * FedAvg: w ← Σ_k n_k w_k / Σ_k n_k over the clients that reported this round.
 * FedProx: the same aggregation; what changes is the clients' objective, which
 * gains μ/2 ‖w − w_global‖² (sent to clients as `proxMu`). As in Flower's FedProx,
 * clients are sampled uniformly and averaged by sample count (the paper's variant
 * samples by n_k and averages uniformly; both are unbiased).
 */
import type { Weights } from '../models/weights.js';
import type { TrainConfig } from '../training/train-local.js';
import { averageUpdates, checkLayouts, toFloat32 } from './aggregate.js';
import { type ClientUpdate, SamplingStrategy, type SamplingOptions, sortedUpdates } from './strategy.js';

export class FedAvg extends SamplingStrategy {
  readonly name: string = 'fedavg';

  aggregateFit(_round: number, results: readonly ClientUpdate[], currentWeights: Weights): Weights {
    const updates = sortedUpdates(results, this.name);
    checkLayouts(currentWeights, updates, this.name);
    return toFloat32(averageUpdates(updates, true, this.name));
  }
}

export interface FedProxOptions extends SamplingOptions {
  /** μ, the weight of the proximal term (the paper tries 0.001 … 1). */
  mu: number;
}

export class FedProx extends FedAvg {
  override readonly name: string = 'fedprox';
  readonly mu: number;

  constructor(options: FedProxOptions) {
    super(options);
    if (!(options.mu >= 0) || !Number.isFinite(options.mu)) throw new RangeError(`fedprox: mu must be a finite number ≥ 0, got ${options.mu}`);
    this.mu = options.mu;
  }

  protected override fitConfig(): Partial<TrainConfig> {
    return { proxMu: this.mu };
  }
}
