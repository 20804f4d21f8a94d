/**
 * FederatedDataLoader: minibatches of a FederatedDataset, made where the data is
 * (PySyft's `sy.FederatedDataLoader`).
 *
 * Order, as in PySyft:
 *  - default: every batch of the first worker, then every batch of the next (workers
 *    in the data set's order), each yielded as `[data, target]` pointers;
 *  - `iterPerWorker: true`: each step yields one batch per worker, as a Map from
 *    worker id to `[data, target]`, until the first worker runs out. (PySyft returns
 *    a bare tuple instead of a dict when there is a single worker; here it is always
 *    a Map.)
 * Within a worker, batches are consecutive rows, or — with `shuffle` — the rows of a
 * permutation drawn anew every epoch by the worker from its own `shuffle` stream
 * (`actor/<worker>/shuffle`), so the order depends on the seed alone. `dropLast` drops
 * each worker's last, smaller batch.
 *
 * No data comes here: a batch is a `slice` of the worker's rows, or a `gather` of them
 * by a `slice` of the permutation — commands on the worker, pipelined. Each batch is
 * deleted on its worker when the loop moves on (as PySyft's pointers are garbage-
 * collected when the loop variables are rebound); pass `keepBatches: true` to own them.
 *
 * Unlike PySyft, `length` counts the batches an epoch really yields (PySyft divides
 * the total number of samples by the batch size, which miscounts when workers' sizes
 * are not multiples of it).
 */
import { drawPermutation, rt, type PointerTensor } from '../../pointers/index.js';
import { FederatedDataError, type FederatedDataset } from './federated-dataset.js';

export interface FederatedDataLoaderOptions<PerWorker extends boolean = boolean> {
  /** Rows per batch (default 8, as in PySyft). */
  batchSize?: number;
  /** Draw a new order of each worker's rows every epoch (default false). */
  shuffle?: boolean;
  /** Drop each worker's last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Yield one batch per worker per step (default false: exhaust one worker, then the next). */
  iterPerWorker?: PerWorker;
  /** Keep every batch (default false: a batch is deleted when the iteration moves past it). */
  keepBatches?: boolean;
}

/** One minibatch on one worker: pointers to its inputs and its targets. */
export type Batch = [data: PointerTensor, target: PointerTensor];
export type LoaderItem<PerWorker extends boolean> = PerWorker extends true ? Map<string, Batch> : Batch;

const KNOWN_OPTIONS = new Set(['batchSize', 'shuffle', 'dropLast', 'iterPerWorker', 'keepBatches']);

/** One worker's pass over its rows in one epoch. */
class WorkerEpoch {
  private next = 0;
  private permutation?: PointerTensor;

  constructor(
    readonly worker: string,
    private readonly data: PointerTensor,
    private readonly targets: PointerTensor,
    private readonly rows: number,
    private readonly batchSize: number,
    private readonly shuffle: boolean,
    readonly batches: number,
  ) {}

  get done(): boolean {
    return this.next >= this.batches;
  }

  take(): Batch {
    const start = this.next * this.batchSize;
    const size = Math.min(this.batchSize, this.rows - start);
    this.next++;
    const [data, target] = this.shuffle ? this.gathered(start, size) : [this.sliced(this.data, start, size), this.sliced(this.targets, start, size)];
    for (const [ptr, source] of [[data, this.data], [target, this.targets]] as const) {
      ptr.shape = [size, ...(source.shape ?? []).slice(1)];
      ptr.dtype = source.dtype;
    }
    return [data, target];
  }

  private sliced(source: PointerTensor, start: number, size: number): PointerTensor {
    const rest = (source.shape ?? []).slice(1);
    return rt.slice(source, [start, ...rest.map(() => 0)], [size, ...rest.map(() => -1)]);
  }

