/**
 * Clipping a client's whole update to an L2 ball (DP-FedAvg, McMahan et al. 2018):
 *
 *   Δ = w_trained − w_global         over ALL layers together, in float64
 *   Δ_clipped = Δ · min(1, C / ‖Δ‖₂)
 *
 * so one client moves the sum of updates by at most C — the sensitivity every noise
 * multiplier is relative to.
 *
 * The report goes as float32 weights w_global + Δ_clipped, and rounding to float32 moves
 * each coordinate by up to half an ulp of |w|: the update the server rebuilds,
 * float32(w + Δ_clipped) − w, could then be a hair longer than C, and the sensitivity
 * would be broken by that hair. `reportClipped` therefore checks the update the report
 * really carries, in float64, and shrinks the factor until it is within C.
 */
import type { Weights } from '../fl/models/weights.js';

export interface ClippedUpdate {
  /** Δ · min(1, C/‖Δ‖), per layer, in float64. */
  delta: Float64Array[];
  /** ‖Δ‖₂ before clipping (what adaptive clipping compares with C). */
  norm: number;
  /** The factor applied: min(1, C/‖Δ‖). */
  factor: number;
}

/** ‖x‖₂ over every layer, accumulated in float64 in layer order. */
export function l2Norm(layers: readonly ArrayLike<number>[]): number {
  let sum = 0;
  for (const layer of layers) for (let j = 0; j < layer.length; j++) sum += layer[j] * layer[j];
  return Math.sqrt(sum);
}

/** The update trained − global, in float64. */
export function updateOf(global: readonly Float32Array[], trained: readonly Float32Array[]): Float64Array[] {
  return global.map((g, l) => {
    const t = trained[l];
    const out = new Float64Array(g.length);
    for (let j = 0; j < g.length; j++) out[j] = t[j] - g[j];
    return out;
  });
}

/** Δ = trained − global clipped to L2 norm `clip` (see the file comment). */
export function clipUpdate(global: readonly Float32Array[], trained: readonly Float32Array[], clip: number): ClippedUpdate {
  const delta = updateOf(global, trained);
  const norm = l2Norm(delta);
  const factor = norm > clip ? clip / norm : 1;
  if (factor < 1) for (const layer of delta) for (let j = 0; j < layer.length; j++) layer[j] *= factor;
  return { delta, norm, factor };
}

/** float32(global + delta), per layer. */
export function addToWeights(global: readonly Float32Array[], delta: readonly Float64Array[]): Weights {
  return global.map((g, l) => {
    const d = delta[l];
    const out = new Float32Array(g.length);
    for (let j = 0; j < g.length; j++) out[j] = g[j] + d[j];
    return out;
  });
}

/**
 * The float32 weights to report for a clipped update: global + delta, shrunk until the
 * update they carry — their float64 difference from `global` — is at most `clip` long.
 * Each pass scales by (clip / carried)·(1 − 2⁻²⁰); a couple of passes always do, since the
 * rounding error is some 2⁻²⁴ of |w| per coordinate.
 */
export function reportClipped(global: readonly Float32Array[], delta: readonly Float64Array[], clip: number): Weights {
  let scale = 1;
  for (let pass = 0; pass < 64; pass++) {
    const scaled = scale === 1 ? delta : delta.map((d) => d.map((v) => v * scale));
    const weights = addToWeights(global, scaled);
    const carried = l2Norm(updateOf(global, weights));
    if (carried <= clip) return weights;
    scale *= (clip / carried) * (1 - 2 ** -20);
  }
  // Unreachable for finite inputs (the update shrinks geometrically to 0, which is exact); a plain fallback: no update.
  return global.map((g) => new Float32Array(g));
}
