/**
 * An integer tensor mod Q in a worker's object store: one owner's additive share of a
 * secret, or a fixed-precision value not yet shared (PySyft 0.2 kept both as LongTensors).
 *
 * The worker does not know which: the meaning — who holds the other shares, the
 * fixed-point scale — lives in the AdditiveSharingTensor / FixedPrecisionPointer that
 * `me` holds. Values are 64-bit words in [0, Q), Q ≤ 2^64; a RingTensor is never mutated.
 */
import { publicFacts, type RingWire, WorkerError } from '../../messages/index.js';
import { RING_2_64, toSigned } from './additive.js';
import { checkWordField } from './ring-vector.js';
import { SmpcError } from './smpc-error.js';

export class RingTensor {
  readonly kind = 'ring';

  constructor(
    readonly values: BigUint64Array,
    readonly shape: readonly number[],
    readonly field: bigint = RING_2_64,
  ) {}

  get size(): number {
    return this.values.length;
  }

  /** A checked RingTensor from a message (the sender is not trusted to have sent [0, Q) values of the right count). */
  static fromWire(wire: RingWire, where: string): RingTensor {
    const field = BigInt(wire.field);
    try {
      checkWordField(field, where);
    } catch (error) {
      throw new SmpcError('InvalidShareError', (error as Error).message, { op: where });
    }
    const size = wire.shape.reduce((a, b) => a * b, 1);
    if (size !== wire.values.length) {
      throw new SmpcError('InvalidShareError', `${where}: shape [${wire.shape}] holds ${size} values, but ${wire.values.length} were sent`, { op: where });
    }
    if (field !== RING_2_64) {
      for (let i = 0; i < wire.values.length; i++) {
        if (wire.values[i] >= field) throw new SmpcError('InvalidShareError', `${where}: value ${i} is not below the modulus ${field}`, { op: where });
      }
    }
    return new RingTensor(wire.values, [...wire.shape], field);
  }

  toWire(): RingWire {
    return { values: this.values, shape: [...this.shape], field: this.field.toString() };
  }

  /** As PySyft printed a share: `tensor([4386476236547852741, -12, …])` (centred values, nested by shape). */
  toString(): string {
    const flat = Array.from(this.values, (v) => toSigned(v, this.field).toString());
    const nest = (at: number, dim: number): [string, number] => {
      if (dim === this.shape.length) return [flat[at], at + 1];
      const parts: string[] = [];
      for (let i = 0; i < this.shape[dim]; i++) {
        const [text, next] = nest(at, dim + 1);
        parts.push(text);
        at = next;
      }
      return [`[${parts.join(', ')}]`, at];
    };
    return `tensor(${nest(0, 0)[0]})`;
  }
}

/** An op that needs a tfjs tensor was pointed at a ring tensor. */
export const ringAsTensor = (worker: string, id: string, op: string) =>
  publicFacts(new WorkerError(
    'NotATensorError',
    `${op} needs a tensor, but object ${id} on ${worker} is a ring tensor (an additive share or a fixed-precision value). ` +
      'Work on it through the AdditiveSharingTensor or FixedPrecisionPointer that made it; floatPrecision() turns a fixed-precision value back into a tensor.',
    { worker, objectId: id, op },
  ));
