/**
 * PlanPointer: the local handle of a plan stored on a worker (`ptr = plan.send(bob)`).
 *
 * - `ptr(xPtr, yPtr)` sends ONE `runPlan` message and returns pointers to the
 *   results at once (promise pipelining, as for remote ops).
 * - `await ptr.train({ data, target, epochs, batchSize })` runs a training plan over
 *   every minibatch of every epoch on the worker in ONE request, answered with the
 *   mean loss: a round costs the same number of messages whatever the batch count.
 * - `await ptr.get()` fetches the plan back (with its state, e.g. trained
 *   parameters) and removes it from the worker, like a tensor pointer's get().
 *
 * Lifetime is explicit: `dispose()` deletes the remote plan (sim.tidy scopes do not
 * track plan pointers).
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { FedsimError } from '../../runtime/index.js';
import { disposeTensorsIn, type PlanDefinition, type ReplyPayload } from '../../messages/index.js';
import { Answer } from '../answer.js';
import { PointerStateError, remoteFailure, TensorsNotCollocatedError } from '../errors.js';
import { isPointer } from '../op-args.js';
import { PointerTensor } from '../pointer-tensor.js';
import type { Simulation } from '../simulation.js';
import type { VirtualWorker } from '../worker-handle.js';
import { callable, hidden } from './callable.js';
import { Plan } from './plan.js';

export interface PlanPointerInit {
  sim: Simulation;
  location: VirtualWorker;
  idAtLocation: string;
  definition: PlanDefinition;
}

/** A training loop run on the worker by `ptr.train(...)`. */
export interface PlanTrainOptions {
  /** Pointer to the features, one row per sample (first dimension = samples). */
  data: PointerTensor;
  /** Pointer to the targets (one-hot rows, or regression targets), same number of rows. */
  target: PointerTensor;
  epochs: number;
  batchSize: number;
  /** Shuffle the rows every epoch (default true), drawing from the worker's stream `actor/<worker>/<shuffleStream>`. */
  shuffle?: boolean;
  /** Default `shuffle`. */
  shuffleStream?: string;
  /** Skip each epoch's last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

export interface PlanTrainResult {
  /** Sample-weighted mean of the per-batch losses (NaN if it was not finite). */
  meanLoss: number;
  /** Minibatches run. */
  steps: number;
  /** Rows processed, all epochs together. */
  samples: number;
}

export type PlanPointerState = 'live' | 'fetched' | 'disposed';

// The call signature: `ptr(xPtr, yPtr)` runs the plan remotely (see run()).
export interface PlanPointer {
  (...args: PointerTensor[]): any;
}

export class PlanPointer {
  declare readonly sim: Simulation;
  declare readonly location: VirtualWorker;
  /** The plan's object id on its worker. */
  declare readonly idAtLocation: string;
  /** This pointer's own id. */
  declare readonly id: string;
  declare readonly definition: PlanDefinition;
  declare private pointerState: PlanPointerState;

  constructor(init: PlanPointerInit) {
    const self = callable<PlanPointer>(new.target.prototype, (...args: PointerTensor[]) => self.run(...args));
    hidden(self, { sim: init.sim, location: init.location, idAtLocation: init.idAtLocation, id: init.sim.nextId(), definition: init.definition, pointerState: 'live' });
    return self;
  }

  get name(): string {
    return this.definition.name;
  }

  get state(): PlanPointerState {
    return this.pointerState;
  }

  get isLive(): boolean {
    return this.pointerState === 'live';
  }

  private assertLive(op: string): void {
    if (this.pointerState === 'live') return;
    const why = this.pointerState === 'fetched' ? 'the plan was fetched with get(), which removes it from the worker' : 'it was disposed, which deleted the plan';
    throw new PointerStateError(`${op}: ${this} can no longer be used: ${why}. Send the plan again (plan.send(${this.location.id})).`);
  }

