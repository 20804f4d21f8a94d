/**
 * PointerTensor: a local handle to a tensor (or, in a pointer chain, a pointer) that
 * lives on a worker.
 *
 * It holds no data — only where the object is (`location`, `idAtLocation`) and what
 * is known of it. Every method is a message: ops are one-way commands that return a
 * result pointer at once (the result id is chosen here), and anything that needs an
 * answer returns an Answer that runs the simulation when awaited.
 *
 * Lifetime is explicit, as with tfjs tensors: `dispose()`, `using`, or `sim.tidy()`
 * send a delete; nothing depends on garbage-collection timing.
 */
import { inspect } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import { FedsimError } from '../runtime/index.js';
import { type Arg, disposeTensorsIn, type ObjectReply, type ReplyPayload, type TensorOpName } from '../messages/index.js';
import { Answer } from './answer.js';
import { POINTER_BRAND } from './brand.js';
import { PointerStateError, remoteFailure } from './errors.js';
import { wireArgs } from './op-args.js';
import type { Simulation } from './simulation.js';
import type { VirtualWorker } from './worker-handle.js';

export type PointerState = 'live' | 'fetched' | 'sent' | 'disposed';

/** What a pointer can point at: a tensor, or (pointer chains) another pointer. */
export type Pointee = tf.Tensor | PointerTensor<any>;

/** An argument of a remote op: pointers, and literals (numbers, strings, booleans, arrays of them). */
export type RemoteArg = PointerTensor<any> | number | string | boolean | null | undefined | tf.Tensor | { readonly children: unknown } | readonly RemoteArg[];

/** tfjs op names offered as pointer methods (`x.add(y)`, `x.sum()`, `x.reshape([2, 2])`). */
export type PointerMethodName = Exclude<TensorOpName, 'where' | 'concat' | 'stack'>;
export type PointerOpMethods = { [K in Exclude<PointerMethodName, 'split'>]: (...args: RemoteArg[]) => PointerTensor } & {
  split(...args: RemoteArg[]): PointerTensor[];
};

export interface PointerInit {
  sim: Simulation;
  location: VirtualWorker;
  idAtLocation: string;
  shape?: number[];
  dtype?: tf.DataType;
  /** An owned pointer deletes its remote object when disposed (search results are not owned). */
  owned?: boolean;
  /** The remote object is itself a pointer (after `ptr.send(worker)`). */
  pointsToPointer?: boolean;
  requiresGrad?: boolean;
}

export interface SendOptions {
  /** Track gradients of this tensor on the worker (PyTorch's requires_grad). */
  requiresGrad?: boolean;
  /** Only these actors may get the object (or receive it by move); results computed from it inherit this. */
  allowedUsers?: string[];
  tags?: string[];
  description?: string;
}

// The interface merges the generated op methods (installed by remote-ops.ts) into the class type.
export interface PointerTensor<T extends Pointee = tf.Tensor> extends PointerOpMethods {}

export class PointerTensor<T extends Pointee = tf.Tensor> {
  /** On the prototype (see below): identifies PointerTensors without importing the class. */
  declare readonly [POINTER_BRAND]: true;
  /** This pointer's own id (PySyft's `ptr.id`). */
  readonly id: string;
  /** Id of the object on its worker (PySyft's `id_at_location`). */
  readonly idAtLocation: string;
  readonly sim: Simulation;
  readonly owned: boolean;
  /** Shape and dtype, when known here (from send, or fetched with getShape()). */
  shape?: number[];
  dtype?: tf.DataType;
  /** Sent with `requiresGrad` (or a trainable variable): the worker tracks its gradients. */
  readonly requiresGrad: boolean;
  private _location: VirtualWorker;
  private _state: PointerState = 'live';
  private _pointsToPointer: boolean;
  private gets = 0;

  constructor(init: PointerInit) {
    this.sim = init.sim;
    this._location = init.location;
    this.idAtLocation = init.idAtLocation;
    this.id = init.sim.nextId();
    this.shape = init.shape;
    this.dtype = init.dtype;
    this.owned = init.owned ?? true;
    this._pointsToPointer = init.pointsToPointer ?? false;
    this.requiresGrad = init.requiresGrad ?? false;
    init.sim.track(this);
  }

  /** The worker holding the object. */
  get location(): VirtualWorker {
    return this._location;
  }

  /** The local worker that owns this pointer (`sim.me`). */
  get owner(): VirtualWorker {
    return this.sim.me;
  }

