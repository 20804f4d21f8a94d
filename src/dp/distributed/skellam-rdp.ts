/**
 * Rényi DP of the Skellam mechanism, and of it run on a Poisson sample of clients.
 *
 * The mechanism (Agarwal, Kairouz, Xu 2021, "The Skellam Mechanism for Differentially
 * Private Federated Learning", Theorem 3.5 as their reference code states it): an integer
 * vector query with L2 sensitivity Δ₂ and L1 sensitivity Δ₁, plus independent Skellam noise
 * of variance V on every coordinate, satisfies (α, ε(α))-RDP for integer α ≥ 2 with
 *
 *   ε(α) = α·Δ₂² / (2V) + min( ((2α − 1)·Δ₂² + 6·Δ₁) / (4V²),  3·Δ₁ / (2V) ).
 *
 * (The paper writes it for Sk(μ, μ), whose variance is 2μ: αΔ₂²/(4μ) + min(((2α−1)Δ₂² +
 * 6Δ₁)/(16μ²), 3Δ₁/(4μ)).) The first term is the Gaussian mechanism's RDP at the same
 * variance; the second is the price of discreteness and vanishes as V grows.
 *
 * The sensitivities are those of ONE client's rounded, rotated, scaled vector — the
 * difference the presence of one client's data makes to the integer sum: Δ₂ = the
 * conditional-rounding bound B (rounding.ts), and, since its coordinates are integers,
 * Δ₁ ≤ Σ|v_j| ≤ Σ v_j² ≤ B² as well as Δ₁ ≤ √d·B (Cauchy–Schwarz).
 *
 * Only integer orders: the theorem is used as the reference code uses it (integer α), and
 * the subsampling bound below needs integer α. The accountant reads a curve at other orders
 * from the next integer order up (Rényi divergence is non-decreasing in α), so nothing is
 * lost but a little tightness.
 *
 * Client sampling (the released model's ε): Zhu & Wang 2019, "Poisson Subsampled Rényi
 * Differential Privacy" (ICML), Theorem 5 — the GENERAL upper bound, which holds for ANY
 * mechanism with the given RDP curve at integer orders (their tighter Theorem 6 needs a
 * condition on the mechanism that is proven for the Gaussian, not for Skellam, so it is not
 * used). For Poisson sampling with rate q and integer α ≥ 2:
 *
 *   ε'(α) ≤ 1/(α−1) · log( (1−q)^(α−1)·(αq − q + 1) + C(α,2)·q²·(1−q)^(α−2)·e^(ε(2))
 *                          + 3·Σ_{l=3..α} C(α,l)·(1−q)^(α−l)·q^l·e^((l−1)·ε(l)) ),
 *
 * and we take min(ε'(α), ε(α)): sampling never hurts (Rényi divergence is jointly
 * quasi-convex). The bound is stated for add/remove-one neighbours and a base mechanism
 * M(S) applied to the sample S — here M(S) = Σ_{i∈S} v_i + Sk(V) with the same V whatever
 * S is, which holds because each of the n clients of a round adds V/n (distributed-dp.ts
 * says what dropouts inside a round change).
 */
import type { DpEvent } from '../accounting/events.js';
import { logAddExp } from '../accounting/log-space.js';
import { DpConfigError } from '../errors.js';

/** The integer orders at which the curve is computed: those of the accountant's grid, rounded up to integers. */
export const SKELLAM_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 63 }, (_, i) => i + 2),
  80, 96, 112, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 2048, 4096,
]);

export interface SkellamSensitivity {
  /** Δ₂, in the integer domain. */
  l2: number;
  /** Δ₁, in the integer domain. */
  l1: number;
}

function check(at: string, field: string, value: number, ok: boolean, rule: string): void {
  if (!ok) throw new DpConfigError(`${at}: ${field} must be ${rule}, got ${value}.`, { at, field, value });
}

