/**
 * Composition of discrete privacy loss distributions, and (ε, δ) from the result.
 *
 * Composing pairs multiplies them, so the privacy loss of the composition is the sum of the
 * steps' losses: its distribution is the convolution of theirs. With every step on one grid
 * (multiples of Δ) the sum stays on it, and T repetitions of a PLD p are the convolution
 * power p^{*T} — one FFT, a pointwise T-th power, one inverse FFT (Koskela, Jälkö, Honkela
 * 2020; dp_accounting's pld does the same).
 *
 * Only a window [lo, hi] of the composed losses is kept, chosen by a Chernoff bound so that
 * each side outside it holds at most `tailMass`: P(S > u) ≤ M(λ)^T e^{−λu} for every λ > 0,
 * with M the moment generating function of one step (similarly below). The FFT's cyclic
 * convolution folds the outside mass into the window — in-window masses can only be too
 * large, never too small — and the outside mass itself is added to the mass at +∞; both
 * errors make δ larger, never smaller. Floating-point round-off in the FFT (about 1e-16 per
 * point, relative to the total mass) can make a few tiny masses negative: they are set to 0,
 * and (number of points) × (largest such magnitude) — the noise level over the whole array —
 * is added to the mass at +∞ as an allowance for round-off that went the other way.
 */
import { fft, nextPowerOfTwo } from './fft.js';
import type { DiscretePld } from './pld-sampled-gaussian.js';

/** Composed loss grid points at most (2²³: 128 MiB of working arrays). */
export const MAX_COMPOSED_POINTS = 2 ** 23;

export interface ComposedPld {
  readonly step: number;
  /** Grid index of probs[0]. */
  readonly offset: number;
  readonly probs: Float64Array;
  /** Mass at +∞: from the steps, the truncated tails and the round-off allowance. */
  readonly infinityMass: number;
}

/** log M(λ) = log Σ pᵢ e^{λ·(offset + i)·step}, by log-sum-exp. */
function logMgf(pld: DiscretePld, lambda: number): number {
  let max = -Infinity;
  for (let i = 0; i < pld.probs.length; i++) if (pld.probs[i] > 0) max = Math.max(max, lambda * (pld.offset + i) * pld.step);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < pld.probs.length; i++) if (pld.probs[i] > 0) sum += pld.probs[i] * Math.exp(lambda * (pld.offset + i) * pld.step - max);
  return max + Math.log(sum);
}

