/**
 * ModelPointer: a local handle to a model that lives on a worker (`model.send(bob)`).
 *
 * On the worker a model is its parameters — trainable variables in the object store —
 * and a record with its forward program (see src/messages/model-messages.ts). Here it
 * is the ids of those objects and the program, as plain data: the pointer layer knows
 * nothing of model kinds. Whoever sends a model passes a `restore` function that turns
 * fetched weights back into a local model (the FL layer passes one that rebuilds its
 * `Model`), so `await modelPtr.get()` returns a model without this layer importing it.
 *
 * Like tensor pointers: `forward(x)` is one pipelined message that returns the result
 * pointer at once; `get()` and `move()` return Answers that run the simulation when
 * awaited. A model pointer is not disposed by `sim.tidy` (it owns several objects):
 * call `dispose()`, or `get()` it back.
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type ForwardProgram, forwardProgramProblem, inputShapeProblem, isTensor } from '../messages/index.js';
import { Answer } from './answer.js';
import { PointerStateError } from './errors.js';
import { isPointer } from './op-args.js';
import { PointerTensor } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';
import { ForwardShapeError, ModelLocationError } from './training-errors.js';
import type { VirtualWorker } from './worker-handle.js';

/** What `get()` returns when the sender gave no `restore`: the weights, by parameter. */
export interface RemoteModelState {
  name: string;
  paramNames: string[];
  weights: Float32Array[];
}

/** A local model that can take fetched weights (`get(into)`), e.g. an FL `Model`. */
export interface WeightSink {
  setWeights(weights: readonly Float32Array[]): void;
}

/** A model as the pointer layer sends it: a forward program and one weight array per parameter. */
export interface ModelDescription<M> {
  program: ForwardProgram;
  /** In `program.params` order, row-major. */
  weights: readonly Float32Array[];
  /** Turns fetched weights (in the same order) into the local model `get()` returns. */
  restore?: (weights: Float32Array[]) => M;
}

export interface SendModelOptions {
  /** Only these actors may get the parameters (and what is computed from them). */
  allowedUsers?: string[];
}

export type ModelPointerState = 'live' | 'moving' | 'fetched' | 'disposed';

interface ModelPointerInit<M> {
  sim: Simulation;
  location: VirtualWorker;
  idAtLocation: string;
  program: ForwardProgram;
  paramIds: string[];
  restore?: (weights: Float32Array[]) => M;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Sends a model to `worker`: its parameters become trainable variables there. Returns the pointer at once. */
export function sendModel<M = RemoteModelState>(description: ModelDescription<M>, worker: VirtualWorker, options: SendModelOptions = {}): ModelPointer<M> {
  const { program, weights } = description;
  const sim = worker?.sim;
  sim?.assertOwnWorker(worker, 'model.send');
  if (!sim) throw new TypeError(`model.send: expected a worker (sim.worker('bob')), got ${String(worker)}.`);
  if (worker.isClient) throw new ModelLocationError(`model.send: ${worker.id} is the local worker; send the model to a worker created with sim.worker().`);
  const problem = forwardProgramProblem(program);
  if (problem) throw new TypeError(`model.send: the forward program of ${program.name} is invalid: ${problem}.`);
  if (weights.length !== program.params.length) {
    throw new RangeError(`model.send: ${program.name} has ${program.params.length} parameters (${program.params.map((p) => p.name).join(', ')}), but ${weights.length} weight arrays were given.`);
  }
  program.params.forEach((p, i) => {
    if (weights[i].length !== sizeOf(p.shape)) throw new RangeError(`model.send: parameter ${p.name} of ${program.name} has shape [${p.shape}] (${sizeOf(p.shape)} values), but its weight array has ${weights[i].length}.`);
  });
  const id = sim.nextId();
  const paramIds = program.params.map(() => sim.nextId());
  // The message owns its tensors (copies: a backend may keep the array it is given as storage).
  const params = program.params.map((p, i) => ({ id: paramIds[i], tensor: tf.tensor(Float32Array.from(weights[i]), p.shape, 'float32') }));
  sim.tell(worker.id, 'model', { id, program, params, ...(options.allowedUsers ? { allowedUsers: [...options.allowedUsers] } : {}) });
  return new ModelPointer<M>({ sim, location: worker, idAtLocation: id, program, paramIds, restore: description.restore });
}

export class ModelPointer<M = RemoteModelState> {
  /** This pointer's own id. */
  readonly id: string;
  readonly sim: Simulation;
  /** Id of the model record on its worker. */
  readonly idAtLocation: string;
  readonly program: ForwardProgram;
  private readonly paramIds: readonly string[];
  private readonly restore?: (weights: Float32Array[]) => M;
  private _location: VirtualWorker;
  private _state: ModelPointerState = 'live';