/** ε(α) of the Skellam mechanism with total noise variance `variance` (integer α ≥ 2). */
export function skellamRdp(order: number, sensitivity: SkellamSensitivity, variance: number): number {
  const at = 'skellamRdp';
  check(at, 'order', order, Number.isInteger(order) && order >= 2, 'an integer ≥ 2 (the bound is used at integer orders)');
  check(at, 'sensitivity.l2', sensitivity.l2, sensitivity.l2 >= 0 && Number.isFinite(sensitivity.l2), 'a finite number ≥ 0');
  check(at, 'sensitivity.l1', sensitivity.l1, sensitivity.l1 >= 0 && Number.isFinite(sensitivity.l1), 'a finite number ≥ 0');
  check(at, 'variance', variance, variance > 0 && Number.isFinite(variance), 'a finite number > 0 (no noise, no privacy)');
  const { l1, l2 } = sensitivity;
  const l2sq = l2 * l2;
  return (order * l2sq) / (2 * variance) + Math.min(((2 * order - 1) * l2sq + 6 * l1) / (4 * variance * variance), (3 * l1) / (2 * variance));
}

/** ln k! for k ≤ n, by summing logs (exact to a few ulps for the orders used). */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) out[k] = out[k - 1] + Math.log(k);
  return out;
}

const LOG_FACTORIAL = logFactorials(SKELLAM_ORDERS[SKELLAM_ORDERS.length - 1]);

function logBinomial(n: number, k: number): number {
  const table = n < LOG_FACTORIAL.length ? LOG_FACTORIAL : logFactorials(n);
  return table[n] - table[k] - table[n - k];
}

/** k·log x, with 0·log 0 = 0 (the (1 − q)^0 of q = 1). */
function timesLog(k: number, logX: number): number {
  return k === 0 ? 0 : k * logX;
}

/**
 * Zhu & Wang's general upper bound (Theorem 5) on the RDP at integer order α ≥ 2 of a
 * mechanism with RDP `rdpAt` run on a Poisson sample of rate q, min'd with the
 * unsampled RDP.
 */
export function poissonSubsampledRdp(order: number, samplingRate: number, rdpAt: (order: number) => number): number {
  const at = 'poissonSubsampledRdp';
  check(at, 'order', order, Number.isInteger(order) && order >= 2, 'an integer ≥ 2 (Zhu & Wang\'s bound is for integer orders)');
  check(at, 'samplingRate', samplingRate, samplingRate > 0 && samplingRate <= 1, 'in (0, 1]');
  const unsampled = rdpAt(order);
  if (samplingRate === 1) return unsampled;
  const logQ = Math.log(samplingRate);
  const log1mQ = Math.log1p(-samplingRate);
  const a = order;
  let sum = timesLog(a - 1, log1mQ) + Math.log(a * samplingRate - samplingRate + 1);
  sum = logAddExp(sum, logBinomial(a, 2) + 2 * logQ + timesLog(a - 2, log1mQ) + rdpAt(2));
  for (let l = 3; l <= a; l++) {
    sum = logAddExp(sum, Math.log(3) + logBinomial(a, l) + timesLog(a - l, log1mQ) + l * logQ + (l - 1) * rdpAt(l));
  }
  return Math.min(sum / (a - 1), unsampled);
}

/**
 * The RDP curve (at SKELLAM_ORDERS) of one round: Skellam noise of total variance
 * `variance` on a sum with these sensitivities; with `samplingRate` < 1, amplified by
 * Poisson sampling of clients at that rate.
 */
export function skellamRdpCurve(sensitivity: SkellamSensitivity, variance: number, samplingRate?: number): number[] {
  const cache = new Map<number, number>();
  const rdpAt = (order: number) => {
    let value = cache.get(order);
    if (value === undefined) cache.set(order, (value = skellamRdp(order, sensitivity, variance)));
    return value;
  };
  return SKELLAM_ORDERS.map((order) => (samplingRate === undefined ? rdpAt(order) : poissonSubsampledRdp(order, samplingRate, rdpAt)));
}

/** The accountant's event for one such round (kind 'rdp-curve'), named by its parameters. */
export function skellamRoundEvent(sensitivity: SkellamSensitivity, variance: number, samplingRate?: number): DpEvent {
  const q = samplingRate === undefined ? '' : `, q=${samplingRate}`;
  return {
    kind: 'rdp-curve',
    name: `skellam(l2=${sensitivity.l2}, l1=${sensitivity.l1}, variance=${variance}${q})`,
    orders: SKELLAM_ORDERS,
    rdp: skellamRdpCurve(sensitivity, variance, samplingRate),
  };
}
