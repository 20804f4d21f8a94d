/**
 * From an RDP curve to (ε, δ)-DP.
 *
 * A mechanism that is (α, ρ)-RDP is (ε, δ)-DP for
 *
 *     ε = ρ + log((α − 1)/α) − (log δ + log α)/(α − 1)
 *
 * (Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis testing interpretations and Rényi
 * differential privacy", Theorem 21; Canonne, Kamath, Steinke 2020, "The discrete Gaussian
 * for differential privacy", Proposition 12 — the same bound, solved for δ:
 * δ = exp((α − 1)(ρ − ε)) · (α − 1)^{α−1} / α^α). It is never worse than Mironov's
 * original ε = ρ + log(1/δ)/(α − 1) (the two extra terms are negative), which older
 * TF Privacy releases used; see CLASSIC below. Each order gives a valid bound, so the best
 * is the minimum over the orders, and the order attaining it is reported.
 *
 * A second bound covers the cases where ρ is tiny: Rényi divergence grows with the order,
 * so ρ bounds the KL divergence, and total variation ≤ sqrt(1 − e^{−KL})
 * (Bretagnolle–Huber); total variation ≤ δ is exactly (0, δ)-DP. So δ ≥ sqrt(1 − e^{−ρ})
 * gives ε = 0 — as dp_accounting does.
 */
import { checkDelta, checkEpsilon } from './parameter-checks.js';

export interface RdpCurve {
  readonly orders: readonly number[];
  readonly rdp: readonly number[];
}

/** ε and the order that gave it (undefined when no order gives a finite ε, or when ε = 0: then no order is needed). */
export interface EpsilonAtOrder {
  epsilon: number;
  order: number | undefined;
}

export interface DeltaAtOrder {
  delta: number;
  order: number | undefined;
}

/** ε at one order by the tight conversion (Balle et al. 2020, Thm 21); ρ may be +∞. */
export function epsilonAtOrder(order: number, rdp: number, delta: number): number {
  if (rdp === Infinity) return Infinity;
  const rho = Math.max(0, rdp);
  // The KL route: δ² ≥ 1 − e^{−ρ} ⇒ (0, δ)-DP.
  if (delta * delta + Math.expm1(-rho) >= 0) return 0;
  return Math.max(0, rho + Math.log1p(-1 / order) - (Math.log(delta) + Math.log(order)) / (order - 1));
}

/** log δ at one order for a given ε: the smaller of the tight conversion and the KL bound. */
export function logDeltaAtOrder(order: number, rdp: number, epsilon: number): number {
  if (rdp === Infinity) return 0;
  const rho = Math.max(0, rdp);
  const viaKl = rho === 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-rho));
  const viaRdp = (order - 1) * (rho - epsilon + Math.log1p(-1 / order)) - Math.log(order);
  return Math.min(0, viaKl, viaRdp);
}

/** The smallest ε over the curve's orders at which the mechanism is (ε, δ)-DP. */
export function epsilonFromRdp(curve: RdpCurve, delta: number): EpsilonAtOrder {
  checkDelta(delta, 'epsilonFromRdp');
  let best: EpsilonAtOrder = { epsilon: Infinity, order: undefined };
  curve.orders.forEach((order, i) => {
    const epsilon = epsilonAtOrder(order, curve.rdp[i], delta);
    if (epsilon < best.epsilon) best = { epsilon, order };
  });
  return best.epsilon === 0 ? { epsilon: 0, order: undefined } : best;
}

/** The smallest δ over the curve's orders at which the mechanism is (ε, δ)-DP (1 if no order bounds it). */
export function deltaFromRdp(curve: RdpCurve, epsilon: number): DeltaAtOrder {
  checkEpsilon(epsilon, 'deltaFromRdp');
  let bestLog = 0;
  let order: number | undefined;
  curve.orders.forEach((alpha, i) => {
    const logDelta = logDeltaAtOrder(alpha, curve.rdp[i], epsilon);
    if (logDelta < bestLog) {
      bestLog = logDelta;
      order = alpha;
    }
  });
  return { delta: Math.exp(bestLog), order };
}

/**
 * Mironov 2017's original conversion ε = ρ + log(1/δ)/(α − 1) (RDP paper, Proposition 3),
 * as TF Privacy printed it before 2020. Kept to compare with published figures of that time;
 * the accountant itself always uses the tight conversion.
 */
export function classicEpsilonFromRdp(curve: RdpCurve, delta: number): EpsilonAtOrder {
  checkDelta(delta, 'classicEpsilonFromRdp');
  let best: EpsilonAtOrder = { epsilon: Infinity, order: undefined };
  curve.orders.forEach((order, i) => {
    const epsilon = curve.rdp[i] - Math.log(delta) / (order - 1);
    if (epsilon < best.epsilon) best = { epsilon, order };
  });
  return best;
}
