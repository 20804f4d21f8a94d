/**
 * FedAvg (McMahan et al. 2017) and FedProx (Li et al. 2020).
 *
 * FedAvg: w ← Σ_k n_k w_k / Σ_k n_k over the clients that reported this round.
 * FedProx: the same aggregation; what changes is the clients' objective, which gains
 * μ/2 ‖w − w_global‖² — its client half adds the gradient μ(w − w_global) to every step,
 * in closed form (exact, two ops per parameter). μ reaches the clients in FitIns.config as
 * `proxMu`. As in Flower's FedProx, clients are sampled uniformly and averaged by sample
 * count (the paper's variant samples by n_k and averages uniformly; both are unbiased).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type ClientAlgorithm, plainLocalTraining } from '../algorithms/client-algorithm.js';
import { FlConfigError, MalformedMessageError } from '../errors.js';
import type { FitConfig } from '../rounds/fit.js';
import { type RoundAggregate, toWeights } from '../rounds/round-aggregate.js';
import { trainableTensors } from '../training/trainable-tensors.js';
import { type RoundFailure, SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from './strategy.js';

export class FedAvg extends SamplingStrategy {
  readonly name: string = 'fedavg';

  // The whole signature, so that a subclass can override it and use the failures and context.
  aggregate(_round: number, results: RoundAggregate, _failures: readonly RoundFailure[], _ctx: StrategyContext<undefined>): StrategyStep<undefined> {
    return { weights: toWeights(results.weights), state: undefined };
  }
}

export interface FedProxOptions extends SamplingOptions {
  /** μ, the weight of the proximal term (the paper tries 0.001 … 1). */
  mu: number;
}

const ProxConfigSchema = z.object({ proxMu: z.number().min(0).finite().default(0) });

/** FedProx's client half: μ(w − w_global) added to each step's gradient. */
export const fedProxClient: ClientAlgorithm<undefined> = {
  name: 'fedprox',
  reports: { extras: [], metrics: [] },
  usesGradientTerms: true,
  beforeTraining(ins) {
    const parsed = ProxConfigSchema.safeParse({ proxMu: ins.config.proxMu });
    if (!parsed.success) {
      throw new MalformedMessageError(`fedprox round ${ins.round}: FitIns.config.proxMu must be a finite number ≥ 0, got ${JSON.stringify(ins.config.proxMu)}; the server's strategy sets it`, {
        round: ins.round,
        field: 'config.proxMu',
      });
    }
    const { proxMu } = parsed.data;
    if (proxMu === 0) return undefined;
    return { affineTerm: { pull: { coefficient: proxMu, anchor: ins.weights } } };
  },
};

export class FedProx extends FedAvg {
  override readonly name: string = 'fedprox';
  override readonly client: ClientAlgorithm<any>;
  readonly mu: number;

  constructor(options: FedProxOptions) {
    super(options);
    if (!(options.mu >= 0) || !Number.isFinite(options.mu)) {
      throw new FlConfigError(`fedprox: mu must be a finite number ≥ 0, got ${options.mu}; the paper tries 0.001 to 1 (0 is FedAvg)`, { op: 'fedprox', field: 'mu' });
    }
    this.mu = options.mu;
    // With μ = 0 the objective is FedAvg's: plain local training (which a training Plan can run too).
    this.client = this.mu > 0 ? fedProxClient : plainLocalTraining;
  }

  protected override fitConfig(): Partial<FitConfig> {
    return { proxMu: this.mu };
  }
}
