/**
 * The SMPC work an owner does alone: fixed-precision encoding and decoding, splitting a
 * value into shares for the owners, share-wise linear ops, and handing a share to `me`.
 * Each is an engine task (engine.ts): it waits until the shares it needs have arrived.
 */
import * as tf from '@tensorflow/tfjs';
import type { SmpcCommand } from '../../messages/index.js';
import { failedInput } from '../handlers/compute.js';
import { authorizeRelease } from '../handlers/objects.js';
import { FailedResult } from '../object-store.js';
import type { RequestRef } from '../worker-mail.js';
import type { Turn } from '../worker-state.js';
import { assertFederationParties, type SmpcEngine, type SmpcTask, labelOf, ringInput, storeResult, tensorInput } from './engine.js';
import { approximately, contributionsToWire, isPrivate, linearCombination, ONE, sameAs, weight } from '../privacy/label.js';
import { toSigned } from './additive.js';
import { decodeFixedVector, encodeFixedVector, encodeFixedVectorSaturating, encodeIntegers, splitVector } from './ring-vector.js';
import { affine, combine, truncateLocal } from './ring-ops.js';
import { RingTensor, ringAsTensor } from './ring-tensor.js';
import { SmpcError } from './smpc-error.js';

type Command<K extends SmpcCommand['op']> = Extract<SmpcCommand, { op: K }>;

/** The holder's stream for splitting values into shares (under `actor/<id>/`). */
export const SHARE_STREAM = 'smpc/share';

/** round(x · base^precision) mod field, of a stored tensor. */
export class FixPrecisionTask implements SmpcTask {
  readonly resultId: string;
  constructor(private readonly cmd: Command<'fixPrecision'>, readonly requester: RequestRef) {
    this.resultId = cmd.resultId;
  }

  needs(): boolean {
    return false; // runs at once
  }

  advance(turn: Turn): boolean {
    const { worker } = turn;
    const { source, fixed } = this.cmd;
    const entry = tensorInput(worker, source, 'fixPrecision');
    if (entry.value instanceof RingTensor) throw new SmpcError('SmpcOpError', `fixPrecision on ${worker.id}: object ${source} is already a ring tensor (fixed precision or a share)`, { worker: worker.id, objectId: source });
    if (!(entry.value instanceof tf.Tensor)) throw ringAsTensor(worker.id, source, 'fixPrecision');
    const tensor = entry.value;
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
      throw new SmpcError('SmpcOpError', `fixPrecision on ${worker.id}: object ${source} is a ${tensor.dtype} tensor; only float32 and int32 tensors have a fixed-point form`, { worker: worker.id, objectId: source });
    }
    let values: BigUint64Array;
    try {
      const options = { ...fixed, field: BigInt(this.cmd.field) };
      // Private values never fail to encode (a failure would say that some value is out of range): they are clamped.
      values = isPrivate(entry.label) ? encodeFixedVectorSaturating(tensor.dataSync() as Float32Array, options) : encodeFixedVector(tensor.dataSync() as Float32Array, options);
    } catch (error) {
      throw new SmpcError('SmpcOpError', `fixPrecision of object ${source} on ${worker.id}: ${(error as Error).message}; lower precisionFractional or use a larger field`, { worker: worker.id, objectId: source });
    }
    // The encoded value stays as private as the tensor it came from; rounded (and clamped), it is a new value of the same parts.
    storeResult(worker, this.resultId, new RingTensor(values, [...tensor.shape], BigInt(this.cmd.field)), approximately(entry.label, ONE, worker.parts));
    return true;
  }
}

/** The float32 tensor a fixed-precision ring tensor stands for. */
export class FloatPrecisionTask implements SmpcTask {
  readonly resultId: string;
  constructor(private readonly cmd: Command<'floatPrecision'>, readonly requester: RequestRef) {
    this.resultId = cmd.resultId;
  }

  needs(id: string): boolean {
    return id === this.cmd.source;
  }

  advance(turn: Turn): boolean {
    const { worker } = turn;
    const ring = ringInput(worker, this.cmd.source, 'floatPrecision');
    if (!ring) return false;
    const decoded = decodeFixedVector(ring.values, { ...this.cmd.fixed, field: ring.field });
    storeResult(worker, this.resultId, tf.tensor(Float32Array.from(decoded), [...ring.shape], 'float32'), sameAs(labelOf(worker, this.cmd.source)));
    return true;
  }
}

/**
 * Splits a value this worker holds into one additive share per owner (its own stream
 * `actor/<id>/smpc/share`): its own share, if it is an owner, is stored; every other owner
 * gets one `smpc/share` message. If the value cannot be shared, every owner is told so.
 */
export class ShareTask implements SmpcTask {
  readonly resultId: string | null;
  constructor(private readonly cmd: Command<'share'>, readonly requester: RequestRef, self: string) {
    this.resultId = cmd.owners.includes(self) ? cmd.resultId : null;
  }

  needs(id: string): boolean {
    return id === this.cmd.source;
  }

