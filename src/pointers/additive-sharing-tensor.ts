/**
 * AdditiveSharingTensor: a value split into additive shares held by several workers
 * (PySyft 0.2's `x.fix_precision().share(bob, alice, crypto_provider=james)`).
 *
 * It holds no data: the owners, in order (party 0 first), and the id every owner stores
 * its share under. Ops are pipelined commands, as with pointers:
 *  - add / sub (shared or public operands), neg, mul by a public integer: each owner
 *    computes on its own share; a public constant is added by party 0 only. Owner sets
 *    may differ in add/sub: an owner missing from one operand holds a zero share of it.
 *  - mul by a public real (fixed precision): scale, then truncate — with the crypto
 *    provider's truncation pair, or, with exactly two owners, PySyft's local truncation.
 *  - mul / matMul of two shared values: Beaver triples dealt by the crypto provider; the
 *    owners open d = x − a and e = y − b among themselves, then truncate fixed-point
 *    products (src/actors/smpc/beaver-task.ts says who sees what). `me` sees no opening.
 * `get()` fetches every share (each owner forgets its own) and adds them up here.
 *
 * Shares are made by share() (share.ts); PySyft's errors are raised before anything is
 * sent: fewer than two owners, sharing a float tensor without fixed precision (there and in
 * smpc-methods.ts), multiplying shared values without a crypto provider (here).
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FedsimError } from '../runtime/index.js';
import { type ReplyPayload, type RingReply } from '../messages/index.js';
import { decodeIntegers, encodeFixedVector, encodeIntegers, fixedScale, reducer, sumVectors } from '../actors/index.js';
import { Answer } from './answer.js';
import { PointerStateError } from './errors.js';
import { FixedPrecisionTensor, type FixedScale } from './fixed-precision-tensor.js';
import type { Simulation } from './simulation.js';
import type { VirtualWorker } from './worker-handle.js';

/** What get() gives back: a FixedPrecisionTensor, or an int32 tensor for integer shares. */
export type Revealed = FixedPrecisionTensor | tf.Tensor;

/** What the shares stand for: the fixed-point scale (null for integers) and the modulus. */
export interface Meaning {
  fixed: FixedScale | null;
  field: bigint;
}

export interface AstInit extends Meaning {
  sim: Simulation;
  id: string;
  owners: readonly VirtualWorker[];
  shape: readonly number[];
  cryptoProvider: VirtualWorker | null;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const names = (workers: readonly VirtualWorker[]) => workers.map((w) => w.id).join(', ');

export class AdditiveSharingTensor<T extends Revealed = FixedPrecisionTensor> {
  readonly sim: Simulation;
  /** The id of every owner's share. */
  readonly id: string;
  /** Party 0 first. */
  readonly owners: readonly VirtualWorker[];
  readonly shape: readonly number[];
  readonly field: bigint;
  /** The fixed-point scale; null for shares of integers. */
  readonly fixed: FixedScale | null;
  readonly cryptoProvider: VirtualWorker | null;
  private state: 'live' | 'fetched' | 'disposed' = 'live';

