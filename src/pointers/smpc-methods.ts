/**
 * PySyft's fixed-precision and sharing methods on tensors and pointers:
 *
 *   x.fixPrecision(options?)               local tensor → FixedPrecisionTensor (needs hook(tf))
 *   x.share(bob, alice, { cryptoProvider })   local int32 tensor → AdditiveSharingTensor (floats: fixPrecision() first)
 *   ptr.fixPrecision(options?)             remote tensor → FixedPrecisionPointer (encoded on its worker)
 *   ptr.share(bob, alice, …)               remote int32 tensor → AdditiveSharingTensor (split by its worker)
 *
 * The pointer methods are installed on PointerTensor's prototype when this module loads
 * (as remote-ops.ts installs the op methods); the tensor methods by hook(tf).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Rank } from '@tensorflow/tfjs-core/dist/types.js';
import { FedsimError } from '../runtime/index.js';
import { RING_2_64, encodeIntegers } from '../actors/index.js';
import type { AdditiveSharingTensor } from './additive-sharing-tensor.js';
import { type ShareOptions, type ShareTarget, shareLocally, shareRemotely } from './share.js';
import { FixedPrecisionPointer } from './fixed-precision-pointer.js';
import { type FixPrecisionOptions, FixedPrecisionTensor, resolveFixed } from './fixed-precision-tensor.js';
import { PointerTensor } from './pointer-tensor.js';
import { VirtualWorker } from './worker-handle.js';

declare module '@tensorflow/tfjs-core/dist/tensor.js' {
  interface Tensor<R extends Rank = Rank> {
    /** Encodes this tensor in fixed precision (PySyft's `fix_precision()`; needs `hook(tf)`). */
    fixPrecision(options?: FixPrecisionOptions): FixedPrecisionTensor;
    /** Splits this int32 tensor into additive shares on the owners (floats: `fixPrecision().share(…)`). */
    share(...targets: ShareTarget[]): AdditiveSharingTensor<tfjs.Tensor>;
  }
}

declare module './pointer-tensor.js' {
  interface PointerTensor<T> {
    /** Encodes the remote tensor in fixed precision, on its worker. */
    fixPrecision(options?: FixPrecisionOptions): FixedPrecisionPointer;
    /** Splits the remote int32 tensor into additive shares on the owners; its worker draws them and sends them on. */
    share(...targets: ShareTarget[]): AdditiveSharingTensor<tfjs.Tensor>;
  }
}

const FLOAT_WITHOUT_FIXED_PRECISION =
  'additive shares are integers, so a float tensor cannot be shared as it is. Encode it first: x.fixPrecision().share(bob, alice) — PySyft\'s x.fix_precision().share(bob, alice).';

function optionsOf(targets: readonly ShareTarget[]): ShareOptions {
  return (targets.find((t) => t !== undefined && !(t instanceof VirtualWorker)) ?? {}) as ShareOptions;
}

function tensorFixPrecision(this: tfjs.Tensor, options?: FixPrecisionOptions): FixedPrecisionTensor {
  return FixedPrecisionTensor.from(this, options);
}

function tensorShare(this: tfjs.Tensor, ...targets: ShareTarget[]): AdditiveSharingTensor<tfjs.Tensor> {
  if (this.dtype === 'float32') throw new TypeError(`share: ${FLOAT_WITHOUT_FIXED_PRECISION}`);
  if (this.dtype !== 'int32') throw new TypeError(`share: only int32 tensors (or fixed-precision values) can be shared, got ${this.dtype}.`);
  const field = optionsOf(targets).field ?? RING_2_64;
  const values = encodeIntegers(this.dataSync() as Int32Array, field);
  return shareLocally(values, this.shape, { fixed: null, field }, targets) as AdditiveSharingTensor<tfjs.Tensor>;
}

function pointerFixPrecision(this: PointerTensor, options?: FixPrecisionOptions): FixedPrecisionPointer {
  const { ref } = this.refFor('fixPrecision') as { ref: string };
  const { base, precisionFractional, field } = resolveFixed(options);
  if (this.dtype !== undefined && this.dtype !== 'float32' && this.dtype !== 'int32') throw new TypeError(`fixPrecision: ${this} points to a ${this.dtype} tensor; only float32 and int32 tensors have a fixed-point form.`);
  const resultId = this.sim.nextId();
  this.sim.tell(this.location.id, 'smpc', { op: 'fixPrecision', source: ref, resultId, fixed: { base, precisionFractional }, field: field.toString() });
  return new FixedPrecisionPointer(this.sim, this.location, resultId, this.shape ? [...this.shape] : undefined, { base, precisionFractional }, field);
}

function pointerShare(this: PointerTensor, ...targets: ShareTarget[]): AdditiveSharingTensor<tfjs.Tensor> {
  const { ref } = this.refFor('share') as { ref: string };
  if (this.dtype === 'float32') throw new TypeError(`share: ${this} points to a float32 tensor, and ${FLOAT_WITHOUT_FIXED_PRECISION.replace('x.', 'ptr.')}`);
  const field = optionsOf(targets).field ?? RING_2_64;
  return shareRemotely(this.location, ref, this.shape, { fixed: null, field }, targets) as AdditiveSharingTensor<tfjs.Tensor>;
}

for (const [name, value] of [
  ['fixPrecision', pointerFixPrecision],
  ['share', pointerShare],
] as const) {
  Object.defineProperty(PointerTensor.prototype, name, { value, writable: true, configurable: true, enumerable: false });
}

/** Adds fixPrecision() and share() to tfjs tensors (called by hook(tf)); a foreign method of that name is not overwritten. */
export function installTensorSmpcMethods(tf: typeof tfjs): void {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  for (const [name, value] of [
    ['fixPrecision', tensorFixPrecision],
    ['share', tensorShare],
  ] as const) {
    if (proto[name] === value) continue;
    if (proto[name] !== undefined) throw new FedsimError(`hook(tf): tf.Tensor already has a different \`${name}\` method (another library hooked tfjs?); fedsim will not overwrite it.`);
    Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
