/**
 * FedNova (Wang et al. 2020, "Tackling the Objective Inconsistency Problem in
 * Heterogeneous Federated Optimization"): normalised averaging.
 *
 * With a fixed number of local epochs, a client with more data takes more SGD steps τ_i
 * and moves further; FedAvg's weighted average then drifts towards the objective of the
 * clients that step most. FedNova averages each client's update per step instead, and
 * rescales by the effective number of steps:
 *
 *   client   d_i = (x − y_i) / τ_i        (extra `novaDirection`; plain SGD, so a_i = τ_i)
 *            τ_i                           (metric `novaSteps`)
 *   server   x ← x − τ_eff · Σ p_i d_i,    τ_eff = Σ p_i τ_i,   p_i = n_i / Σ_S n_j
 *
 * When every τ_i is the same this is FedAvg exactly (up to rounding). No client state.
 */
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { SamplingStrategy, type StrategyContext, type StrategyStep } from '../strategies/strategy.js';
import { type ClientAlgorithm, plainSgdProblem, zerosLike } from './client-algorithm.js';

const DIRECTION = 'novaDirection';
const STEPS = 'novaSteps';

export const fedNovaClient: ClientAlgorithm<undefined> = {
  name: 'fednova',
  reports: { extras: [DIRECTION], metrics: [STEPS] },
  usesGradientTerms: false,
  checkTraining: (config) => plainSgdProblem(config, 'FedNova'),
  afterTraining(ins, trained) {
    const tau = trained.steps;
    if (tau === 0) return { extras: { [DIRECTION]: zerosLike(ins.weights) }, metrics: { [STEPS]: 0 } };
    const direction = ins.weights.map((x, l) => {
      const out = new Float32Array(x.length);
      const y = trained.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = (x[j] - y[j]) / tau;
      return out;
    });
    return { extras: { [DIRECTION]: direction }, metrics: { [STEPS]: tau } };
  },
};

export class FedNova extends SamplingStrategy {
  readonly name = 'fednova';
  override readonly client = fedNovaClient;

  aggregate(_round: number, results: RoundAggregate, _failures: unknown, ctx: StrategyContext<undefined>): StrategyStep<undefined> {
    const tauEff = results.metrics[STEPS];
    const direction = results.extras[DIRECTION];
    const weights = ctx.weights.map((x, l) => {
      const out = new Float32Array(x.length);
      for (let j = 0; j < out.length; j++) out[j] = x[j] - tauEff * direction[l][j];
      return out;
    });
    return { weights, state: undefined };
  }
}