  /** `{ref}` of an argument, which must be a live pointer on this plan's worker. */
  private refOf(value: unknown, what: string, op: string): { ref: string } {
    const here = this.location.id;
    if (isPointer(value)) {
      if (value.location !== this.location) {
        throw new TensorsNotCollocatedError(op, [value.location.id, here], `${op}: ${what} lives on ${value.location.id}, but plan ${this.name} is on ${here}. Move it there (await ptr.move(${here})), or send the plan to ${value.location.id} as well.`);
      }
      return value.refFor(op) as { ref: string };
    }
    if (value instanceof tf.Tensor) {
      throw new TensorsNotCollocatedError(op, ['me', here], `${op}: ${what} is a local tensor, but plan ${this.name} runs on ${here}. Send it there first (t.send(${here})) and pass the pointer.`);
    }
    throw new TypeError(`${op}: ${what} must be a pointer to a tensor on ${here}, got ${Object.prototype.toString.call(value)}.`);
  }

  /** Runs the plan on the worker: one runPlan message; pointers to its results (an array when it returns several). */
  run(...args: unknown[]): any {
    this.assertLive(this.name);
    const { definition: def, sim } = this;
    if (args.length !== def.args.length) {
      throw new FedsimError(`plan ${def.name}(${def.args.map((a) => a.name).join(', ')}) takes ${def.args.length} argument(s), got ${args.length}.`);
    }
    const refs = args.map((a, i) => this.refOf(a, `argument ${i + 1} (${def.args[i].name})`, 'runPlan'));
    const resultIds = def.outputs.map(() => sim.nextId());
    sim.tell(this.location.id, 'runPlan', { planId: this.idAtLocation, args: refs, resultIds });
    const results = resultIds.map((idAtLocation) => new PointerTensor({ sim, location: this.location, idAtLocation }));
    return results.length === 1 ? results[0] : results;
  }

  /**
   * Trains on the worker with this (training) plan: `epochs` passes over `data`/`target`
   * in minibatches, all in one request. The plan's state holds the trained parameters
   * afterwards; fetch them with get().
   */
  train(options: PlanTrainOptions): Answer<PlanTrainResult> {
    this.assertLive('train');
    const { epochs, batchSize } = options;
    for (const [what, n] of [['epochs', epochs], ['batchSize', batchSize]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`train: ${what} must be a positive integer, got ${n}`);
    }
    const payload = {
      planId: this.idAtLocation,
      data: this.refOf(options.data, 'data', 'train').ref,
      target: this.refOf(options.target, 'target', 'train').ref,
      epochs,
      batchSize,
      ...(options.shuffle === undefined ? {} : { shuffle: options.shuffle }),
      ...(options.shuffleStream === undefined ? {} : { shuffleStream: options.shuffleStream }),
      ...(options.dropLast === undefined ? {} : { dropLast: options.dropLast }),
    };
    return new Answer(this.sim.ask(this.location.id, 'runPlanLoop', payload), (reply: ReplyPayload) => {
      if (reply.kind !== 'planLoop') throw new FedsimError(`train: ${this.location.id} answered '${reply.kind}' instead of the training result.`);
      return { meanLoss: reply.meanLoss ?? NaN, steps: reply.steps, samples: reply.samples };
    });
  }

  /** Fetches the plan (op list and current state) and removes it from the worker. */
  get(): Answer<Plan> {
    this.assertLive('get');
    this.pointerState = 'fetched';
    return new Answer(
      this.sim.ask(this.location.id, 'objectRequest', { id: this.idAtLocation }),
      (reply: ReplyPayload) => {
        if (reply.kind !== 'object' || reply.value.kind !== 'plan') {
          disposeTensorsIn(reply);
          throw new FedsimError(`get: ${this.location.id} answered with ${reply.kind === 'object' ? `a ${reply.value.kind}` : `'${reply.kind}'`} instead of plan ${this.name}.`);
        }
        return Plan.fromWire(reply.value.plan);
      },
      (error) => {
        const typed = remoteFailure(error);
        // Refused (e.g. private to others): the plan is still there and this pointer still points at it.
        if ((typed as Error).name !== 'ObjectNotFoundError' && this.pointerState === 'fetched') this.pointerState = 'live';
        return typed;
      },
    );
  }

  /** Deletes the plan on its worker. Idempotent. */
  dispose(): void {
    if (this.pointerState !== 'live') return;
    this.pointerState = 'disposed';
    this.sim.tell(this.location.id, 'delete', { ids: [this.idAtLocation] });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `[PlanPointer | ${this.sim.me.id}:${this.id} -> ${this.location.id}:${this.idAtLocation} (${this.name})]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
