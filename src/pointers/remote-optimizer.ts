/**
 * Remote optimisers: SGD (with momentum, dampening, Nesterov, weight decay) and Adam
 * over parameters that live on a worker, in PyTorch's conventions (optimizer-rule.ts).
 *
 * The optimiser itself lives on the worker too: its state (momentum buffers, Adam's
 * moments and step counts) never leaves it. `zeroGrad()` and `step()` are one-way
 * messages, so the tutorial's loop reads the same:
 *
 *   opt.zeroGrad(); const loss = …; loss.backward(); opt.step();
 *
 * and runs in that order on the worker (one channel, FIFO). A step that fails (e.g. the
 * parameters were fetched meanwhile) changes nothing and is reported in
 * `sim.remoteErrors`, as for any one-way message.
 *
 * The parameters are named in every message rather than fixed at creation: `bind()`
 * points the optimiser at a model sent afresh (a new set of objects on the same
 * worker) while it keeps its state, slot by slot — what PySyft's `Optims` relies on.
 */
import { inspect } from 'node:util';
import { type AdamRule, describeIssues, type OptimizerRule, optimizerRuleProblem, OptimizerRuleSchema, type SgdRule } from '../messages/index.js';
import { PointerStateError } from './errors.js';
import { ModelPointer } from './model-pointer.js';
import { isPointer } from './op-args.js';
import type { PointerTensor } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';
import { ModelLocationError } from './training-errors.js';
import type { VirtualWorker } from './worker-handle.js';

/** What an optimiser updates: a model on a worker, or pointers to tensors on one worker. */
export type ParameterSource = ModelPointer<any> | readonly PointerTensor<any>[];

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  /** Default 0.001, as in PyTorch. */
  lr?: number;
  /** (β₁, β₂); default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  weightDecay?: number;
}

/** Where the parameters live; throws when they are not all on one worker. */
function locate(params: ParameterSource, op: string): { sim: Simulation; location: VirtualWorker } {
  if (params instanceof ModelPointer) {
    params.assertUsable(op);
    return { sim: params.sim, location: params.location };
  }
  if (!Array.isArray(params) || params.length === 0 || !params.every(isPointer)) {
    throw new TypeError(`${op}: expected a model pointer (model.send(bob)) or a non-empty array of pointers to its parameters (modelPtr.parameters()).`);
  }
  const first = params[0] as PointerTensor<any>;
  const elsewhere = params.find((p: PointerTensor<any>) => p.location !== first.location);
  if (elsewhere) {
    throw new ModelLocationError(`${op}: the parameters live on different workers (${first.location.id} and ${elsewhere.location.id}); an optimiser runs on one worker, where all its parameters are.`);
  }
  return { sim: first.sim, location: first.location };
}

function parseRule(rule: OptimizerRule, op: string, example: string): OptimizerRule {
  const parsed = OptimizerRuleSchema.safeParse(rule);
  if (!parsed.success) throw new RangeError(`${op}: invalid options (${describeIssues(parsed.error)}). For example: ${example}.`);
  const problem = optimizerRuleProblem(parsed.data);
  if (problem) throw new RangeError(`${op}: ${problem}.`);
  return parsed.data;
}

export abstract class RemoteOptimizer {
  /** The optimiser's id on its worker. */
  readonly id: string;
  readonly sim: Simulation;
  /** The worker the optimiser (and its state) lives on. */
  readonly location: VirtualWorker;
  readonly rule: OptimizerRule;
  private source: ParameterSource;
  private disposed = false;

  protected constructor(params: ParameterSource, rule: OptimizerRule, what: string, example: string) {
    const { sim, location } = locate(params, `new ${what}`);
    if (location.isClient) throw new ModelLocationError(`new ${what}: the parameters are local; optimisers run on workers (send the model first).`);
    this.rule = parseRule(rule, `new ${what}`, example);
    this.sim = sim;
    this.location = location;
    this.source = params;
    this.id = sim.nextId();
    sim.tell(location.id, 'optimizer', { id: this.id, rule: this.rule });
  }

  /** What the optimiser currently updates. */
  get parameters(): ParameterSource {
    return this.source;
  }

  /**
   * Points the optimiser at other parameters on its worker — typically the same model
   * sent again — keeping its state: slot i's state goes with the i-th parameter.
   */
  bind(params: ParameterSource): this {
    this.assertUsable('bind');
    const { location } = locate(params, 'bind');
    if (location !== this.location) {
      throw new ModelLocationError(`bind: optimiser ${this.id} lives on ${this.location.id}, but these parameters are on ${location.id}; its state stays where it is. Use an optimiser on ${location.id} (Optims keeps one per worker).`);
    }
    this.source = params;
    return this;
  }

  /** Forgets the parameters' gradients (they accumulate across backward() calls until this). One-way. */
  zeroGrad(): this {
    this.sim.tell(this.location.id, 'optimizerZeroGrad', { id: this.id, params: this.parameterIds('zeroGrad') });
    return this;
  }

  /** Updates the parameters from their gradients, on the worker. One-way. */
  step(): this {
    this.sim.tell(this.location.id, 'optimizerStep', { id: this.id, params: this.parameterIds('step') });
    return this;
  }

  /** Deletes the optimiser and its state on the worker. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sim.tell(this.location.id, 'optimizerDelete', { id: this.id });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `<Remote${this.rule.name === 'sgd' ? 'SGD' : 'Adam'} ${this.id} on ${this.location.id} lr=${this.rule.lr}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private assertUsable(op: string): void {
    if (this.disposed) throw new PointerStateError(`${op}: ${this} was disposed; create a new optimiser.`);
  }

  private parameterIds(op: string): string[] {
    this.assertUsable(op);
    const source = this.source;
    if (source instanceof ModelPointer) {
      source.assertUsable(`opt.${op}`);
      if (source.location !== this.location) {
        throw new ModelLocationError(
          `opt.${op}: optimiser ${this.id} lives on ${this.location.id}, but ${source} is on ${source.location.id} now. An optimiser updates parameters where it lives: use one created on ${source.location.id}.`,
        );
      }
      return source.parameterIds(`opt.${op}`);
    }
    return source.map((p) => {
      if (p.location !== this.location) throw new ModelLocationError(`opt.${op}: parameter ${p} is on ${p.location.id}, but optimiser ${this.id} lives on ${this.location.id}.`);
      return (p.refFor(`opt.${op}`) as { ref: string }).ref;
    });
  }
}

/** Stochastic gradient descent (PyTorch's `optim.SGD`), on the parameters' worker. */
export class RemoteSGD extends RemoteOptimizer {
  constructor(params: ParameterSource, options: SgdOptions) {
    const rule: SgdRule = {
      name: 'sgd',
      lr: options?.lr,
      momentum: options?.momentum ?? 0,
      dampening: options?.dampening ?? 0,
      nesterov: options?.nesterov ?? false,
      weightDecay: options?.weightDecay ?? 0,
    };
    super(params, rule, 'RemoteSGD', 'new RemoteSGD(modelPtr, { lr: 0.1, momentum: 0.9 })');
  }
}

/** Adam (PyTorch's `optim.Adam`), on the parameters' worker. */
export class RemoteAdam extends RemoteOptimizer {
  constructor(params: ParameterSource, options: AdamOptions = {}) {
    const rule: AdamRule = {
      name: 'adam',
      lr: options.lr ?? 0.001,
      beta1: options.betas?.[0] ?? 0.9,
      beta2: options.betas?.[1] ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    };
    super(params, rule, 'RemoteAdam', 'new RemoteAdam(modelPtr, { lr: 0.1 })');
  }
}
