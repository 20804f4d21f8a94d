/**
 * SCAFFOLD (Karimireddy et al. 2020, "SCAFFOLD: Stochastic Controlled Averaging for
 * Federated Learning", Algorithm 1 with option II): control variates correct the client
 * drift that non-IID data causes in FedAvg's local steps.
 *
 *   server state   c, the server control variate (zeros at first)
 *   client state   c_i, client i's control variate (zeros at first; kept in the client's
 *                  durable storage, so it survives rounds and crashes)
 *   FitIns         x (the global weights) and c (config field `scaffoldControl`)
 *   local step     y ← y − η (g_i(y) − c_i + c)                   (gradient term c − c_i)
 *   after K steps  c_i⁺ = c_i − c + (x − y_i) / (K η)              (option II)
 *   FitRes         y_i, and extras `scaffoldModelDelta` = (y_i − x) / n_i and
 *                  `scaffoldControlDelta` = (c_i⁺ − c_i) / n_i
 *   server         x ← x + η_g (1/|S|) Σ_{i∈S} (y_i − x),   c ← c + (1 / N) Σ_{i∈S} (c_i⁺ − c_i)
 *
 * Both server updates need plain sums over the participants, but the round engine averages
 * every report weighted by n_i (so it can pass through a secure sum); a client therefore
 * reports its deltas divided by n_i, whose weighted mean times Σ n_i (the aggregate's
 * numSamples) is the plain sum — exactly, and through additive or SecAgg+ sums too.
 * N is the number of clients of the run, |S| the round's contributors.
 *
 * Why the model moves by the uniform mean of the y_i (the paper's), not FedAvg's n_i-weighted
 * one (NIID-Bench's choice): the control variates make every client follow the same
 * direction, ≈ −∇f(x) of the uniform objective (1/N) Σ f_i, for its own K_i steps, so
 * y_i − x ≈ −K_i η ∇f(x). A weighted mean moves x by η Σ p_i K_i; with a fixed E and B,
 * K_i ∝ n_i, so that step is set by the largest clients' K (Σ n_i² / Σ n_i), many times the
 * mean K. On FedProx's Synthetic(1,1) (n_i 45–4410) the weighted mean made the global loss
 * spike to 6–86 at E = 1–5 while the uniform mean never went above 2.2 (bench/scaffold-dynamics.ts,
 * BENCHMARKS.md). The uniform mean of y_i is also what the unbiasedness of c = mean c_i assumes.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { FlConfigError, MalformedMessageError } from '../errors.js';
import { WeightsSchema } from '../rounds/fit.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import type { Weights } from '../models/weights.js';
import { assertSameLayout } from '../models/weights.js';
import { trainableTensors } from '../training/trainable-tensors.js';
import { SamplingStrategy, type SamplingOptions, type StrategyContext, type StrategyStep } from '../strategies/strategy.js';
import { type ClientAlgorithm, plainSgdProblem, zerosLike } from './client-algorithm.js';

const CONTROL = 'scaffoldControl';
const DELTA = 'scaffoldControlDelta';
const MODEL_DELTA = 'scaffoldModelDelta';

const ScaffoldConfigSchema = z.object({ [CONTROL]: WeightsSchema });

/** c from the round's FitIns, checked against the model's layout; a fit without a fitting one is malformed. */
function serverControl(config: Record<string, unknown>, layout: Weights, where: string): Weights {
  const field = `config.${CONTROL}`;
  const parsed = ScaffoldConfigSchema.safeParse({ [CONTROL]: config[CONTROL] });
  if (!parsed.success) {
    throw new MalformedMessageError(
      `${where}: SCAFFOLD needs the server control variate in FitIns.config.${CONTROL}: ${parsed.error.issues[0].message}; the server's strategy must be scaffold too`,
      { at: where, field },
    );
  }
  const control = parsed.data[CONTROL];
  try {
    assertSameLayout(layout, control, `${where}: FitIns.config.${CONTROL}`);
  } catch (error) {
    if (!(error instanceof FlConfigError)) throw error;
    throw new MalformedMessageError(error.message, { at: where, field }, { cause: error });
  }
  return control;
}

