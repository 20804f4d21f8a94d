/**
 * Where a federated experiment's data comes from, as data (for experiment files):
 *
 *   data: { source: synthetic, alpha: 1, beta: 1, devices: 30 }                 # FedProx's Synthetic(α, β)
 *   data: { source: mnist, dir: ./data/mnist, clients: 100,
 *           partition: { kind: shards, shardsPerClient: 2 } }                  # McMahan's non-IID MNIST
 *
 * Randomness comes from the simulation's named streams (`data/synthetic`,
 * `data/partition`), so the data of a run is fixed by its seed like everything else.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SimulationCore } from '../../runtime/simulation.js';
import type { ClientData } from '../rounds/run-federated.js';
import { type MnistLike, loadMnistLike } from '../data/idx.js';
import { partitionDirichlet, partitionIid, partitionShards } from '../data/partition.js';
import { syntheticFedProx } from '../data/synthetic.js';
import { type Dataset, concatDatasets } from '../training/dataset.js';

const positiveInt = z.number().int().positive();

/**
 * A whole count of at least `min`, of any size: sizes with a limit (rounds, devices,
 * features …) are compared with it by the preflight, whose message names the limit and
 * how to raise it; zod's int() would refuse 1e308 as an "unsafe integer" instead.
 */
export const countField = (min: number) =>
  z
    .number()
    .min(min)
    .refine((v) => Number.isInteger(v), { message: 'expected an integer' });

export const SyntheticSourceSchema = z
  .object({
    source: z.literal('synthetic'),
    alpha: z.number().min(0),
    beta: z.number().min(0),
    devices: countField(1).default(30),
    features: countField(1).default(60),
    classes: z.number().int().min(2).default(10),
    iid: z.boolean().default(false),
    maxSamplesPerDevice: positiveInt.optional(),
  })
  .strict();

export const PartitionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('iid') }).strict(),
  z.object({ kind: z.literal('shards'), shardsPerClient: positiveInt.default(2) }).strict(),
  z.object({ kind: z.literal('dirichlet'), alpha: z.number().positive(), minSize: z.number().int().min(0).default(0) }).strict(),
]);

export const MnistSourceSchema = z
  .object({
    source: z.literal('mnist'),
    /** An MNIST-format directory (MNIST, Fashion-MNIST, EMNIST), relative to the experiment file. */
    dir: z.string().min(1),
    clients: countField(1),
    partition: PartitionSchema.default({ kind: 'iid' }),
    /** Use only the first n training images (quick runs). */
    limit: positiveInt.optional(),
    /** Use only the first n test images. */
    testLimit: positiveInt.optional(),
  })
  .strict();

export const DataSourceSchema = z.discriminatedUnion('source', [SyntheticSourceSchema, MnistSourceSchema]);
export type DataSource = z.infer<typeof DataSourceSchema>;

export interface FederatedData {
  clients: ClientData[];
  /** The server's central test set. */
  testSet: Dataset;
  /** Features per sample and classes (what a model spec needs). */
  features: number;
  classes: number;
}

/** Rows `indices` of a row-major data set. */
function rows(x: Float32Array, y: Int32Array, width: number, indices: readonly number[]): Dataset {
  const outX = new Float32Array(indices.length * width);
  const outY = new Int32Array(indices.length);
  indices.forEach((i, r) => {
    outX.set(x.subarray(i * width, (i + 1) * width), r * width);
    outY[r] = y[i];
  });
  return { x: outX, y: outY };
}

/** Loaded image sets are kept for the process: exploring many seeds reads the files once. */
const mnistCache = new Map<string, MnistLike>();
function loadCached(dir: string, split: 'train' | 'test'): MnistLike {
  const key = `${split}:${dir}`;
  let data = mnistCache.get(key);
  if (!data) {
    data = loadMnistLike(dir, { split });
    mnistCache.set(key, data);
  }
  return data;
}

const first = (n: number, limit: number | undefined) => Array.from({ length: Math.min(n, limit ?? n) }, (_, i) => i);

export function loadFederatedData(source: DataSource, sim: SimulationCore, baseDir: string): FederatedData {
  if (source.source === 'synthetic') {
    const devices = syntheticFedProx(source, sim.rng('data/synthetic'));
    return {
      clients: devices.map((d) => ({ x: d.trainX, y: d.trainY, testX: d.testX, testY: d.testY })),
      testSet: concatDatasets(devices.map((d) => ({ x: d.testX, y: d.testY }))),
      features: source.features,
      classes: source.classes,
    };
  }
  const dir = resolve(baseDir, source.dir);
  const train = loadCached(dir, 'train');
  const test = loadCached(dir, 'test');
  const width = train.rows * train.cols;
  const pool = first(train.count, source.limit);
  const labels = pool.map((i) => train.labels[i]);
  const rng = sim.rng('data/partition');
  const p = source.partition;
  const parts =
    p.kind === 'iid'
      ? partitionIid(pool.length, source.clients, rng)
      : p.kind === 'shards'
        ? partitionShards(labels, source.clients, { shardsPerClient: p.shardsPerClient }, rng)
        : partitionDirichlet(labels, source.clients, { alpha: p.alpha, minSize: p.minSize }, rng);
  return {
    clients: parts.map((indices) => rows(train.images, train.labels, width, indices.map((k) => pool[k]))),
    testSet: rows(test.images, test.labels, width, first(test.count, source.testLimit)),
    features: width,
    classes: Math.max(train.numClasses, test.numClasses),
  };
}