  private gathered(start: number, size: number): Batch {
    // The worker draws the epoch's order when its first batch is asked for (PySyft's sampler is lazy too).
    if (!this.permutation) this.permutation = drawPermutation(this.data.location, this.rows);
    const indices = rt.slice(this.permutation, [start], [size]);
    const batch: Batch = [rt.gather(this.data, indices), rt.gather(this.targets, indices)];
    indices.dispose();
    return batch;
  }

  /** Deletes the epoch's permutation on the worker. */
  close(): void {
    this.permutation?.dispose();
    this.permutation = undefined;
  }
}

export class FederatedDataLoader<PerWorker extends boolean = false> implements Iterable<LoaderItem<PerWorker>> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly iterPerWorker: PerWorker;
  readonly keepBatches: boolean;

  constructor(
    readonly dataset: FederatedDataset,
    options: FederatedDataLoaderOptions<PerWorker> = {},
  ) {
    if (!dataset || typeof (dataset as Partial<FederatedDataset>).workers !== 'object' || typeof (dataset as Partial<FederatedDataset>).get !== 'function') {
      throw new FederatedDataError('FederatedDataLoader: the data set is not a FederatedDataset; spread a local data set over workers first: new BaseDataset(x, y).federate([bob, alice]).');
    }
    const unknown = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key));
    if (unknown.length > 0) throw new FederatedDataError(`FederatedDataLoader: unknown option(s) ${unknown.join(', ')}; the options are ${[...KNOWN_OPTIONS].join(', ')}.`);
    const batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new FederatedDataError(`FederatedDataLoader: batchSize must be a whole number ≥ 1, got ${batchSize}.`);
    if (dataset.workers.length === 0) throw new FederatedDataError('FederatedDataLoader: the federated data set has no worker, so there is nothing to load.');
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.iterPerWorker = (options.iterPerWorker ?? false) as PerWorker;
    this.keepBatches = options.keepBatches ?? false;
  }

  /** Batches `workerId` yields per epoch. */
  batchesOf(workerId: string): number {
    const rows = this.dataset.get(workerId).length;
    return this.dropLast ? Math.floor(rows / this.batchSize) : Math.ceil(rows / this.batchSize);
  }

  /** Items an epoch yields: batches (default), or steps of one batch per worker (iterPerWorker). */
  get length(): number {
    const counts = this.dataset.workers.map((w) => this.batchesOf(w));
    return this.iterPerWorker ? Math.min(...counts) : counts.reduce((a, b) => a + b, 0);
  }

  /** One epoch. Each call starts a new one (a new permutation per worker when shuffling). */
  [Symbol.iterator](): Iterator<LoaderItem<PerWorker>> {
    const epochs = this.dataset.workers.map((worker) => {
      const { data, targets, length } = this.dataset.get(worker);
      return new WorkerEpoch(worker, data, targets, length, this.batchSize, this.shuffle, this.batchesOf(worker));
    });
    const steps = this.length;
    let yielded = 0;
    let current = 0;
    let previous: Batch[] = [];
    let finished = false;
    const release = () => {
      if (!this.keepBatches) for (const [data, target] of previous) (data.dispose(), target.dispose());
      previous = [];
    };
    const finish = (): IteratorResult<LoaderItem<PerWorker>> => {
      if (!finished) {
        finished = true;
        release();
        for (const epoch of epochs) epoch.close();
      }
      return { done: true, value: undefined };
    };
    const nextItem = (): IteratorResult<LoaderItem<PerWorker>> => {
      if (finished || yielded >= steps) return finish();
      release();
      yielded++;
      if (this.iterPerWorker) {
        const step = new Map<string, Batch>(epochs.map((epoch) => [epoch.worker, epoch.take()]));
        previous = [...step.values()];
        return { done: false, value: step as LoaderItem<PerWorker> };
      }
      while (epochs[current].done) epochs[current++].close();
      const batch = epochs[current].take();
      previous = [batch];
      return { done: false, value: batch as LoaderItem<PerWorker> };
    };
    return { next: nextItem, return: finish };
  }
}