/** SCAFFOLD's client half; its state is c_i. */
export const scaffoldClient: ClientAlgorithm<Weights> = {
  name: 'scaffold',
  reports: { extras: [MODEL_DELTA, DELTA], metrics: [] },
  usesGradientTerms: true,
  checkTraining: (config) => plainSgdProblem(config, 'SCAFFOLD'),
  initialState: (weights) => zerosLike(weights),
  beforeTraining(ins, state) {
    const c = serverControl(ins.config, ins.weights, `scaffold client (round ${ins.round})`);
    const correction = c.map((cl, l) => {
      const out = new Float32Array(cl.length);
      for (let j = 0; j < out.length; j++) out[j] = cl[j] - state[l][j];
      return out;
    });
    // The same correction at every step.
    return { affineTerm: { offset: correction } };
  },
  afterTraining(ins, trained, state) {
    const c = serverControl(ins.config, ins.weights, `scaffold client (round ${ins.round})`);
    const K = trained.steps;
    // No step: y_i = x and c_i stays (the paper's Δy_i = Δc_i = 0).
    if (K === 0 || trained.numSamples === 0) return { extras: { [MODEL_DELTA]: zerosLike(ins.weights), [DELTA]: zerosLike(ins.weights) }, state };
    const scale = 1 / (K * trained.lr);
    const next = state.map((ci, l) => {
      const out = new Float32Array(ci.length);
      const x = ins.weights[l];
      const y = trained.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = ci[j] - c[l][j] + (x[j] - y[j]) * scale;
      return out;
    });
    // Per sample, so that the server can rebuild the plain sums from the engine's weighted mean (see the file comment).
    const perSample = 1 / trained.numSamples;
    const delta = next.map((n, l) => {
      const out = new Float32Array(n.length);
      for (let j = 0; j < out.length; j++) out[j] = (n[j] - state[l][j]) * perSample;
      return out;
    });
    const modelDelta = trained.weights.map((y, l) => {
      const out = new Float32Array(y.length);
      const x = ins.weights[l];
      for (let j = 0; j < out.length; j++) out[j] = (y[j] - x[j]) * perSample;
      return out;
    });
    return { extras: { [MODEL_DELTA]: modelDelta, [DELTA]: delta }, state: next };
  },
};

export interface ScaffoldOptions extends SamplingOptions {
  /** η_g, the global step size (default 1, the paper's usual choice). */
  serverLr?: number;
}

/** The server's control variate c. */
export interface ScaffoldState {
  control: Float64Array[];
}

export class Scaffold extends SamplingStrategy<ScaffoldState> {
  readonly name = 'scaffold';
  override readonly client = scaffoldClient;
  readonly serverLr: number;

  constructor(options: ScaffoldOptions = {}) {
    super(options);
    this.serverLr = options.serverLr ?? 1;
    if (!(this.serverLr > 0) || !Number.isFinite(this.serverLr)) {
      throw new FlConfigError(`scaffold: serverLr must be a finite number > 0, got ${this.serverLr}; 1 (the default) is the paper's global step size`, { op: 'scaffold', field: 'serverLr' });
    }
  }

  override initialState(weights: Weights): ScaffoldState {
    return { control: weights.map((w) => new Float64Array(w.length)) };
  }

  protected override fitConfig(_round: number, ctx: StrategyContext<ScaffoldState>) {
    return { [CONTROL]: ctx.state.control.map((c) => Float32Array.from(c)) };
  }

  aggregate(_round: number, results: RoundAggregate, _failures: unknown, ctx: StrategyContext<ScaffoldState>): StrategyStep<ScaffoldState> {
    const x = ctx.weights;
    // Σ_i Δ_i = (weighted mean of Δ_i / n_i) · Σ n_i: x moves by η_g times that sum over |S|, c by that sum over N.
    // (results.weights, the n_i-weighted mean of the y_i, is not used: see the file comment.)
    const modelScale = (this.serverLr * results.numSamples) / results.contributors.length;
    const scale = results.numSamples / ctx.clients.length;
    const modelDeltas = results.extras[MODEL_DELTA];
    const deltas = results.extras[DELTA];
    const weights = x.map((w, l) => {
      const out = new Float32Array(w.length);
      for (let j = 0; j < out.length; j++) out[j] = w[j] + modelScale * modelDeltas[l][j];
      return out;
    });
    const control = ctx.state.control.map((c, l) => {
      const out = new Float64Array(c.length);
      for (let j = 0; j < out.length; j++) out[j] = c[j] + scale * deltas[l][j];
      return out;
    });
    return { weights, state: { control } };
  }
}
