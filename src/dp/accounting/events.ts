/**
 * What one step of a private mechanism is, as the accountant sees it (the "DpEvent" of
 * Google's dp_accounting, reduced to what fedsim runs). Sensitivity is 1 throughout: a
 * mechanism with L2 sensitivity C and noise of standard deviation s has noiseMultiplier s/C.
 *
 * The neighbouring relation is add-or-remove-one (one record, or one client's whole
 * contribution, is present or absent), which is what Poisson sampling's amplification
 * bound (Mironov, Talwar, Zhang 2019) is stated for.
 */
import { DpConfigError } from '../errors.js';
import { checkName, checkNoiseMultiplier, checkOrders, checkSamplingRate } from './parameter-checks.js';

export type DpEvent =
  /** The Gaussian mechanism with noise std σ·sensitivity, every record present: RDP α/(2σ²). */
  | { readonly kind: 'gaussian'; readonly noiseMultiplier: number }
  /** Each record takes part independently with probability samplingRate, then the Gaussian mechanism on the sample. */
  | { readonly kind: 'poisson-sampled-gaussian'; readonly samplingRate: number; readonly noiseMultiplier: number }
  /**
   * Any mechanism whose RDP curve the caller computed (Skellam, the distributed discrete
   * Gaussian, …): rdp[i] is its Rényi DP at orders[i]. An accountant whose orders differ
   * uses, for each of its orders α, the curve's value at the smallest order ≥ α — a valid
   * bound because Rényi divergence never decreases with the order — and ∞ above the curve's
   * last order. Only the RDP accountant can compose it.
   */
  | { readonly kind: 'rdp-curve'; readonly name: string; readonly orders: readonly number[]; readonly rdp: readonly number[] };

export type DpEventKind = DpEvent['kind'];

export const DP_EVENT_KINDS: readonly DpEventKind[] = ['gaussian', 'poisson-sampled-gaussian', 'rdp-curve'];

/**
 * The event, checked and copied (frozen; no extra fields), or a DpConfigError naming the
 * field. `at` says where it was passed (e.g. "PrivacyAccountant.compose").
 */
export function checkDpEvent(event: unknown, at: string): DpEvent {
  if (typeof event !== 'object' || event === null) {
    throw new DpConfigError(`${at}: event must be an object { kind, … } (kinds: ${DP_EVENT_KINDS.join(', ')}), got ${String(event)}.`, { at, field: 'event', value: event });
  }
  const e = event as Record<string, unknown>;
  switch (e.kind) {
    case 'gaussian':
      onlyFields(e, ['kind', 'noiseMultiplier'], at);
      return Object.freeze({ kind: 'gaussian', noiseMultiplier: checkNoiseMultiplier(e.noiseMultiplier, at, 'event.noiseMultiplier') });
    case 'poisson-sampled-gaussian':
      onlyFields(e, ['kind', 'samplingRate', 'noiseMultiplier'], at);
      return Object.freeze({
        kind: 'poisson-sampled-gaussian',
        samplingRate: checkSamplingRate(e.samplingRate, at, 'event.samplingRate'),
        noiseMultiplier: checkNoiseMultiplier(e.noiseMultiplier, at, 'event.noiseMultiplier'),
      });
    case 'rdp-curve': {
      onlyFields(e, ['kind', 'name', 'orders', 'rdp'], at);
      const name = checkName(e.name, at, 'event.name');
      const orders = checkOrders(e.orders, at, 'event.orders');
      if (!Array.isArray(e.rdp) || e.rdp.length !== orders.length) {
        throw new DpConfigError(`${at}: event.rdp must be an array of ${orders.length} numbers, one per order in event.orders, got ${Array.isArray(e.rdp) ? `${e.rdp.length} values` : String(e.rdp)}.`, {
          at,
          field: 'event.rdp',
          value: e.rdp,
        });
      }
      const rdp = (e.rdp as unknown[]).map((value, i) => {
        // +∞ is allowed (the mechanism has no RDP bound at that order); NaN and negatives are not RDP values.
        if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
          throw new DpConfigError(`${at}: event.rdp[${i}] (order ${orders[i]}) must be a number ≥ 0 or Infinity, got ${String(value)}; Rényi divergences are never negative.`, {
            at,
            field: `event.rdp[${i}]`,
            value,
          });
        }
        return value;
      });
      return Object.freeze({ kind: 'rdp-curve', name, orders, rdp: Object.freeze(rdp) });
    }
    default:
      throw new DpConfigError(`${at}: event.kind must be one of ${DP_EVENT_KINDS.join(', ')}, got ${JSON.stringify(e.kind)}.`, { at, field: 'event.kind', value: e.kind });
  }
}

function onlyFields(e: Record<string, unknown>, allowed: readonly string[], at: string): void {
  const extra = Object.keys(e).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new DpConfigError(`${at}: a '${String(e.kind)}' event has the fields ${allowed.join(', ')}; unknown: ${extra.join(', ')} (a misspelt field would otherwise be accounted as absent).`, {
      at,
      field: `event.${extra[0]}`,
    });
  }
}

/** Two checked events are the same mechanism (used to merge repeats in the accountant's history). */
export function sameDpEvent(a: DpEvent, b: DpEvent): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'gaussian':
      return a.noiseMultiplier === (b as typeof a).noiseMultiplier;
    case 'poisson-sampled-gaussian':
      return a.samplingRate === (b as typeof a).samplingRate && a.noiseMultiplier === (b as typeof a).noiseMultiplier;
    case 'rdp-curve': {
      const c = b as typeof a;
      return a.name === c.name && a.orders.length === c.orders.length && a.orders.every((o, i) => o === c.orders[i] && a.rdp[i] === c.rdp[i]);
    }
  }
}
