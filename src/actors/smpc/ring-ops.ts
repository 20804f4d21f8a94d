/**
 * Local share arithmetic on ring tensors: what one owner computes on its own shares
 * without talking to anyone. Linear maps of additive shares are shares of the linear map,
 * so Σ ± x_i, k·x and x + public (added by one owner only) need no protocol.
 *
 * Everything is exact mod Q; operands must have the same shape and the same modulus
 * (SmpcOpError otherwise, naming both).
 */
import { RING_2_64, reducer, toSigned } from './additive.js';
import { floorDiv } from './beaver.js';
import { RingTensor } from './ring-tensor.js';
import { SmpcError } from './smpc-error.js';

export const toBigints = (values: BigUint64Array): bigint[] => Array.from(values);
export const fromBigints = (values: readonly bigint[]): BigUint64Array => BigUint64Array.from(values);

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkCompatible(a: RingTensor, b: RingTensor, what: string): void {
  if (a.field !== b.field) throw new SmpcError('SmpcOpError', `${what}: operands live in different rings (mod ${a.field} and mod ${b.field}); share both with the same field`);
  if (!sameShape(a.shape, b.shape)) throw new SmpcError('SmpcOpError', `${what}: shapes [${a.shape}] and [${b.shape}] differ; shared values combine element by element, without broadcasting`);
}

/** Σ sign_i · x_i (mod Q). */
export function combine(terms: ReadonlyArray<{ tensor: RingTensor; sign: 1 | -1 }>, what: string): RingTensor {
  const first = terms[0].tensor;
  for (const { tensor } of terms) checkCompatible(first, tensor, what);
  const { field } = first;
  const out = new BigUint64Array(first.size);
  const wrap = field === RING_2_64;
  for (const { tensor, sign } of terms) {
    const v = tensor.values;
    if (wrap) {
      // BigUint64Array stores mod 2^64 by itself.
      if (sign === 1) for (let i = 0; i < out.length; i++) out[i] = out[i] + v[i];
      else for (let i = 0; i < out.length; i++) out[i] = out[i] - v[i];
    } else if (sign === 1) {
      for (let i = 0; i < out.length; i++) out[i] = (out[i] + v[i]) % field;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = (out[i] + field - v[i]) % field;
    }
  }
  return new RingTensor(out, [...first.shape], field);
}

/** scalar · x + offset (mod Q); `offset` is a public value one owner adds. */
export function affine(x: RingTensor, scalar: bigint, offset: RingTensor | undefined, what: string): RingTensor {
  if (offset) checkCompatible(x, offset, what);
  const mod = reducer(x.field);
  const out = new BigUint64Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = mod(scalar * x.values[i] + (offset ? offset.values[i] : 0n));
  return new RingTensor(out, [...x.shape], x.field);
}

/**
 * PySyft 0.2's local truncation (SecureML): each of exactly two owners divides its own
 * share, read as a signed number, by `divisor`. Correct up to one unit except with
 * probability ≈ 2|x| / Q (see beaver.ts's truncateSharesLocal).
 */
export function truncateLocal(x: RingTensor, divisor: bigint): RingTensor {
  const mod = reducer(x.field);
  const out = new BigUint64Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = mod(floorDiv(toSigned(x.values[i], x.field), divisor));
  return new RingTensor(out, [...x.shape], x.field);
}

/** (m × k) @ (k × n) mod Q, row-major bigint vectors. */
export function matMulMod(a: readonly bigint[], b: readonly bigint[], m: number, k: number, n: number, field: bigint): bigint[] {
  const mod = reducer(field);
  const out: bigint[] = new Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0n;
      for (let t = 0; t < k; t++) acc += a[i * k + t] * b[t * n + j];
      out[i * n + j] = mod(acc);
    }
  }
  return out;
}

/** The dimensions of x @ y for two matrices, or an SmpcOpError saying why they do not multiply. */
export function matMulDims(xShape: readonly number[], yShape: readonly number[], what: string): { m: number; k: number; n: number } {
  if (xShape.length !== 2 || yShape.length !== 2) throw new SmpcError('SmpcOpError', `${what}: matMul needs two matrices, got shapes [${xShape}] and [${yShape}]`);
  if (xShape[1] !== yShape[0]) throw new SmpcError('SmpcOpError', `${what}: inner dimensions differ: [${xShape}] @ [${yShape}]`);
  return { m: xShape[0], k: xShape[1], n: yShape[1] };
}
