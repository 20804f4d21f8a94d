/**
 * Federated data sets (PySyft's `sy.BaseDataset`, `dataset.federate(workers)` and
 * `sy.FederatedDataset`).
 *
 * `federate` follows PySyft's `dataset_federate` exactly: the rows are cut, in order,
 * into contiguous chunks of ⌈n/k⌉ rows (the last one shorter), and chunk i goes to
 * workers[i mod k]. With ⌈n/k⌉-row chunks there are at most k of them, so when n is
 * small some workers get nothing (n = 9, k = 4: chunks of 3 for the first three
 * workers, none for the fourth) — as in PySyft.
 *
 * A FederatedDataset holds, per worker, pointers to that worker's data and targets;
 * the data never comes back here. It owns those objects: dispose() deletes them.
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError } from '../errors.js';
import { isTensor } from '../../messages/index.js';
import { PointerTensor, type SendOptions, type VirtualWorker } from '../../pointers/index.js';

/** Misuse of federated data sets or of the federated data loader (a refusal: nothing was sent or changed). */
export class FederatedDataError extends FlConfigError {
  override name = 'FederatedDataError';
}

type Rows = tf.Tensor | PointerTensor;

function rowsOf(value: Rows, what: string, where: string): number {
  const shape = value instanceof PointerTensor ? value.shape : isTensor(value) ? value.shape : undefined;
  if (shape === undefined) {
    if (value instanceof PointerTensor) throw new FederatedDataError(`${where}: the shape of ${what} ${value} is not known here; await ptr.getShape() first.`, { op: where, field: what });
    throw new FederatedDataError(`${where}: ${what} must be a tf.Tensor or a PointerTensor, got ${Object.prototype.toString.call(value)}; wrap arrays with tf.tensor(…) first.`, { op: where, field: what });
  }
  if (shape.length === 0) throw new FederatedDataError(`${where}: ${what} is a scalar; a data set needs one row per sample (shape [n, …]).`, { op: where, field: what });
  return shape[0];
}

/** Targets go with data of the same kind: local tensors (of any rank) with local, pointers with pointers. */
export type TargetsFor<T extends Rows> = T extends PointerTensor ? PointerTensor : tf.Tensor;

/** Inputs and targets, row by row: local tensors, or pointers to tensors on one worker. */
export class BaseDataset<T extends Rows = tf.Tensor> {
  readonly length: number;

  constructor(
    readonly data: T,
    readonly targets: TargetsFor<T>,
  ) {
    const n = rowsOf(data, 'data', 'BaseDataset');
    const m = rowsOf(targets, 'targets', 'BaseDataset');
    if (n !== m) throw new FederatedDataError(`BaseDataset: data has ${n} rows but targets has ${m}; every sample needs exactly one target.`);
    const remote = [data, targets].filter((v) => v instanceof PointerTensor) as PointerTensor[];
    if (remote.length === 1) throw new FederatedDataError('BaseDataset: data and targets must both be local tensors or both pointers (to the same worker).');
    if (remote.length === 2 && remote[0].location !== remote[1].location) {
      throw new FederatedDataError(`BaseDataset: data is on ${remote[0].location.id} but targets on ${remote[1].location.id}; a worker's data set must live on that worker.`);
    }
    this.length = n;
  }

  /** The worker holding the data (undefined for a local data set). */
  get location(): VirtualWorker | undefined {
    return this.data instanceof PointerTensor ? this.data.location : undefined;
  }

  /** Sends data and targets to `worker`: a data set of pointers. The local tensors stay here. */
  send(worker: VirtualWorker, options: SendOptions = {}): BaseDataset<PointerTensor> {
    const [data, targets] = this.localRows('send');
    return new BaseDataset(worker.sim.me.send(data, worker, options), worker.sim.me.send(targets, worker, options));
  }

  /** Cuts the rows into ⌈n/k⌉-row chunks and sends chunk i to workers[i mod k] (PySyft's federate). */
  federate(workers: readonly VirtualWorker[], options: SendOptions = {}): FederatedDataset {
    const [data, targets] = this.localRows('federate');
    if (!Array.isArray(workers) || workers.length === 0) throw new FederatedDataError('federate: name the workers to spread the data over, e.g. dataset.federate([bob, alice]).');
    if (this.length === 0) throw new FederatedDataError('federate: the data set is empty; there is nothing to send.');
    const chunk = Math.ceil(this.length / workers.length);
    const parts: Array<BaseDataset<PointerTensor>> = [];
    for (let start = 0, i = 0; start < this.length; start += chunk, i++) {
      const rows = Math.min(chunk, this.length - start);
      const worker = workers[i % workers.length];
      const [x, y] = [data, targets].map((t) => tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [rows, ...t.shape.slice(1)]));
      try {
        parts.push(new BaseDataset(worker.sim.me.send(x, worker, options), worker.sim.me.send(y, worker, options)));
      } finally {
        tf.dispose([x, y]);
      }
    }
    return new FederatedDataset(parts);
  }

  private localRows(op: string): [tf.Tensor, tf.Tensor] {
    if (this.data instanceof PointerTensor) throw new FederatedDataError(`${op}: this data set is already on ${this.data.location.id}; ${op} a local data set (new BaseDataset(tensor, tensor)).`);
    return [this.data as tf.Tensor, this.targets as tf.Tensor];
  }

  toString(): string {
    return `BaseDataset\n\tData: ${this.data instanceof PointerTensor ? this.data : `tensor of shape [${(this.data as tf.Tensor).shape}]`}\n\ttargets: ${this.targets instanceof PointerTensor ? this.targets : `tensor of shape [${(this.targets as tf.Tensor).shape}]`}`;
  }
}

/** One remote data set per worker, by worker id (in the order they were given). */
export class FederatedDataset {
  private readonly datasets = new Map<string, BaseDataset<PointerTensor>>();

  constructor(datasets: ReadonlyArray<BaseDataset<PointerTensor>>) {
    for (const dataset of datasets) {
      const location = dataset.location;
      if (!location) throw new FederatedDataError('FederatedDataset: every data set must already be on a worker (dataset.send(bob)); use dataset.federate([bob, alice]) to spread a local one.');
      if (this.datasets.has(location.id)) {
        throw new FederatedDataError(`FederatedDataset: two data sets are on ${location.id}; give each worker one data set (concatenate them there first).`);
      }
      this.datasets.set(location.id, dataset);
    }
  }

  /** Worker ids, in order. */
  get workers(): string[] {
    return [...this.datasets.keys()];
  }

  /** The data set on `workerId`. */
  get(workerId: string): BaseDataset<PointerTensor> {
    const dataset = this.datasets.get(workerId);
    if (!dataset) throw new FederatedDataError(`FederatedDataset: no data on '${workerId}'; the data is on ${this.workers.join(', ') || '(no worker)'}.`);
    return dataset;
  }

  /** Samples over all workers. */
  get length(): number {
    let n = 0;
    for (const dataset of this.datasets.values()) n += dataset.length;
    return n;
  }

  /** Deletes every worker's data and targets. */
  dispose(): void {
    for (const dataset of this.datasets.values()) {
      dataset.data.dispose();
      dataset.targets.dispose();
    }
  }

  toString(): string {
    return `FederatedDataset\n    Distributed across: ${this.workers.join(', ')}\n    Number of datapoints: ${this.length}\n`;
  }
}
