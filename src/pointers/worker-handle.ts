/**
 * VirtualWorker: the scenario's handle on a worker actor (or, for `sim.me`, on the
 * local client worker, which keeps no objects of its own).
 *
 * Everything that acts on the worker or reads from it is a message, checked by the worker
 * like any other: `listObjects()` is PySyft's `bob._objects` through the front door (what
 * `me` may not see is listed, not shown). Reading the store itself is a debugging door,
 * named as one: `sim.inspect(bob)` (inspector.ts). The one other door is the owner's:
 * `load()` puts the owner's own data on its machine.
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type Envelope, FedsimError } from '../runtime/index.js';
import type { SearchResult, ReplyPayload } from '../messages/index.js';
import type { VirtualWorkerContext, WorkerState } from '../actors/index.js';
import { loadOwnData } from '../actors/owner-load.js';
import type { WorkerBudget } from '../actors/compute/budget.js';
import { Answer } from './answer.js';
import { ObjectListing } from './object-listing.js';
import { MultiPointerTensor } from './multi-pointer.js';
import { isPointer } from './op-args.js';
import { type Pointee, PointerTensor, type SendOptions } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';

export interface WorkerOptions {
  /** Print a line per message the worker receives (`bob received command add`). */
  verbose?: boolean;
  /** Keep every message the worker receives in `msgHistory`. */
  logMsgs?: boolean;
  /** Where verbose lines go (default console.log). */
  print?: (line: string) => void;
  /** The worker's resource budget (default: 2^26 elements per tensor, 2^28 in all); see src/actors/compute/budget.ts. */
  budget?: Partial<WorkerBudget>;
}

export interface LoadOptions {
  allowedUsers?: string[];
  tags?: string[];
  description?: string;
  requiresGrad?: boolean;
}

/** A received message, as msgHistory keeps it. */
export interface ReceivedMessage {
  id: string;
  from: string;
  type: string;
  payload: unknown;
  at: number;
}

export class VirtualWorker {
  /** Messages received (when created with `logMsgs`). */
  readonly msgHistory: ReceivedMessage[] = [];

  constructor(
    readonly sim: Simulation,
    readonly id: string,
    /** The local client worker (`sim.me`): sends, holds pointers, stores nothing. */
    readonly isClient: boolean,
    options: WorkerOptions = {},
  ) {
    if (options.verbose || options.logMsgs) {
      const print = options.print ?? ((line: string) => console.log(line));
      sim.delivered$.subscribe((event) => {
        if (event.to !== id) return;
        const envelope: Envelope = event.envelope;
        if (options.logMsgs) this.msgHistory.push({ id: envelope.id, from: envelope.from, type: envelope.type, payload: envelope.payload, at: event.t });
        if (options.verbose) {
          const op = envelope.type === 'command' ? (envelope.payload as { op?: unknown })?.op : undefined;
          print(`${id} received ${envelope.type}${typeof op === 'string' ? ` ${op}` : ''}`);
        }
      });
    }
  }

  /**
   * The worker's state, for the named debugging door `sim.inspect(worker)` and the owner's
   * `load()`. Not for protocols or scenarios: it bypasses every check the worker makes.
   * @internal
   */
  unguardedState(): WorkerState | null {
    return this.isClient ? null : this.context().worker;
  }

  /**
   * PySyft's `bob._objects`, through the front door: one `search` message, answered by the
   * worker with every object, printed when `me` may see it and listed as private otherwise
   * (`{1: tensor([1, 2, 3]), 4: <private to [bob]>}`). Sent after everything before it on
   * this channel, so it shows their effect.
   */
  listObjects(): Answer<ObjectListing> {
    if (this.isClient) return Answer.of(new ObjectListing([]));
    return new Answer(this.sim.ask(this.id, 'search', { query: [], preview: true }), (payload: ReplyPayload) => {
      if (payload.kind !== 'search') throw new FedsimError(`listObjects: ${this.id} answered '${payload.kind}' instead of search results.`);
      return new ObjectListing(payload.results);
    });
  }

  /**
   * Frees the store a restart without state is about to replace (its tensors would
   * leak otherwise). Called by the simulation at the 'restarted' event, while the
   * actor is still the crashed one.
   */
  discardStore(): void {
    if (!this.isClient && this.sim.isLocal(this.id)) this.context().worker.store.clear();
  }

  /** The actor's context (read for inspection; at a restart, still the crashed actor's). */
  private context(): VirtualWorkerContext {
    return this.sim.localWorkerCell(this.id, `${this.id}'s store`).snapshot().context as VirtualWorkerContext;
  }

