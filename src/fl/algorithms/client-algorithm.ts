/**
 * ClientAlgorithm: the client half of an FL algorithm — what a client does around local
 * training, and what it remembers between rounds.
 *
 *   beforeTraining   turns the round's FitIns (and the client's state) into extra gradient
 *                    terms for every step (FedProx's proximal pull, SCAFFOLD's correction,
 *                    FedDyn's linear and quadratic terms);
 *   afterTraining    turns what training did into the report's extras and metrics and the
 *                    client's next state (SCAFFOLD's new control variate, FedNova's τ), and
 *                    may replace the reported weights (a clipped or noised update);
 *   state            per client, persistent: kept in the client's durable storage, so it
 *                    survives rounds and crashes (unless the fault plan says loseStorage).
 *                    An algorithm with state says so by defining `initialState`.
 *
 * State moves only with the server's. The server's half of a stateful algorithm assumes it
 * saw every change a client made to its state (SCAFFOLD keeps c = mean of all c_i, FedDyn
 * keeps h = mean of all ∇L_i); a report that never enters a committed aggregate (lost, too
 * late, its round skipped, the client crashed) must therefore leave the client's state as it
 * was. So the round engine does this for every stateful algorithm (rounds/client-fit.ts):
 * the state afterTraining returns is stored PENDING, with the round's answer; the server
 * records per client the last round whose committed aggregate included it (checkpointed with
 * the round) and sends it in every fit (FitIns.includedRound); at its next fit the client
 * adopts the pending state if that is the pending round, and drops it otherwise. An algorithm
 * writes nothing for this: beforeTraining and afterTraining always get the adopted state.
 *
 * Determinism: a client trains each round at most once. The answer (and the pending state)
 * is stored before it leaves; a retried fit for the same round is answered from storage, and
 * training draws its shuffles from a stream named after the round (`shuffle/round-<r>`), so
 * redoing a round after a crash that lost the storage gives the same update again.
 *
 * The server half is the algorithm's Strategy (strategies/strategy.ts), which names its
 * client half as `strategy.client`.
 */
import type { RandomStream } from '../../runtime/rng.js';
import type { Model } from '../models/model.js';
import type { Weights } from '../models/weights.js';
import type { GradientTerms, TrainConfig } from '../training/train-local.js';
import type { AffineGradientTerm } from '../training/affine-terms.js';
import type { FitIns, ReportLayout } from '../rounds/fit.js';

/** What local training did, as an algorithm's afterTraining sees it. */
export interface LocalTraining {
  /** The trained weights (all of them, in weight order). */
  weights: Weights;
  /** n_k. */
  numSamples: number;
  /** Mean data loss over every step. */
  loss: number;
  /** Optimiser steps taken (all epochs): SCAFFOLD's K, FedNova's τ. */
  steps: number;
  /** The learning rate used. */
  lr: number;
  /**
   * A seeded stream of this client named for what it is for (`dp/round-<r>`: the client's
   * stream `actor/<id>/dp/round-<r>`), at its start on every call, so redoing the round
   * after a crash draws the same — for algorithms that randomise their report (local DP noise).
   */
  stream(name: string): RandomStream;
}

export interface TrainingHooks {
  /** A gradient term affine in the weights (training/affine-terms.ts): trains in the fused kernels too. */
  affineTerm?: AffineGradientTerm;
  /** Any other per-step gradient terms, as a tfjs closure (these keep the step on tfjs ops). */
  gradientTerms?: GradientTerms;
  /** Frees tensors the hooks made up front (called once training is over, even if it threw). */
  dispose?(): void;
}

export interface AfterTraining<S> {
  /** The weights to report instead of the trained ones (a clipped or noised update); same layout. */
  weights?: Weights;
  extras?: Record<string, Weights>;
  metrics?: Record<string, number>;
  /** The client's state for the next round, adopted once the server confirms this round (omit to keep it). */
  state?: S;
}

export interface ClientAlgorithm<S = unknown> {
  readonly name: string;
  /** What this algorithm's clients report beside their weights. */
  readonly reports: ReportLayout;
  /** True when training needs per-step gradient terms (the plan trainer cannot add them). */
  readonly usesGradientTerms: boolean;
  /** Why these training settings cannot work with the algorithm (checked before the run), or undefined. */
  checkTraining?(config: TrainConfig): string | undefined;
  /** The state of a client that has not trained yet; defining it makes the algorithm stateful (default: no state). */
  initialState?(weights: Weights): S;
  beforeTraining?(ins: FitIns, state: S, model: Model): TrainingHooks | undefined;
  afterTraining?(ins: FitIns, trained: LocalTraining, state: S): AfterTraining<S>;
}

/** True when the algorithm keeps client state (so its reports must be confirmed before a client adopts a new state). */
export function keepsState(algorithm: ClientAlgorithm<any>): boolean {
  return algorithm.initialState !== undefined;
}

/** Plain local training (FedAvg's client): no terms, no state, nothing reported beside the weights. */
export const plainLocalTraining: ClientAlgorithm<undefined> = {
  name: 'local-sgd',
  reports: { extras: [], metrics: [] },
  usesGradientTerms: false,
};

/**
 * Why `config` is not plain SGD (no momentum, no Adam), or undefined: algorithms whose
 * client-side formulas count optimiser steps as w ← w − η·g (SCAFFOLD's control variate,
 * FedNova's normalisation) say so before the run with this.
 */
export function plainSgdProblem(config: TrainConfig, algorithm: string): string | undefined {
  const optimizer = config.optimizer;
  if (optimizer === undefined || optimizer === 'sgd') return undefined;
  if (optimizer.name === 'sgd' && !optimizer.momentum && !optimizer.nesterov) return undefined;
  return `${algorithm}'s client formulas assume plain SGD steps (w ← w − lr·g), but the optimizer is ${JSON.stringify(optimizer)}; use optimizer 'sgd' without momentum`;
}

/** A new array per layer, all zeros, in the layout of `weights`. */
export function zerosLike(weights: readonly { length: number }[]): Float32Array[] {
  return weights.map((w) => new Float32Array(w.length));
}