const LAMBDAS = [1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Composes `count` repetitions of each PLD (all on the same grid step) into one. */
export function composePlds(parts: ReadonlyArray<{ pld: DiscretePld; count: number }>, tailMass: number): ComposedPld {
  const step = parts[0].pld.step;
  // The window, from the Chernoff bounds of the whole sum; never wider than the sum's support.
  let minIndex = 0;
  let maxIndex = 0;
  for (const { pld, count } of parts) {
    minIndex += count * pld.offset;
    maxIndex += count * (pld.offset + pld.probs.length - 1);
  }
  let upper = maxIndex * step;
  let lower = minIndex * step;
  const logTail = Math.log(tailMass);
  for (const lambda of LAMBDAS) {
    let up = 0;
    let down = 0;
    for (const { pld, count } of parts) {
      up += count * logMgf(pld, lambda);
      down += count * logMgf(pld, -lambda);
    }
    upper = Math.min(upper, (up - logTail) / lambda);
    lower = Math.max(lower, (logTail - down) / lambda);
  }
  const lo = Math.max(minIndex, Math.floor(lower / step));
  const hi = Math.min(maxIndex, Math.ceil(upper / step));
  const width = hi - lo + 1;
  const n = nextPowerOfTwo(Math.max(width, 2));
  if (n > MAX_COMPOSED_POINTS) {
    throw new RangeError(`the composed PLD needs ${width} grid points (step ${step}), more than ${MAX_COMPOSED_POINTS}`);
  }
  const mod = (k: number) => ((k % n) + n) % n;
  // Product of the transforms, each raised to its count.
  const accRe = new Float64Array(n).fill(1);
  const accIm = new Float64Array(n);
  let base = 0; // grid index that residue 0 of the product stands for (mod n)
  let finiteMass = 1; // probability that no step lands at +∞
  for (const { pld, count } of parts) {
    if (count === 0) continue;
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    pld.probs.forEach((p, i) => (re[mod(i)] += p)); // folded mod n, which commutes with convolution
    fft(re, im);
    for (let k = 0; k < n; k++) {
      // z^count in polar form: |z|^count · e^{i·count·arg z}.
      // |z| ≤ 1 (a transform of at most unit mass), so re² + im² cannot overflow; Math.hypot would be several times slower.
      const r2 = re[k] * re[k] + im[k] * im[k];
      if (r2 === 0) {
        accRe[k] = 0;
        accIm[k] = 0;
        continue;
      }
      const magnitude = Math.exp(0.5 * count * Math.log(r2));
      const angle = count * Math.atan2(im[k], re[k]);
      const pr = magnitude * Math.cos(angle);
      const pi = magnitude * Math.sin(angle);
      const ar = accRe[k];
      accRe[k] = ar * pr - accIm[k] * pi;
      accIm[k] = ar * pi + accIm[k] * pr;
    }
    base += count * pld.offset;
    finiteMass *= (1 - pld.infinityMass) ** count;
  }
  fft(accRe, accIm, true);
  const probs = new Float64Array(width);
  let noise = 0;
  for (let w = 0; w < width; w++) {
    const value = accRe[mod(lo + w - base)];
    if (value < 0) noise = Math.max(noise, -value);
    probs[w] = Math.max(0, value);
  }
  const infinityMass = Math.min(1, 1 - finiteMass + 2 * tailMass + n * noise);
  return { step, offset: lo, probs, infinityMass };
}

/** δ(ε) = P(+∞) + Σ_{ℓ > ε} p_ℓ (1 − e^{ε − ℓ}). */
export function pldDelta(pld: ComposedPld, epsilon: number): number {
  let delta = pld.infinityMass;
  for (let i = pld.probs.length - 1; i >= 0; i--) {
    const loss = (pld.offset + i) * pld.step;
    if (loss <= epsilon) break;
    delta += pld.probs[i] * -Math.expm1(epsilon - loss);
  }
  return Math.min(1, delta);
}

/**
 * The smallest ε ≥ 0 with δ(ε) ≤ δ (∞ if the mass at +∞ alone exceeds δ). Between two grid
 * losses ℓ_{i−1} ≤ ε < ℓ_i, δ(ε) = A − e^{ε − ℓ_i}·B with A the mass at or above ℓ_i (and at
 * +∞) and B = Σ_{j ≥ i} p_j e^{ℓ_i − ℓ_j}; a scan from the top finds the interval and the
 * crossing is solved there exactly. B is kept relative to the current ℓ_i (B ← p_i + e^{−Δ}·B)
 * because e^{−ℓ} itself under- or overflows for losses in the hundreds.
 */
export function pldEpsilon(pld: ComposedPld, delta: number): number {
  if (pld.infinityMass > delta) return Infinity;
  if (pldDelta(pld, 0) <= delta) return 0;
  const shrink = Math.exp(-pld.step);
  let mass = pld.infinityMass;
  let weighted = 0;
  for (let i = pld.probs.length - 1; i >= 0; i--) {
    const loss = (pld.offset + i) * pld.step;
    mass += pld.probs[i];
    weighted = pld.probs[i] + shrink * weighted;
    // δ at the grid point below (ε = ℓ_{i−1}): A − e^{−Δ}·B. Once it exceeds δ (or ε would drop below 0), the crossing is in this interval.
    if (mass - shrink * weighted > delta || loss - pld.step < 0) {
      const epsilon = weighted > 0 ? loss + Math.log((mass - delta) / weighted) : loss;
      return Math.max(0, Math.min(loss, epsilon));
    }
  }
  return 0;
}