  /** `<VirtualWorker id:bob #objects:3>`, as PySyft prints a worker (the count is the one thing read without a message). */
  toString(): string {
    // A worker in another process (a live run) has no count to read without a message.
    if (!this.isClient && !this.sim.isLocal(this.id)) return `<VirtualWorker id:${this.id} (${this.sim.transportName})>`;
    return `<VirtualWorker id:${this.id} #objects:${this.isClient ? 0 : this.context().worker.store.size}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Removes every object on the worker. */
  clearObjects(): Answer<void> {
    if (this.isClient) return Answer.of(undefined);
    return new Answer(this.sim.ask(this.id, 'clear', {}), () => undefined);
  }

  /** Pointers to the objects tagged with every term (or whose id is a term). They do not own the objects: disposing them deletes nothing. */
  search(...terms: string[]): Answer<PointerTensor[]> {
    if (this.isClient) return Answer.of([]);
    return new Answer(this.sim.ask(this.id, 'search', { query: terms }), (payload: ReplyPayload) => {
      if (payload.kind !== 'search') throw new FedsimError(`search: ${this.id} answered '${payload.kind}' instead of search results.`);
      return payload.results
        .filter((r: SearchResult) => r.kind === 'tensor' || r.kind === 'pointer') // failures and plans are not tensors
        .map(
          (r: SearchResult) =>
            new PointerTensor({ sim: this.sim, location: this, idAtLocation: r.id, shape: r.shape, dtype: r.dtype as tf.DataType, owned: false, pointsToPointer: r.kind === 'pointer' }),
        );
    });
  }

  /**
   * Puts data on this worker as its owner would (e.g. a hospital loading its records),
   * optionally private to `allowedUsers`: the owner's door (owner-load.ts), not a message
   * from `me`. It acts at once, and the data counts as this worker's contribution for the
   * run's release policy. The pointer returned does not own the data: disposing it deletes
   * nothing. A `load` mark in the event log records it.
   */
  load(tensor: tf.Tensor, options: LoadOptions = {}): PointerTensor {
    if (this.isClient) throw new FedsimError(`load: ${this.id} is the local client worker and stores nothing; load data onto a worker created with sim.worker().`);
    if (tensor.isDisposed) throw new FedsimError(`load: the tensor (shape [${tensor.shape}]) is disposed; load it before disposing it.`);
    const id = this.sim.nextId();
    loadOwnData(this.context().worker, id, tensor, options);
    this.sim.mark('load', { worker: this.id, id, private: options.allowedUsers !== undefined });
    const requiresGrad = options.requiresGrad ?? (tensor instanceof tf.Variable && tensor.trainable);
    return new PointerTensor({ sim: this.sim, location: this, idAtLocation: id, shape: [...tensor.shape], dtype: tensor.dtype, owned: false, requiresGrad });
  }

  /** `me.send(x, bob)`: the explicit form of `x.send(bob)`. */
  send(tensor: tf.Tensor, worker: VirtualWorker, options?: SendOptions): PointerTensor;
  /** `me.send(x, bob, alice)`: a copy to each worker, as a MultiPointerTensor. */
  send(tensor: tf.Tensor, first: VirtualWorker, second: VirtualWorker, ...more: Array<VirtualWorker | SendOptions>): MultiPointerTensor;
  /** `me.send(ptr, alice)`: a pointer chain (see PointerTensor.send). */
  send<T extends Pointee>(pointer: PointerTensor<T>, worker: VirtualWorker, options?: SendOptions): PointerTensor<PointerTensor<T>>;
  send(tensor: tf.Tensor | PointerTensor<any>, ...targets: Array<VirtualWorker | SendOptions | undefined>): PointerTensor<any> | MultiPointerTensor;
  send(tensor: tf.Tensor | PointerTensor<any>, ...targets: Array<VirtualWorker | SendOptions | undefined>): PointerTensor<any> | MultiPointerTensor {
    if (!this.isClient) throw new FedsimError(`send: only the local worker (${this.sim.me.id}) sends from scenario code; to move ${this.id}'s objects, use ptr.move(worker).`);
    const workers = targets.filter((t): t is VirtualWorker => t instanceof VirtualWorker);
    const options = (targets.find((t) => t !== undefined && !(t instanceof VirtualWorker)) ?? {}) as SendOptions;
    if (workers.length === 0) throw new FedsimError('send: name at least one worker to send to (x.send(bob), or x.send(bob, alice) for a MultiPointerTensor).');
    if (isPointer(tensor)) {
      if (workers.length > 1) throw new FedsimError(`send: a pointer can be sent to one worker (a pointer chain); got ${workers.length}.`);
      return tensor.send(workers[0], options);
    }
    if (!(tensor instanceof tf.Tensor)) throw new TypeError(`send: expected a tf.Tensor or a PointerTensor, got ${Object.prototype.toString.call(tensor)}.`);
    if (workers.length === 1) return this.sendOne(tensor, workers[0], options, true);
    return new MultiPointerTensor(this.sim, workers.map((worker) => this.sendOne(tensor, worker, options, true)));
  }

  /** Sends a copy of `tensor` (the caller keeps the original) and returns the pointer to it. */
  sendOne(tensor: tf.Tensor, worker: VirtualWorker, options: SendOptions, owned: boolean): PointerTensor {
    this.sim.assertOwnWorker(worker, 'send');
    if (worker.isClient) throw new FedsimError(`send: ${worker.id} is the local worker; send to a worker created with sim.worker().`);
    if (tensor.isDisposed) throw new FedsimError(`send: the tensor (shape [${tensor.shape}]) is disposed; send it before disposing it.`);
    const id = this.sim.nextId();
    const variable = tensor instanceof tf.Variable ? { variable: { trainable: tensor.trainable } } : {};
    const meta = {
      ...(options.requiresGrad !== undefined ? { requiresGrad: options.requiresGrad } : {}),
      ...(options.allowedUsers ? { allowedUsers: [...options.allowedUsers] } : {}),
      ...(options.tags ? { tags: [...options.tags] } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
    };
    // The message owns a clone (shared data, no copy) so the caller's tensor stays the caller's.
    this.sim.tell(worker.id, 'object', { id, value: { kind: 'tensor', tensor: tf.clone(tensor), ...variable }, meta });
    const requiresGrad = options.requiresGrad ?? (tensor instanceof tf.Variable && tensor.trainable);
    return new PointerTensor({ sim: this.sim, location: worker, idAtLocation: id, shape: [...tensor.shape], dtype: tensor.dtype, owned, requiresGrad });
  }
}
