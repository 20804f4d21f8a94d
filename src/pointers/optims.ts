/**
 * Optims: one optimiser per worker (PySyft's `syft.federated.floptimizer.Optims`).
 *
 * In PySyft the model is sent to a different worker every step, and each worker's
 * optimiser keeps its own state (Adam's moments) across those steps. Here the model is
 * sent afresh each time (`model.send(worker)` makes new objects there), so the
 * optimiser is told which parameters to update when it is fetched:
 *
 *   const optims = new Optims(['bob', 'alice'], (params) => new RemoteAdam(params, { lr: 0.1 }));
 *   const opt = optims.getOptim(data.location.id, modelPtr);   // created or re-bound
 *
 * The first call for a worker builds its optimiser with `factory(params)`; later calls
 * re-bind it (state kept, slot by slot); `getOptim(worker)` alone returns it as last bound.
 */
import type { ParameterSource, RemoteOptimizer } from './remote-optimizer.js';
import { ModelLocationError, OptimsError } from './training-errors.js';
import type { VirtualWorker } from './worker-handle.js';

export class Optims<O extends RemoteOptimizer = RemoteOptimizer> {
  /** Worker ids, in the order given. */
  readonly workers: readonly string[];
  private readonly optimizers = new Map<string, O>();

  constructor(
    workers: ReadonlyArray<string | VirtualWorker>,
    private readonly factory: (params: ParameterSource) => O,
  ) {
    if (typeof factory !== 'function') throw new TypeError(`new Optims: the second argument builds one worker's optimiser from its parameters, e.g. (params) => new RemoteAdam(params, { lr: 0.1 }).`);
    this.workers = workers.map((w) => (typeof w === 'string' ? w : w.id));
    const repeated = this.workers.find((w, i) => this.workers.indexOf(w) !== i);
    if (repeated !== undefined) throw new OptimsError(`new Optims: worker '${repeated}' is listed twice; Optims keeps one optimiser per worker.`);
  }

  /** The optimiser of `worker`, built or re-bound to `params` when given. */
  getOptim(worker: string | VirtualWorker, params?: ParameterSource): O {
    const id = typeof worker === 'string' ? worker : worker?.id;
    if (!this.workers.includes(id)) {
      throw new OptimsError(`getOptim('${id}'): Optims keeps one optimiser for each of [${this.workers.join(', ')}], and '${id}' is not one of them. List it when creating Optims: new Optims([…, '${id}'], factory).`);
    }
    const existing = this.optimizers.get(id);
    if (params === undefined) {
      if (!existing) throw new OptimsError(`getOptim('${id}'): ${id}'s optimiser does not exist yet; pass the parameters it updates the first time: optims.getOptim('${id}', modelPtr).`);
      return existing;
    }
    if (existing) return existing.bind(params);
    const created = this.factory(params);
    if (created.location.id !== id) {
      created.dispose();
      throw new ModelLocationError(`getOptim('${id}'): the parameters given are on ${created.location.id}, not on ${id}. Send the model to ${id} first, or ask for ${created.location.id}'s optimiser.`);
    }
    this.optimizers.set(id, created);
    return created;
  }

  /** The number of workers (PySyft's `count()`). */
  count(): number {
    return this.workers.length;
  }

  /** Deletes every optimiser built so far (and its state on its worker). */
  dispose(): void {
    for (const optimizer of this.optimizers.values()) optimizer.dispose();
    this.optimizers.clear();
  }
}
