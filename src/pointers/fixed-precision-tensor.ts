/**
 * FixedPrecisionTensor: a tensor of reals encoded as integers mod Q, here on `me`
 * (PySyft 0.2's `x.fix_precision()` / `x.float_precision()`).
 *
 *   const x = tf.tensor([0.1, 0.2, 0.3]).fixPrecision();   // round(x · 10^3) in Z_2^64
 *   const shared = x.share(bob, alice, { cryptoProvider: james });
 *   (await shared.mul(shared).get()).floatPrecision().print();   // [0.01, 0.04, 0.09]
 *
 * Values are round(x · base^precisionFractional) (PySyft truncates; rounding halves the
 * error, ≤ 0.5 / base^precisionFractional per value), negatives as Q − |x̃|.
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FedsimError } from '../runtime/index.js';
import { RING_2_64, decodeFixedVector, encodeFixedVector, toSigned } from '../actors/index.js';
import type { AdditiveSharingTensor } from './additive-sharing-tensor.js';
import { type ShareTarget, shareLocally } from './share.js';

export interface FixPrecisionOptions {
  /** Integer base of the scale (PySyft's default 10). */
  base?: number;
  /** Fractional digits in that base (PySyft's default 3). */
  precisionFractional?: number;
  /** The modulus Q, at most 2^64 (default 2^64, PySyft 0.2's int64 ring). */
  field?: bigint;
}

/** The fixed-point scale of a fixed-precision value. */
export interface FixedScale {
  base: number;
  precisionFractional: number;
}

export function resolveFixed(options: FixPrecisionOptions = {}): FixedScale & { field: bigint } {
  const base = options.base ?? 10;
  const precisionFractional = options.precisionFractional ?? 3;
  const field = options.field ?? RING_2_64;
  if (!Number.isInteger(base) || base < 2) throw new RangeError(`fixPrecision: base must be an integer ≥ 2, got ${base}`);
  if (!Number.isInteger(precisionFractional) || precisionFractional < 0 || precisionFractional > 18) {
    throw new RangeError(`fixPrecision: precisionFractional must be an integer in 0..18, got ${precisionFractional}`);
  }
  if (typeof field !== 'bigint' || field < 2n || field > RING_2_64) throw new RangeError(`fixPrecision: field must be a bigint in [2, 2^64], got ${String(field)}`);
  return { base, precisionFractional, field };
}

export class FixedPrecisionTensor {
  constructor(
    /** The encoded values, in [0, field). */
    readonly values: BigUint64Array,
    readonly shape: readonly number[],
    readonly base: number,
    readonly precisionFractional: number,
    readonly field: bigint = RING_2_64,
  ) {}

  /** Encodes a float32 or int32 tensor (PySyft's `x.fix_precision()`). */
  static from(tensor: tf.Tensor, options: FixPrecisionOptions = {}): FixedPrecisionTensor {
    if (tensor.isDisposed) throw new FedsimError('fixPrecision: the tensor is disposed; encode it before disposing it.');
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new TypeError(`fixPrecision: only float32 and int32 tensors have a fixed-point form, got ${tensor.dtype}.`);
    const { base, precisionFractional, field } = resolveFixed(options);
    const values = encodeFixedVector(tensor.dataSync() as Float32Array, { base, precisionFractional, field });
    return new FixedPrecisionTensor(values, [...tensor.shape], base, precisionFractional, field);
  }

  get scale(): FixedScale {
    return { base: this.base, precisionFractional: this.precisionFractional };
  }

  /** The float32 tensor these values stand for (PySyft's `float_precision()`). */
  floatPrecision(): tf.Tensor {
    const decoded = decodeFixedVector(this.values, { base: this.base, precisionFractional: this.precisionFractional, field: this.field });
    return tf.tensor(Float32Array.from(decoded), [...this.shape], 'float32');
  }

  /**
   * Splits the value into additive shares, one per owner (`x.share(bob, alice, { cryptoProvider: james })`):
   * the shares are drawn here, from the stream `me/smpc/share`, and each owner is sent its own.
   */
  share(...targets: ShareTarget[]): AdditiveSharingTensor<FixedPrecisionTensor> {
    return shareLocally(this.values, this.shape, { fixed: this.scale, field: this.field }, targets) as AdditiveSharingTensor<FixedPrecisionTensor>;
  }

  toString(): string {
    const flat = Array.from(this.values, (v) => toSigned(v, this.field).toString());
    return `FixedPrecisionTensor>tensor([${flat.join(', ')}]) (shape [${this.shape}], scale ${this.base}^${this.precisionFractional})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
