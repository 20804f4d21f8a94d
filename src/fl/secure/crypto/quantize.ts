/**
 * SecAgg+ quantisation and modular vector arithmetic, following Flower's SecAggPlusWorkflow
 * (`flwr.common.secure_aggregation.quantization`).
 *
 * Masking works on integers mod m, so each client maps its float update to [0, T] first:
 *
 *   q = stochasticRound((clip(x, -c, c) + c) · T / (2c))          (quantize)
 *   x̂ = q · 2c / T - c                                              (dequantize, one client)
 *
 * Stochastic rounding (round up with probability equal to the fractional part, as Flower's
 * `_stochastic_round`) makes the quantiser unbiased: E[x̂] = clip(x). We take the uniform
 * draws from a caller-supplied seeded stream (one `next()` per element, always, so the
 * stream's consumption does not depend on the values) instead of NumPy's global RNG.
 *
 * Error bound, with step = 2c / T:  |x̂ - clip(x)| < step for every element (the rounding moves
 * by less than one quantum), plus double-precision noise (~1e-16 · c). Clipping itself is
 * *not* counted: values outside [-c, c] lose |x| - c on purpose.
 *
 * Sums. The server unmasks Σ q_i mod m. Each q_i carries the +c offset, so the sum of k
 * vectors carries k·c: x̂_sum = S · 2c / T - k·c. Flower writes this as `dequantize(S)` (which
 * subtracts c once) followed by `offset = -(k - 1) · c`; `dequantize(S, c, T, k)` here does both.
 * The error of the sum is < k · step (and its standard deviation ≤ √k · step / 2). This is
 * only correct if no wrap-around happened: k · T < m is required (see `maxClientsForModulus`).
 */
import type { RandomStream } from '../../../runtime/rng.js';
import { FlConfigError } from '../../errors.js';

/** Largest m for the mod ops: operands and results must fit a Uint32Array. */
const MAX_MODULUS = 2 ** 32;

type FloatVector = Float32Array | Float64Array | readonly number[];

/** Clip to [-c, c], scale to [0, T] and round stochastically. T must be an integer in [1, 2^32 - 1]. */
export function quantize(
  values: FloatVector,
  clippingRange: number,
  targetRange: number,
  rng: RandomStream,
): Uint32Array {
  checkRanges(clippingRange, targetRange);
  const scale = targetRange / (2 * clippingRange);
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) {
      throw new FlConfigError(`quantize: value ${i} is NaN, which has no quantised value; an update with NaN means training diverged (lower the learning rate)`, { op: 'quantize', field: 'values', index: i });
    }
    const v = (Math.min(clippingRange, Math.max(-clippingRange, x)) + clippingRange) * scale;
    const floor = Math.floor(v);
    const q = rng.next() < v - floor ? floor + 1 : floor;
    // v can exceed T by an ulp (c + c)·T/(2c); never let that become T + 1.
    out[i] = q > targetRange ? targetRange : q < 0 ? 0 : q;
  }
  return out;
}

/**
 * Maps a quantised vector — or the unmasked sum of `numClients` quantised vectors — back to
 * floats: q · 2c / T - numClients · c. Returns float64 so the sum of many clients keeps its
 * precision; narrow to float32 at the model boundary if needed.
 */
export function dequantize(
  quantized: Uint32Array | readonly number[],
  clippingRange: number,
  targetRange: number,
  numClients = 1,
): Float64Array {
  checkRanges(clippingRange, targetRange);
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new FlConfigError(`dequantize: numClients must be a positive integer, got ${numClients}; pass how many clients' vectors the sum holds`, { op: 'dequantize', field: 'numClients' });
  }
  const step = (2 * clippingRange) / targetRange;
  const offset = numClients * clippingRange;
  const out = new Float64Array(quantized.length);
  for (let i = 0; i < quantized.length; i++) out[i] = quantized[i] * step - offset;
  return out;
}

/** The quantisation step 2c / T (the per-element error bound of one client). */
export function quantizationStep(clippingRange: number, targetRange: number): number {
  checkRanges(clippingRange, targetRange);
  return (2 * clippingRange) / targetRange;
}

/** How many clients' quantised vectors can be summed mod m without wrap-around: k · T < m. */
export function maxClientsForModulus(targetRange: number, modulus: number): number {
  checkModulus(modulus);
  return Math.floor((modulus - 1) / targetRange);
}

/** (a + b) mod m element-wise, into a new vector. m ≤ 2^32; inputs need not be reduced. */
export function addMod(a: Uint32Array, b: Uint32Array, modulus: number): Uint32Array {
  return addModInPlace(Uint32Array.from(a), b, modulus);
}

/** (a - b) mod m element-wise, into a new vector (the result is in [0, m)). */
export function subMod(a: Uint32Array, b: Uint32Array, modulus: number): Uint32Array {
  return subModInPlace(Uint32Array.from(a), b, modulus);
}

/** acc ← (acc + b) mod m; returns acc. Saves an allocation per client when the server sums. */
export function addModInPlace(acc: Uint32Array, b: Uint32Array, modulus: number): Uint32Array {
  checkPair(acc, b, modulus);
  // acc[i] + b[i] < 2^33 is exact in a double, so % is exact for any m ≤ 2^32.
  for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + b[i]) % modulus;
  return acc;
}

/** acc ← (acc - b) mod m; returns acc. */
export function subModInPlace(acc: Uint32Array, b: Uint32Array, modulus: number): Uint32Array {
  checkPair(acc, b, modulus);
  for (let i = 0; i < acc.length; i++) acc[i] = ((acc[i] % modulus) - (b[i] % modulus) + modulus) % modulus;
  return acc;
}

function checkRanges(clippingRange: number, targetRange: number): void {
  if (!(clippingRange > 0) || !Number.isFinite(clippingRange)) {
    throw new FlConfigError(`clippingRange must be a positive finite number, got ${clippingRange}; Flower's default is 8`, { field: 'clippingRange' });
  }
  if (!Number.isInteger(targetRange) || targetRange < 1 || targetRange >= MAX_MODULUS) {
    throw new FlConfigError(`targetRange must be an integer in [1, 2^32 - 1], got ${targetRange}; Flower's default quantisation range is 4194304 (2^22)`, { field: 'targetRange' });
  }
}

function checkModulus(modulus: number): void {
  if (!Number.isInteger(modulus) || modulus < 2 || modulus > MAX_MODULUS) {
    throw new FlConfigError(`modulus must be an integer in [2, 2^32], got ${modulus}; Flower's default modulus range is 2^32`, { field: 'modulus' });
  }
}

function checkPair(a: Uint32Array, b: Uint32Array, modulus: number): void {
  checkModulus(modulus);
  if (a.length !== b.length) throw new FlConfigError(`modular vector arithmetic: vector lengths differ: ${a.length} vs ${b.length}; both vectors must hold the same model's values`, { field: 'b' });
}