  constructor(init: AstInit) {
    this.sim = init.sim;
    this.id = init.id;
    this.owners = [...init.owners];
    this.shape = [...init.shape];
    this.field = init.field;
    this.fixed = init.fixed;
    this.cryptoProvider = init.cryptoProvider;
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  toString(): string {
    const lines = ['[AdditiveSharingTensor]', ...this.owners.map((o) => `\t-> [PointerTensor | ${this.sim.me.id}:${this.id} -> ${o.id}:${this.id}]`)];
    if (this.cryptoProvider) lines.push(`\t*crypto provider: ${this.cryptoProvider.id}*`);
    return lines.join('\n');
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private assertLive(op: string): void {
    if (this.state === 'live') return;
    const why = this.state === 'fetched' ? 'its shares were fetched with get(), which removes them from the owners' : 'it was disposed, which deleted its shares';
    throw new PointerStateError(`${op}: this AdditiveSharingTensor (shares ${this.id} on ${names(this.owners)}) can no longer be used: ${why}.`);
  }

  private derive<R extends Revealed>(owners: readonly VirtualWorker[], shape: readonly number[], fixed: FixedScale | null, cryptoProvider: VirtualWorker | null): AdditiveSharingTensor<R> {
    return new AdditiveSharingTensor<R>({ sim: this.sim, id: this.sim.nextId(), owners, shape, fixed, field: this.field, cryptoProvider });
  }

  private command(owner: VirtualWorker, payload: Record<string, unknown>): void {
    this.sim.tell(owner.id, 'smpc', payload);
  }

  /** Checks another shared operand can meet this one in `op`. */
  private compatible(other: AdditiveSharingTensor<Revealed>, op: string): void {
    other.assertLive(op);
    if (other.sim !== this.sim) throw new FedsimError(`${op}: the operands belong to different simulations.`);
    if (other.field !== this.field) throw new FedsimError(`${op}: the operands are shared mod ${this.field} and mod ${other.field}; share both with the same field.`);
  }

  private crypto(other: AdditiveSharingTensor<Revealed> | null): VirtualWorker | null {
    const mine = this.cryptoProvider;
    const theirs = other?.cryptoProvider ?? null;
    if (mine && theirs && mine !== theirs) throw new FedsimError(`the operands name different crypto providers (${mine.id} and ${theirs.id}); share both with the same one.`);
    return mine ?? theirs;
  }

  /** this + other: share-wise (PySyft's `+`). */
  add(other: AdditiveSharingTensor<T> | number | tf.Tensor): AdditiveSharingTensor<T> {
    return this.combineWith(other, 1, 'add');
  }

  /** this − other. */
  sub(other: AdditiveSharingTensor<T> | number | tf.Tensor): AdditiveSharingTensor<T> {
    return this.combineWith(other, -1, 'sub');
  }

  /** −this. */
  neg(): AdditiveSharingTensor<T> {
    this.assertLive('neg');
    const result = this.derive<T>(this.owners, this.shape, this.fixed, this.cryptoProvider);
    const scalar = (this.field - 1n).toString();
    for (const owner of this.owners) this.command(owner, { op: 'affine', source: this.id, scalar, resultId: result.id });
    return result;
  }

  /** Σ of shared values share-wise, one command per owner (the owners are the union, in first-seen order). */
  static sum<T extends Revealed>(tensors: readonly AdditiveSharingTensor<T>[]): AdditiveSharingTensor<T> {
    if (tensors.length === 0) throw new FedsimError('AdditiveSharingTensor.sum: nothing to add.');
    const [first, ...rest] = tensors;
    first.assertLive('sum');
    for (const t of rest) first.checkLinear(t, 'sum');
    const owners: VirtualWorker[] = [];
    for (const t of tensors) for (const o of t.owners) if (!owners.includes(o)) owners.push(o);
    const result = first.derive<T>(owners, first.shape, first.fixed, tensors.reduce<VirtualWorker | null>((cp, t) => cp ?? t.cryptoProvider, null));
    for (const owner of owners) {
      const terms = tensors.filter((t) => t.owners.includes(owner)).map((t) => ({ id: t.id, sign: 1 }));
      first.command(owner, { op: 'combine', terms, resultId: result.id });
    }
    return result;
  }

  private checkLinear(other: AdditiveSharingTensor<Revealed>, op: string): void {
    this.compatible(other, op);
    if (!sameShape(this.shape, other.shape)) throw new FedsimError(`${op}: shapes [${this.shape}] and [${other.shape}] differ; shared values combine element by element, without broadcasting.`);
    const a = this.fixed;
    const b = other.fixed;
    if ((a === null) !== (b === null) || (a && b && (a.base !== b.base || a.precisionFractional !== b.precisionFractional))) {
      throw new FedsimError(`${op}: the operands have different fixed-point scales (${a ? `${a.base}^${a.precisionFractional}` : 'integers'} and ${b ? `${b.base}^${b.precisionFractional}` : 'integers'}); encode both with the same fixPrecision options.`);
    }
  }

  private combineWith(other: AdditiveSharingTensor<T> | number | tf.Tensor, sign: 1 | -1, op: string): AdditiveSharingTensor<T> {
    this.assertLive(op);
    if (!(other instanceof AdditiveSharingTensor)) return this.addPublic(other, sign, op);
    this.checkLinear(other, op);
    const owners = [...this.owners, ...other.owners.filter((o) => !this.owners.includes(o))];
    const result = this.derive<T>(owners, this.shape, this.fixed, this.crypto(other));
    for (const owner of owners) {
      const terms = [];
      if (this.owners.includes(owner)) terms.push({ id: this.id, sign: 1 });
      if (other.owners.includes(owner)) terms.push({ id: other.id, sign });
      this.command(owner, { op: 'combine', terms, resultId: result.id });
    }
    return result;
  }

  /** A public constant (number or local tensor of the same shape), encoded like this value; party 0 adds it. */
  private addPublic(value: number | tf.Tensor, sign: 1 | -1, op: string): AdditiveSharingTensor<T> {
    let plain: Float64Array;
    if (typeof value === 'number') {
      plain = new Float64Array(size(this.shape)).fill(value);
    } else if (value instanceof tf.Tensor) {
      if (!sameShape(value.shape, this.shape)) throw new FedsimError(`${op}: the public tensor has shape [${value.shape}], the shared value [${this.shape}].`);
      plain = Float64Array.from(value.dataSync() as Float32Array);
    } else {
      throw new TypeError(`${op}: expected an AdditiveSharingTensor, a number or a tf.Tensor, got ${Object.prototype.toString.call(value)}.`);
    }
    if (sign === -1) plain = plain.map((v) => -v);
    let offset: BigUint64Array;
    if (this.fixed) offset = encodeFixedVector(plain, { ...this.fixed, field: this.field });
    else if (plain.every(Number.isInteger)) offset = encodeIntegers(plain, this.field);
    else throw new FedsimError(`${op}: these are shares of integers; a non-integer constant needs fixed precision (share x.fixPrecision() instead).`);
    const result = this.derive<T>(this.owners, this.shape, this.fixed, this.cryptoProvider);
    this.owners.forEach((owner, party) => {
      const payload = { op: 'affine', source: this.id, scalar: '1', resultId: result.id };
      this.command(owner, party === 0 ? { ...payload, offset: { values: offset, shape: [...this.shape], field: this.field.toString() } } : payload);
    });
    return result;
  }

  /** this · other: by a public number, or element by element by another shared value (Beaver). */
  mul(other: AdditiveSharingTensor<Revealed> | number): AdditiveSharingTensor<T> {
    this.assertLive('mul');
    if (typeof other === 'number') return this.mulPublic(other);
    if (!(other instanceof AdditiveSharingTensor)) {
      throw new TypeError(`mul: expected an AdditiveSharingTensor or a number, got ${Object.prototype.toString.call(other)}; share a public tensor first, or multiply after get().`);
    }
    if (!sameShape(this.shape, other.shape)) throw new FedsimError(`mul: shapes [${this.shape}] and [${other.shape}] differ; mul is element by element, without broadcasting (matMul for matrix products).`);
    return this.beaver(other, 'mul', this.shape);
  }

  /** this @ other, both shared matrices (Beaver triples for matrix products). */
  matMul(other: AdditiveSharingTensor<Revealed>): AdditiveSharingTensor<T> {
    this.assertLive('matMul');
    if (!(other instanceof AdditiveSharingTensor)) throw new TypeError('matMul: expected an AdditiveSharingTensor; share the other matrix with the same owners first.');
    if (this.shape.length !== 2 || other.shape.length !== 2 || this.shape[1] !== other.shape[0]) {
      throw new FedsimError(`matMul: cannot multiply shapes [${this.shape}] @ [${other.shape}]; both must be matrices with matching inner dimensions.`);
    }
    return this.beaver(other, 'matMul', [this.shape[0], other.shape[1]]);
  }

  private mulPublic(k: number): AdditiveSharingTensor<T> {
    if (!Number.isFinite(k)) throw new RangeError(`mul: the scalar is ${k}; only finite numbers can multiply shares.`);
    const mod = reducer(this.field);
    if (Number.isInteger(k)) {
      const result = this.derive<T>(this.owners, this.shape, this.fixed, this.cryptoProvider);
      const scalar = mod(BigInt(k)).toString();
      for (const owner of this.owners) this.command(owner, { op: 'affine', source: this.id, scalar, resultId: result.id });
      return result;
    }
    if (!this.fixed) throw new FedsimError(`mul: these are shares of integers, which can be multiplied by integers only (got ${k}); share x.fixPrecision() to multiply by reals.`);
    // k̃ = round(k · S): the product carries scale S², so divide the shares by S (truncation).
    const divisor = fixedScale(this.fixed);
    const scalar = mod(BigInt(Math.round(k * Number(divisor)))).toString();
    const result = this.derive<T>(this.owners, this.shape, this.fixed, this.cryptoProvider);
    const provider = this.cryptoProvider;
    if (provider) {
      this.sim.tell(provider.id, 'smpc', { op: 'deal', session: result.id, kind: 'truncate', owners: this.owners.map((o) => o.id), field: this.field.toString(), xShape: [...this.shape], divisor: divisor.toString() });
      this.owners.forEach((owner, party) =>
        this.command(owner, { op: 'truncate', source: this.id, scalar, resultId: result.id, party, owners: this.owners.map((o) => o.id), dealer: provider.id, divisor: divisor.toString() }),
      );
    } else if (this.owners.length === 2) {
      for (const owner of this.owners) this.command(owner, { op: 'truncateLocal', source: this.id, scalar, resultId: result.id, divisor: divisor.toString() });
    } else {
      throw new FedsimError(
        `mul: multiplying fixed-precision shares by a non-integer (${k}) needs a truncation, which with ${this.owners.length} owners needs a crypto provider; ` +
          'share with { cryptoProvider: james } (with exactly two owners, the local truncation of PySyft 0.2 is used).',
      );
    }
    return result;
  }

  private beaver(other: AdditiveSharingTensor<Revealed>, kind: 'mul' | 'matMul', shape: readonly number[]): AdditiveSharingTensor<T> {
    this.compatible(other, kind);
    const provider = this.crypto(other);
    if (!provider) {
      throw new FedsimError(
        `${kind}: multiplying two shared values needs Beaver triples from a crypto provider, and neither operand has one. ` +
          'Share with { cryptoProvider: james } — PySyft\'s .share(bob, alice, crypto_provider=james).',
      );
    }
    if (other.owners.length !== this.owners.length || !other.owners.every((o) => this.owners.includes(o))) {
      throw new FedsimError(`${kind}: the operands are shared among different workers ([${names(this.owners)}] and [${names(other.owners)}]); a Beaver product needs the same owners.`);
    }
    const a = this.fixed;
    const b = other.fixed;
    if (a && b && (a.base !== b.base || a.precisionFractional !== b.precisionFractional)) {
      throw new FedsimError(`${kind}: the operands have different fixed-point scales (${a.base}^${a.precisionFractional} and ${b.base}^${b.precisionFractional}).`);
    }
    // Fixed × fixed carries scale S² and is truncated by S; fixed × integer keeps S.
    const divisor = a && b ? fixedScale(a).toString() : undefined;
    const result = this.derive<T>(this.owners, shape, a ?? b, provider);
    const owners = this.owners.map((o) => o.id);
    this.sim.tell(provider.id, 'smpc', { op: 'deal', session: result.id, kind, owners, field: this.field.toString(), xShape: [...this.shape], yShape: [...other.shape], ...(divisor ? { divisor } : {}) });
    this.owners.forEach((owner, party) =>
      this.command(owner, { op: 'beaver', kind, x: this.id, y: other.id, resultId: result.id, party, owners, dealer: provider.id, ...(divisor ? { divisor } : {}) }),
    );
    return result;
  }

  /**
   * Fetches every share (each owner forgets its own) and adds them up here: a
   * FixedPrecisionTensor (`.floatPrecision()` gives the reals), or an int32 tensor for
   * integer shares. This is the only point where the value is revealed — to `me`.
   */
  get(): Answer<T> {
    this.assertLive('get');
    this.state = 'fetched';
    const replies = this.owners.map((owner) =>
      new Answer(this.sim.ask(owner.id, 'smpc/get', { id: this.id }), (payload: ReplyPayload) => {
        if (payload.kind !== 'ring') throw new FedsimError(`get: ${owner.id} answered '${payload.kind}' instead of its share ${this.id}.`);
        return (payload as RingReply).value;
      }),
    );
    return new Answer(Answer.all(replies), (shares: RingReply['value'][]) => {
      const total = sumVectors(shares.map((s) => s.values), this.field);
      if (this.fixed) return new FixedPrecisionTensor(total, this.shape, this.fixed.base, this.fixed.precisionFractional, this.field) as T;
      const ints = decodeIntegers(total, this.field);
      const outside = ints.find((v) => v < -(2 ** 31) || v >= 2 ** 31);
      if (outside !== undefined) throw new FedsimError(`get: the value ${outside} does not fit an int32 tensor; share it in fixed precision, or with smaller values.`);
      return tf.tensor(Int32Array.from(ints), [...this.shape], 'int32') as T;
    });
  }

  /** Deletes every owner's share. Idempotent. */
  dispose(): void {
    if (this.state !== 'live') return;
    this.state = 'disposed';
    for (const owner of this.owners) this.sim.tell(owner.id, 'delete', { ids: [this.id] });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