  get state(): PointerState {
    return this._state;
  }

  /** True while the pointer refers to a remote object (not fetched, sent on or disposed). */
  get isLive(): boolean {
    return this._state === 'live';
  }

  get pointsToPointer(): boolean {
    return this._pointsToPointer;
  }

  toString(): string {
    return `[PointerTensor | ${this.owner.id}:${this.id} -> ${this._location.id}:${this.idAtLocation}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** `{ref}` for a command, after checking the pointer can still be used for `op`. */
  refFor(op: string): Arg {
    this.assertLive(op);
    if (this._pointsToPointer) {
      throw new PointerStateError(
        `${op}: ${this} points to a pointer on ${this._location.id}, not to a tensor. Ops run where the tensor is: pull it to ${this._location.id} first with await ptr.remoteGet(), or fetch the inner pointer with await ptr.get().`,
      );
    }
    return { ref: this.idAtLocation };
  }

  private assertLive(op: string): void {
    if (this._state === 'live') return;
    const why = {
      fetched: 'its object was fetched with get(), which removes it from the worker',
      sent: 'it was sent on with send(), which handed its object to the new pointer',
      disposed: 'it was disposed, which deleted its object',
      live: '',
    }[this._state];
    throw new PointerStateError(`${op}: ${this} can no longer be used: ${why}. Keep using the tensor or pointer that call returned.`);
  }

  /**
   * Fetches the object and removes it from the worker (PySyft's get). A second get()
   * fails with ObjectNotFoundError: use copy() first to keep a remote copy.
   */
  get(): Answer<T> {
    if (this._state !== 'live' && this._state !== 'fetched') this.assertLive('get');
    this.gets++;
    const previous = this._state;
    this._state = 'fetched';
    const reply = this.sim.ask(this._location.id, 'objectRequest', { id: this.idAtLocation });
    return new Answer<T>(
      reply,
      (payload: ReplyPayload) => this.unpackObject(payload, 'get') as T,
      (error) => {
        const typed = remoteFailure(error, this.gets > 1 ? `get() was already called on ${this}: get() moves the object back here and deletes it from ${this._location.id}. Keep the first result, or copy() the pointer before get() to keep a copy there.` : undefined);
        if ((typed as Error).name !== 'ObjectNotFoundError' && this._state === 'fetched') this._state = previous;
        return typed;
      },
    );
  }

  private unpackObject(payload: ReplyPayload, op: string): tf.Tensor | PointerTensor<any> {
    if (payload.kind !== 'object') throw new FedsimError(`${op}: ${this._location.id} answered '${payload.kind}' instead of the object ${this.idAtLocation}.`);
    const { value } = payload as ObjectReply;
    if (value.kind === 'tensor') return value.tensor;
    if (value.kind === 'plan') {
      disposeTensorsIn(value.plan.state);
      throw new FedsimError(`${op}: object ${this.idAtLocation} on ${this._location.id} is plan '${value.plan.name}', not a tensor; fetch plans through the PlanPointer that plan.send() returned.`);
    }
    return new PointerTensor({
      sim: this.sim,
      location: this.sim.workerOf(value.location),
      idAtLocation: value.idAtLocation,
      shape: value.shape,
      dtype: value.dtype,
      owned: value.owned,
    });
  }

  /** The object's shape (asked of the worker unless known already); also fills in `dtype`. */
  getShape(): Answer<number[]> {
    if (this.shape && this.dtype) return Answer.of([...this.shape]);
    this.assertLive('getShape');
    return new Answer(this.sim.ask(this._location.id, 'getShape', { id: this.idAtLocation }), (payload: ReplyPayload) => {
      if (payload.kind !== 'shape') throw new FedsimError(`getShape: ${this._location.id} answered '${payload.kind}' instead of a shape.`);
      this.shape = payload.shape;
      this.dtype = payload.dtype as tf.DataType;
      return [...payload.shape];
    });
  }

  /** Sends the object straight from its worker to `worker` (not through here); the pointer then points there. */
  move(worker: VirtualWorker): Answer<this> {
    this.assertLive('move');
    this.sim.assertOwnWorker(worker, 'move');
    const reply = this.sim.ask(this._location.id, 'move', { id: this.idAtLocation, to: worker.id });
    return new Answer(reply, () => {
      this._location = worker;
      return this;
    });
  }

  /**
   * Sends this *pointer* to `worker` (a pointer chain, tutorial 1.3): `worker` holds a
   * pointer to the object, which stays where it is. This pointer is used up; the
   * returned one points at the pointer on `worker`.
   */
  send(worker: VirtualWorker, options: Pick<SendOptions, 'tags' | 'description'> = {}): PointerTensor<PointerTensor<T>> {
    this.assertLive('send');
    this.sim.assertOwnWorker(worker, 'send');
    const id = this.sim.nextId();
    const value = { kind: 'pointer' as const, location: this._location.id, idAtLocation: this.idAtLocation, owned: this.owned, ...(this.shape ? { shape: this.shape } : {}), ...(this.dtype ? { dtype: this.dtype } : {}) };
    this.sim.tell(worker.id, 'object', { id, value, meta: { ...options } });
    this._state = 'sent';
    return new PointerTensor<PointerTensor<T>>({ sim: this.sim, location: worker, idAtLocation: id, shape: this.shape, dtype: this.dtype, pointsToPointer: true });
  }

  /** Pointer chains: the worker holding the inner pointer pulls the object to itself; this then points at a tensor. */
  remoteGet(): Answer<PointerTensor<tf.Tensor>> {
    this.assertLive('remoteGet');
    return new Answer(this.sim.ask(this._location.id, 'remoteGet', { id: this.idAtLocation }), () => {
      this._pointsToPointer = false;
      return this as unknown as PointerTensor<tf.Tensor>;
    });
  }

  /** A new remote object with the same values (and a new id) on the same worker. */
  copy(): PointerTensor<T> {
    const [id] = this.sim.command(this._location.id, 'copy', [this.refFor('copy')], 1);
    return new PointerTensor<T>({ sim: this.sim, location: this._location, idAtLocation: id, shape: this.shape, dtype: this.dtype });
  }

  /** Computes, on the worker, the gradient of this (tracked) tensor for every tracked tensor it depends on. */
  backward(): Answer<void> {
    this.refFor('backward');
    return new Answer(this.sim.ask(this._location.id, 'backward', { id: this.idAtLocation }), () => undefined);
  }

  /** A pointer to a snapshot of the gradient accumulated so far (a new remote object each time). */
  get grad(): PointerTensor {
    const [id] = this.sim.command(this._location.id, 'grad', [this.refFor('grad')], 1);
    return new PointerTensor({ sim: this.sim, location: this._location, idAtLocation: id, shape: this.shape, dtype: this.dtype });
  }

  /** Forgets the accumulated gradient (gradients add up across backward() calls until this). */
  zeroGrad(): this {
    this.sim.command(this._location.id, 'zeroGrad', [this.refFor('zeroGrad')], 0);
    return this;
  }

  /** In place on a remote variable: `w.assign(v)`. */
  assign(value: PointerTensor | number): this {
    return this.inPlace('assign', value);
  }

  assignAdd(value: PointerTensor | number): this {
    return this.inPlace('assignAdd', value);
  }

  assignSub(value: PointerTensor | number): this {
    return this.inPlace('assignSub', value);
  }

  private inPlace(op: 'assign' | 'assignAdd' | 'assignSub', value: PointerTensor | number): this {
    const wired = wireArgs(op, [this, value])!;
    this.sim.command(this._location.id, op, wired.args, 0);
    return this;
  }

  /** Adds tags, for search() (`ptr.tag('#fashion', '#train')`). */
  tag(...tags: string[]): this {
    this.assertLive('tag');
    this.sim.tell(this._location.id, 'setMeta', { id: this.idAtLocation, tags });
    return this;
  }

  /** Sets the object's description (shown by search results). */
  describe(description: string): this {
    this.assertLive('describe');
    this.sim.tell(this._location.id, 'setMeta', { id: this.idAtLocation, description });
    return this;
  }

  /** Deletes the remote object (when this pointer owns it). Idempotent. */
  dispose(): void {
    if (this._state !== 'live') return;
    this._state = 'disposed';
    if (this.owned) this.sim.tell(this._location.id, 'delete', { ids: [this.idAtLocation] });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** For batched disposal (sim.tidy): marks the pointer disposed; returns whether a remote delete is due. */
  release(): boolean {
    if (this._state !== 'live') return false;
    this._state = 'disposed';
    return this.owned;
  }
}

Object.defineProperty(PointerTensor.prototype, POINTER_BRAND, { value: true });
