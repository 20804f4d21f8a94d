/**
 * FedDyn (Acar et al. 2021, "Federated Learning Based on Dynamic Regularization",
 * Algorithm 1): each client's objective gains a linear and a quadratic term that make the
 * stationary points of the local objectives agree with the global one.
 *
 *   client state   ∇L_i(θ_i^{t−1}), the client's last local gradient (zeros at first;
 *                  kept in its durable storage)
 *   local objective L_i(θ) − ⟨∇L_i(θ_i^{t−1}), θ⟩ + α/2 ‖θ − θ^{t−1}‖²
 *                  → gradient term −∇L_i(θ_i^{t−1}) + α (θ − θ^{t−1}) at every step
 *   after training ∇L_i(θ_i^t) = ∇L_i(θ_i^{t−1}) − α (θ_i^t − θ^{t−1})
 *   FitRes         θ_i^t, and extra `dynDelta` = (θ_i^t − θ^{t−1}) / n_i
 *   server state   h (zeros at first)
 *   server         h ← h − (α / m) Σ_{i∈P} (θ_i^t − θ^{t−1}),   θ^t = θ̄ − h / α
 *
 * h must accumulate the plain SUM of the participants' moves over all m clients. The
 * round engine averages every report weighted by n_i (so it can pass through a secure
 * sum); a client therefore reports its move divided by n_i, whose weighted mean times
 * Σ n_i (the aggregate's numSamples) is the sum — exactly, through secure sums too.
 * θ̄ is the engine's n_i-weighted mean of the models (uniform in the paper; the same
 * for equal data sizes). α reaches the clients in FitIns.config as `dynAlpha`.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { FlConfigError, MalformedMessageError } from '../errors.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import type { Weights } from '../models/weights.js';
import { trainableTensors } from '../training/trainable-tensors.js';
import { SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from '../strategies/strategy.js';
import { type ClientAlgorithm, zerosLike } from './client-algorithm.js';

const ALPHA = 'dynAlpha';
const DELTA = 'dynDelta';
const AlphaSchema = z.number().positive().finite();

function alphaOf(config: Record<string, unknown>, where: string): number {
  const parsed = AlphaSchema.safeParse(config[ALPHA]);
  if (!parsed.success) {
    throw new MalformedMessageError(`${where}: FedDyn needs α > 0 in FitIns.config.${ALPHA}, got ${JSON.stringify(config[ALPHA])}; the server's strategy must be feddyn too`, {
      at: where,
      field: `config.${ALPHA}`,
    });
  }
  return parsed.data;
}

/** FedDyn's client half; its state is ∇L_i(θ_i^{t−1}). */
export const fedDynClient: ClientAlgorithm<Weights> = {
  name: 'feddyn',
  reports: { extras: [DELTA], metrics: [] },
  usesGradientTerms: true,
  initialState: (weights) => zerosLike(weights),
  beforeTraining(ins, state) {
    const alpha = alphaOf(ins.config, `feddyn client (round ${ins.round})`);
    // α (θ − θ^{t−1}) − ∇L_i(θ_i^{t−1}); adding the negated gradient is the same float32 operation as subtracting it.
    const negated = state.map((g) => g.map((v) => -v));
    return { affineTerm: { pull: { coefficient: alpha, anchor: ins.weights }, offset: negated } };
  },
  afterTraining(ins, trained, state) {
    const alpha = alphaOf(ins.config, `feddyn client (round ${ins.round})`);
    const next = state.map((g, l) => {
      const out = new Float32Array(g.length);
      const x = ins.weights[l];
      const y = trained.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = g[j] - alpha * (y[j] - x[j]);
      return out;
    });
    // The move per sample, so that the server can rebuild the plain sum (see the file comment).
    const perSample = trained.numSamples > 0 ? 1 / trained.numSamples : 0;
    const delta = ins.weights.map((x, l) => {
      const out = new Float32Array(x.length);
      const y = trained.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = (y[j] - x[j]) * perSample;
      return out;
    });
    return { extras: { [DELTA]: delta }, state: next };
  },
};

export interface FedDynOptions extends SamplingOptions {
  /** α, the weight of the dynamic regulariser (the paper uses 0.01–0.1). */
  alpha: number;
}

/** The server's h. */
export interface FedDynState {
  h: Float64Array[];
}

export class FedDyn extends SamplingStrategy<FedDynState> {
  readonly name = 'feddyn';
  override readonly client = fedDynClient;
  readonly alpha: number;

  constructor(options: FedDynOptions) {
    super(options);
    if (!AlphaSchema.safeParse(options.alpha).success) {
      throw new FlConfigError(`feddyn: alpha must be a finite number > 0, got ${options.alpha}; Acar et al. use 0.01 to 0.1`, { op: 'feddyn', field: 'alpha' });
    }
    this.alpha = options.alpha;
  }

  override initialState(weights: Weights): FedDynState {
    return { h: weights.map((w) => new Float64Array(w.length)) };
  }

  protected override fitConfig() {
    return { [ALPHA]: this.alpha };
  }

  aggregate(_round: number, results: RoundAggregate, _failures: unknown, ctx: StrategyContext<FedDynState>): StrategyStep<FedDynState> {
    // Σ_i (θ_i − θ) = (weighted mean of the moves per sample) · Σ n_i.
    const scale = (this.alpha * results.numSamples) / ctx.clients.length;
    const moves = results.extras[DELTA];
    const h = ctx.state.h.map((hl, l) => {
      const out = new Float64Array(hl.length);
      for (let j = 0; j < out.length; j++) out[j] = hl[j] - scale * moves[l][j];
      return out;
    });
    const weights = results.weights.map((mean, l) => {
      const out = new Float32Array(mean.length);
      for (let j = 0; j < out.length; j++) out[j] = mean[j] - h[l][j] / this.alpha;
      return out;
    });
    return { weights, state: { h } };
  }
}