  advance(turn: Turn): boolean {
    const { worker, mail } = turn;
    const { source, owners, resultId } = this.cmd;
    assertFederationParties(worker, owners, 'share');
    const field = BigInt(this.cmd.field);
    const entry = worker.store.get(source);
    if (!entry) return false; // a share or result still on its way here
    const { value } = entry;
    if (value instanceof FailedResult) throw failedInput(value, source, 'share');
    let ring: RingTensor;
    if (value instanceof RingTensor) {
      if (value.field !== field) throw new SmpcError('ShareError', `share on ${worker.id}: object ${source} lives mod ${value.field}, but sharing mod ${field} was asked`, { worker: worker.id, objectId: source });
      ring = value;
    } else if (value instanceof tf.Tensor && value.dtype === 'int32') {
      ring = new RingTensor(encodeIntegers(value.dataSync() as Int32Array, field), [...value.shape], field);
    } else if (value instanceof tf.Tensor) {
      throw new SmpcError(
        'ShareError',
        `share on ${worker.id}: object ${source} is a ${value.dtype} tensor, and additive shares are integers. ` +
          'Encode it in fixed precision first — ptr.fixPrecision().share(...), as PySyft\'s x.fix_precision().share(...).',
        { worker: worker.id, objectId: source, op: 'share' },
      );
    } else {
      throw new SmpcError('ShareError', `share on ${worker.id}: object ${source} is a ${value.kind}, not a tensor or fixed-precision value`, { worker: worker.id, objectId: source, op: 'share' });
    }
    const shares = splitVector(ring.values, owners.length, turn.io.rng(SHARE_STREAM), field);
    // Every share is as private as the value: it carries the value's label to its owner.
    const label = sameAs(entry.label);
    const carried = label.allowedUsers === null ? {} : { allowedUsers: [...label.allowedUsers], contributions: contributionsToWire(label.contributions) };
    owners.forEach((owner, i) => {
      const share = new RingTensor(shares[i], [...ring.shape], field);
      if (owner === worker.id) storeResult(worker, resultId, share, label);
      else mail.send(owner, 'smpc/share', { id: resultId, share: share.toWire(), ...carried });
    });
    return true;
  }

  onFailure(turn: Turn, error: unknown): void {
    const { name, message } = error as Error;
    for (const owner of this.cmd.owners) {
      if (owner !== turn.worker.id) turn.mail.send(owner, 'smpc/share', { id: this.cmd.resultId, failed: { name, message, where: { worker: turn.worker.id, objectId: this.cmd.source, op: 'share' } } });
    }
  }
}

/** Share-wise Σ ± x_i, k·x + offset, or two-party local truncation. */
export class LocalOpTask implements SmpcTask {
  readonly resultId: string;
  constructor(private readonly cmd: Command<'combine' | 'affine' | 'truncateLocal'>, readonly requester: RequestRef) {
    this.resultId = cmd.resultId;
  }

  needs(id: string): boolean {
    return this.cmd.op === 'combine' ? this.cmd.terms.some((t) => t.id === id) : id === this.cmd.source;
  }

  advance(turn: Turn): boolean {
    const { worker } = turn;
    const cmd = this.cmd;
    const what = `${cmd.op} on ${worker.id} (result ${cmd.resultId})`;
    if (cmd.op === 'combine') {
      const terms = cmd.terms.map((t) => ({ tensor: ringInput(worker, t.id, cmd.op), sign: t.sign }));
      if (terms.some((t) => !t.tensor)) return false;
      const label = linearCombination(cmd.terms.map((t) => ({ label: labelOf(worker, t.id), scale: weight(BigInt(t.sign)) })));
      storeResult(worker, this.resultId, combine(terms as Array<{ tensor: RingTensor; sign: 1 | -1 }>, what), label);
      return true;
    }
    const x = ringInput(worker, cmd.source, cmd.op);
    if (!x) return false;
    const source = labelOf(worker, cmd.source);
    if (cmd.op === 'affine') {
      const offset = cmd.offset ? RingTensor.fromWire(cmd.offset, what) : undefined;
      const scalar = BigInt(cmd.scalar) % x.field;
      // k·x + public: the contributions scaled by k (read as a signed number: Q − 1 is −1).
      storeResult(worker, this.resultId, affine(x, scalar, offset, what), linearCombination([{ label: source, scale: weight(toSigned(scalar, x.field)) }]));
    } else {
      const scalar = cmd.scalar === undefined ? 1n : BigInt(cmd.scalar) % x.field;
      const scaled = cmd.scalar === undefined ? x : affine(x, scalar, undefined, what);
      // Rounded, and wrapped around the ring when scalar·x overflows: a new value of the same parts, never an exact multiple.
      const label = approximately(source, weight(toSigned(scalar, x.field), BigInt(cmd.divisor)), worker.parts);
      storeResult(worker, this.resultId, truncateLocal(scaled, BigInt(cmd.divisor)), label);
    }
    return true;
  }
}

/** Hands share `id` to whoever asked (and forgets it, as PySyft's get), once it exists. */
export class GetShareTask implements SmpcTask {
  readonly resultId = null;
  constructor(private readonly id: string, readonly requester: RequestRef) {}

  needs(): boolean {
    return false; // it takes the share; nothing after it may use it
  }

  advance(turn: Turn, engine: SmpcEngine): boolean {
    const { worker, mail } = turn;
    const entry = worker.store.get(this.id);
    // Work asked for before this get (and still waiting) uses the share first.
    if (!entry || engine.neededBefore(this, this.id)) return false;
    if (entry.value instanceof FailedResult) {
      worker.store.delete(this.id);
      mail.fail(this.requester, entry.value.error);
      return true;
    }
    const ring = ringInput(worker, this.id, 'get')!;
    authorizeRelease(turn, entry, this.requester.from, 'get');
    worker.store.take(this.id);
    mail.reply(this.requester, { kind: 'ring', id: this.id, value: ring.toWire() });
    return true;
  }
}

/** Queues the task a command asks for (the deal goes to the dealer, see dealer.ts). */
export function commandTask(cmd: Exclude<SmpcCommand, { op: 'deal' | 'beaver' | 'truncate' }>, requester: RequestRef, self: string): SmpcTask {
  switch (cmd.op) {
    case 'fixPrecision':
      return new FixPrecisionTask(cmd, requester);
    case 'floatPrecision':
      return new FloatPrecisionTask(cmd, requester);
    case 'share':
      return new ShareTask(cmd, requester, self);
    default:
      return new LocalOpTask(cmd, requester);
  }
}
