/**
 * Adaptive federated optimisation (Reddi et al. 2021, "Adaptive Federated
 * Optimization", Algorithm 2): the server treats Δ_t = FedAvg(updates) − w_t as a
 * gradient step and feeds it to an adaptive optimiser.
 *
 *   m_t = β₁ m_{t−1} + (1 − β₁) Δ_t
 *   FedAdagrad: v_t = v_{t−1} + Δ_t²
 *   FedAdam:    v_t = β₂ v_{t−1} + (1 − β₂) Δ_t²
 *   FedYogi:    v_t = v_{t−1} − (1 − β₂) Δ_t² · sign(v_{t−1} − Δ_t²)
 *   w_{t+1} = w_t + η m_t / (√v_t + τ)
 *
 * As in the paper, m_{−1} = 0, v_{−1} = τ², and there is no bias correction.
 * Defaults: η = 0.1, β₁ = 0.9, β₂ = 0.99 (the paper's), τ = 1e-3 (its most common tuned value).
 * (Flower's versions start v at 0 and, in recent releases, bias-correct FedAdam.)
 */
import { FlConfigError } from '../errors.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from './strategy.js';

/** The server optimiser's moments m and v (none before the first aggregation). */
export type FedOptState = { m: Float64Array[]; v: Float64Array[] } | undefined;

export type AdaptiveRule = 'adagrad' | 'adam' | 'yogi';

export interface FedOptOptions extends SamplingOptions {
  /** η, the server learning rate. */
  eta?: number;
  beta1?: number;
  /** Unused by FedAdagrad. */
  beta2?: number;
  /** τ, the adaptivity floor. */
  tau?: number;
}

export class FedOpt extends SamplingStrategy<FedOptState> {
  readonly name: string;
  readonly eta: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;

  constructor(readonly rule: AdaptiveRule, options: FedOptOptions = {}) {
    super(options);
    this.name = `fed${rule}`;
    this.eta = options.eta ?? 0.1;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.99;
    this.tau = options.tau ?? 1e-3;
    const refuse = (field: string, rule: string, value: number, hint: string) =>
      new FlConfigError(`${this.name}: ${field} must be ${rule}, got ${value}; ${hint}`, { op: this.name, field });
    if (!(this.eta > 0)) throw refuse('eta', '> 0', this.eta, 'the server learning rate (default 0.1)');
    if (!(this.beta1 >= 0 && this.beta1 < 1)) throw refuse('beta1', 'in [0, 1)', this.beta1, 'the first-moment decay (default 0.9)');
    if (!(this.beta2 >= 0 && this.beta2 < 1)) throw refuse('beta2', 'in [0, 1)', this.beta2, 'the second-moment decay (default 0.99)');
    if (!(this.tau > 0)) throw refuse('tau', '> 0', this.tau, 'the adaptivity floor (default 1e-3)');
  }

  aggregate(_round: number, results: RoundAggregate, _failures: unknown, ctx: StrategyContext<FedOptState>): StrategyStep<FedOptState> {
    const currentWeights = ctx.weights;
    const avg = results.weights;
    const previous = ctx.state;
    const { beta1, beta2, tau, eta } = this;
    const m = currentWeights.map((w) => new Float64Array(w.length));
    const v = currentWeights.map((w) => new Float64Array(w.length));
    const next = currentWeights.map((w, l) => {
      const out = new Float32Array(w.length);
      for (let j = 0; j < w.length; j++) {
        const delta = avg[l][j] - w[j];
        const d2 = delta * delta;
        const mPrev = previous ? previous.m[l][j] : 0;
        const vPrev = previous ? previous.v[l][j] : tau * tau;
        const mj = beta1 * mPrev + (1 - beta1) * delta;
        let vj: number;
        if (this.rule === 'adagrad') vj = vPrev + d2;
        else if (this.rule === 'adam') vj = beta2 * vPrev + (1 - beta2) * d2;
        else vj = vPrev - (1 - beta2) * d2 * Math.sign(vPrev - d2);
        m[l][j] = mj;
        v[l][j] = vj;
        out[j] = w[j] + (eta * mj) / (Math.sqrt(vj) + tau);
      }
      return out;
    });
    return { weights: next, state: { m, v } };
  }
}

export const fedAdagrad = (options?: FedOptOptions) => new FedOpt('adagrad', options);
export const fedAdam = (options?: FedOptOptions) => new FedOpt('adam', options);
export const fedYogi = (options?: FedOptOptions) => new FedOpt('yogi', options);
