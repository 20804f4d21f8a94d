/**
 * FixedPrecisionPointer: a fixed-precision value that lives on a worker
 * (`ptr.fixPrecision()` — PySyft's pointer to a FixedPrecisionTensor). It is how a
 * worker's own data gets shared without passing through `me`:
 *
 *   const shared = bobsWeights.fixPrecision().share(alice, carol);   // bob splits, alice and carol hold
 *
 * The worker encodes (and, on share(), splits with its own stream); `me` only names ids.
 */
import { inspect } from 'node:util';
import { FedsimError } from '../runtime/index.js';
import type { ReplyPayload, RingReply } from '../messages/index.js';
import type { AdditiveSharingTensor } from './additive-sharing-tensor.js';
import { type ShareTarget, shareRemotely } from './share.js';
import { Answer } from './answer.js';
import { PointerStateError } from './errors.js';
import { FixedPrecisionTensor, type FixedScale } from './fixed-precision-tensor.js';
import { PointerTensor } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';
import type { VirtualWorker } from './worker-handle.js';

export class FixedPrecisionPointer {
  private state: 'live' | 'fetched' | 'disposed' = 'live';

  constructor(
    readonly sim: Simulation,
    readonly location: VirtualWorker,
    readonly idAtLocation: string,
    readonly shape: readonly number[] | undefined,
    readonly fixed: FixedScale,
    readonly field: bigint,
  ) {}

  toString(): string {
    return `[FixedPrecisionPointer | ${this.sim.me.id} -> ${this.location.id}:${this.idAtLocation} (scale ${this.fixed.base}^${this.fixed.precisionFractional})]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private assertLive(op: string): void {
    if (this.state !== 'live') throw new PointerStateError(`${op}: ${this} can no longer be used: it was ${this.state === 'fetched' ? 'fetched with get()' : 'disposed'}.`);
  }

  /** Splits the value into additive shares on `owners`, drawn by the worker holding it; it need not be an owner. */
  share(...targets: ShareTarget[]): AdditiveSharingTensor<FixedPrecisionTensor> {
    this.assertLive('share');
    return shareRemotely(this.location, this.idAtLocation, this.shape, { fixed: this.fixed, field: this.field }, targets) as AdditiveSharingTensor<FixedPrecisionTensor>;
  }

  /** A pointer to the float32 tensor decoded on the worker (PySyft's `float_precision()`). */
  floatPrecision(): PointerTensor {
    this.assertLive('floatPrecision');
    const resultId = this.sim.nextId();
    this.sim.tell(this.location.id, 'smpc', { op: 'floatPrecision', source: this.idAtLocation, resultId, fixed: { ...this.fixed } });
    return new PointerTensor({ sim: this.sim, location: this.location, idAtLocation: resultId, ...(this.shape ? { shape: [...this.shape] } : {}), dtype: 'float32' });
  }

  /** Fetches the encoded value (and removes it from the worker). */
  get(): Answer<FixedPrecisionTensor> {
    this.assertLive('get');
    this.state = 'fetched';
    return new Answer(this.sim.ask(this.location.id, 'smpc/get', { id: this.idAtLocation }), (payload: ReplyPayload) => {
      if (payload.kind !== 'ring') throw new FedsimError(`get: ${this.location.id} answered '${payload.kind}' instead of object ${this.idAtLocation}.`);
      const { value } = payload as RingReply;
      return new FixedPrecisionTensor(value.values, value.shape, this.fixed.base, this.fixed.precisionFractional, this.field);
    });
  }

  dispose(): void {
    if (this.state !== 'live') return;
    this.state = 'disposed';
    this.sim.tell(this.location.id, 'delete', { ids: [this.idAtLocation] });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
