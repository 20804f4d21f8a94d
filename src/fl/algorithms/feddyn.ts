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
 *   server state   h (zeros at first)
 *   server         h ← h − α (|P| / m) (θ̄ − θ^{t−1}),   θ^t = θ̄ − h / α
 *
 * θ̄ is the round engine's mean of the participants' models (weighted by n_k; uniform
 * in the paper, the same for equal data sizes), |P| the contributors, m every client.
 * α reaches the clients in FitIns.config as `dynAlpha`.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { FlConfigError, MalformedMessageError } from '../errors.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import type { Weights } from '../models/weights.js';
import { trainableTensors } from '../training/train-local.js';
import { SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from '../strategies/strategy.js';
import { type ClientAlgorithm, zerosLike } from './client-algorithm.js';

const ALPHA = 'dynAlpha';
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
  reports: { extras: [], metrics: [] },
  usesGradientTerms: true,
  initialState: (weights) => zerosLike(weights),
  beforeTraining(ins, state, model) {
    const alpha = alphaOf(ins.config, `feddyn client (round ${ins.round})`);
    const anchors = trainableTensors(model, ins.weights, `feddyn round ${ins.round}: θ^(t−1)`);
    const previous = trainableTensors(model, state, `feddyn round ${ins.round}: ∇L_i(θ_i^(t−1))`);
    const a = tf.scalar(alpha);
    return {
      gradientTerms: (params) => params.map((p, i) => tf.sub(tf.mul(tf.sub(p, anchors[i]), a), previous[i])),
      dispose: () => tf.dispose([...anchors, ...previous, a]),
    };
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
    return { state: next };
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
    const share = results.contributors.length / ctx.clients.length;
    const h = ctx.state.h.map((hl, l) => {
      const out = new Float64Array(hl.length);
      const x = ctx.weights[l];
      const mean = results.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = hl[j] - this.alpha * share * (mean[j] - x[j]);
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