  constructor(init: ModelPointerInit<M>) {
    this.sim = init.sim;
    this.id = init.sim.nextId();
    this._location = init.location;
    this.idAtLocation = init.idAtLocation;
    this.program = init.program;
    this.paramIds = init.paramIds;
    this.restore = init.restore;
  }

  /** What the model is (e.g. `linear(2→1)`). */
  get name(): string {
    return this.program.name;
  }

  get location(): VirtualWorker {
    return this._location;
  }

  get owner(): VirtualWorker {
    return this.sim.me;
  }

  get state(): ModelPointerState {
    return this._state;
  }

  get isLive(): boolean {
    return this._state === 'live';
  }

  get paramNames(): string[] {
    return this.program.params.map((p) => p.name);
  }

  toString(): string {
    return `[ModelPointer | ${this.owner.id}:${this.id} -> ${this._location.id}:${this.idAtLocation} ${this.name}]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Throws unless the model can be used for `op` (not fetched, disposed, or in the middle of a move). */
  assertUsable(op: string): void {
    if (this._state === 'live') return;
    const why = {
      moving: 'a move() is in progress: await it first',
      fetched: 'it was fetched with get(), which removes it from the worker; send the model again',
      disposed: 'it was disposed, which deleted it on the worker',
      live: '',
    }[this._state];
    throw new PointerStateError(`${op}: ${this} can no longer be used: ${why}.`);
  }

  /** The ids of the parameter objects, for messages that name them (optimisers). */
  parameterIds(op: string): string[] {
    this.assertUsable(op);
    return [...this.paramIds];
  }

  /**
   * Pointers to the parameters, in the model's order (PyTorch's `model.parameters()`).
   * They do not own the parameters: disposing one deletes nothing; the model pointer does.
   */
  parameters(): PointerTensor[] {
    this.assertUsable('parameters');
    return this.paramIds.map(
      (idAtLocation, i) => new PointerTensor({ sim: this.sim, location: this._location, idAtLocation, shape: [...this.program.params[i].shape], dtype: 'float32', owned: false, requiresGrad: true }),
    );
  }

  /** The pointer to one parameter, by name (e.g. `linear/kernel`). */
  parameter(name: string): PointerTensor {
    const index = this.paramNames.indexOf(name);
    if (index < 0) throw new RangeError(`parameter: ${this.name} has no parameter '${name}'; its parameters are ${this.paramNames.join(', ')}.`);
    return this.parameters()[index];
  }

  /** Runs the model on `x` where both live; returns the output's pointer at once (pipelined). */
  forward(x: PointerTensor): PointerTensor {
    this.assertUsable('forward');
    if (!isPointer(x)) {
      const value: unknown = x;
      if (isTensor(value)) {
        throw new ModelLocationError(`forward: the data is a local tensor (shape [${value.shape}]), but ${this.name} is on ${this._location.id}. Send the data there first (x.send(${this._location.id})), or get() the model.`);
      }
      throw new TypeError(`forward: expected a pointer to data on ${this._location.id}, got ${Object.prototype.toString.call(value)}.`);
    }
    if (x.location !== this._location) {
      throw new ModelLocationError(
        `forward: ${this.name} is on ${this._location.id}, but the data ${x} is on ${x.location.id}. A model runs where its data is: send it there (model.send(data.location)), as the tutorial does, or move it (await modelPtr.move(${x.location.id})).`,
      );
    }
    const input = x.refFor('forward') as { ref: string };
    if (x.shape) {
      const problem = inputShapeProblem(this.program.input, x.shape);
      if (problem) throw new ForwardShapeError(`forward: ${problem} (${this.name}, data ${x}). Reshape the data (x.reshape([n, …])) or send a model built for this input.`);
    }
    const resultId = this.sim.nextId();
    this.sim.tell(this._location.id, 'modelForward', { id: this.idAtLocation, input: input.ref, resultId });
    return new PointerTensor({ sim: this.sim, location: this._location, idAtLocation: resultId });
  }

  /** The tutorial's `model(data)`: the same as forward(x). */
  call(x: PointerTensor): PointerTensor {
    return this.forward(x);
  }

  /** A copy of the model on the same worker: new parameter objects with the same values and no gradients. */
  copy(): ModelPointer<M> {
    this.assertUsable('copy');
    const newId = this.sim.nextId();
    const paramIds = this.paramIds.map(() => this.sim.nextId());
    this.sim.tell(this._location.id, 'modelCopy', { id: this.idAtLocation, newId, paramIds });
    return new ModelPointer<M>({ sim: this.sim, location: this._location, idAtLocation: newId, program: this.program, paramIds, restore: this.restore });
  }

  /**
   * Moves the model straight from its worker to `worker` (its parameters travel between
   * the two workers, not through here); the pointer then points there. Await it before
   * using the model again.
   */
  move(worker: VirtualWorker): Answer<this> {
    this.assertUsable('move');
    this.sim.assertOwnWorker(worker, 'move');
    if (worker.isClient) throw new ModelLocationError(`move: ${worker.id} is the local worker, which stores nothing; to bring the model here use await modelPtr.get().`);
    if (worker === this._location) return Answer.of(this);
    const from = this._location;
    const moves = this.parameters().map((p) => p.move(worker));
    this._state = 'moving';
    return new Answer(
      Answer.all(moves),
      () => {
        // Every parameter is on `worker` now: register the model there, forget it here.
        this.sim.tell(worker.id, 'model', { id: this.idAtLocation, program: this.program, params: this.paramIds.map((id) => ({ id })) });
        this.sim.tell(from.id, 'modelDelete', { id: this.idAtLocation, params: false });
        this._location = worker;
        this._state = 'live';
        return this;
      },
      (error) => {
        // Usually a refused move (e.g. the destination may not receive private parameters): nothing moved.
        this._state = 'live';
        return error;
      },
    );
  }

  /** Fetches the model (its weights leave the worker, which forgets it): a local model via `restore`. */
  get(): Answer<M>;
  /** Fetches the weights into an existing local model (`into.setWeights`), and returns it. */
  get<T extends WeightSink>(into: T): Answer<T>;
  get(into?: WeightSink): Answer<unknown> {
    this.assertUsable('get');
    const location = this._location;
    const fetches = this.parameters().map((p) => p.get());
    this._state = 'fetched';
    return new Answer(
      Answer.all(fetches),
      (tensors: tf.Tensor[]) => {
        const weights = tensors.map((t) => Float32Array.from(t.dataSync() as Float32Array));
        tf.dispose(tensors);
        this.sim.tell(location.id, 'modelDelete', { id: this.idAtLocation, params: false });
        if (into) {
          into.setWeights(weights);
          return into;
        }
        return this.restore ? this.restore(weights) : ({ name: this.name, paramNames: this.paramNames, weights } satisfies RemoteModelState);
      },
      (error) => {
        // Refused (e.g. GetNotPermittedError): the model is still on the worker, and still this pointer's.
        if ((error as Error).name !== 'ObjectNotFoundError') this._state = 'live';
        return error;
      },
    );
  }

  /** Deletes the model and its parameters on the worker. Idempotent. */
  dispose(): void {
    if (this._state !== 'live') return;
    this._state = 'disposed';
    this.sim.tell(this._location.id, 'modelDelete', { id: this.idAtLocation, params: true });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
