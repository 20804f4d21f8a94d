/**
 * The checks every accounting entry point applies to its numbers, so a bad value is refused
 * the same way wherever it enters (an event, a δ, an ε, a count, an order): a DpConfigError
 * that names the parameter, where it was passed, the value and the valid range.
 *
 * NaN and ±Infinity are refused explicitly: every comparison with NaN is false, so a check
 * written as `if (sigma <= 0) throw` would let NaN through and poison the whole RDP curve.
 */
import { DpConfigError } from '../errors.js';

function show(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function refuse(at: string, field: string, value: unknown, rule: string, hint?: string): never {
  throw new DpConfigError(`${at}: ${field} must be ${rule}, got ${show(value)}${hint ? `; ${hint}` : ''}.`, { at, field, value });
}

/** A finite number > 0 (a noise multiplier). */
export function checkNoiseMultiplier(value: unknown, at: string, field = 'noiseMultiplier'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    refuse(at, field, value, 'a finite number > 0', 'it is the ratio of the noise standard deviation to the L2 sensitivity (σ = 0 would be no privacy at all)');
  }
  return value;
}

/** A sampling probability in (0, 1]: 1 means every record (client) takes part in every step. */
export function checkSamplingRate(value: unknown, at: string, field = 'samplingRate'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    refuse(at, field, value, 'a number in (0, 1]', 'it is the probability that one record takes part in a step (1 = no sampling); a step that samples nobody needs no accounting');
  }
  return value;
}

/** δ in (0, 1): δ = 0 would need pure DP, which no Gaussian mechanism gives; δ ≥ 1 promises nothing. */
export function checkDelta(value: unknown, at: string, field = 'delta'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    refuse(at, field, value, 'a number in (0, 1)', 'use e.g. 1e-5, well below 1/(number of records or clients)');
  }
  return value;
}

/** ε ≥ 0 and finite. */
export function checkEpsilon(value: unknown, at: string, field = 'epsilon'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) refuse(at, field, value, 'a finite number ≥ 0');
  return value;
}

/** A repetition count: an integer ≥ 0 (0 composes nothing). */
export function checkCount(value: unknown, at: string, field = 'count'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) refuse(at, field, value, 'an integer ≥ 0', 'it is how many times the event repeats');
  return value;
}

/** An RDP order α: finite and > 1 (the conversion to (ε, δ) divides by α − 1). */
export function checkOrder(value: unknown, at: string, field = 'order'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 1) refuse(at, field, value, 'a finite number > 1', 'Rényi DP orders used for (ε, δ) accounting lie above 1');
  return value;
}

/** A list of RDP orders: non-empty, each > 1 and finite, strictly increasing (so the accountant's rdp[i] pairs with orders[i] without ambiguity). */
export function checkOrders(value: unknown, at: string, field = 'orders'): readonly number[] {
  if (!Array.isArray(value) || value.length === 0) refuse(at, field, value, 'a non-empty array of numbers > 1');
  const orders = value as unknown[];
  orders.forEach((order, i) => checkOrder(order, at, `${field}[${i}]`));
  for (let i = 1; i < orders.length; i++) {
    if ((orders[i] as number) <= (orders[i - 1] as number)) {
      refuse(at, `${field}[${i}]`, orders[i], `greater than ${field}[${i - 1}] = ${show(orders[i - 1])}`, 'list the orders in strictly increasing order, without repeats');
    }
  }
  return Object.freeze([...(orders as number[])]);
}

/** A non-empty name (of an rdp-curve event). */
export function checkName(value: unknown, at: string, field = 'name'): string {
  if (typeof value !== 'string' || value.trim() === '') refuse(at, field, value, 'a non-empty string', 'name the mechanism whose RDP this is (e.g. "skellam")');
  return value;
}
