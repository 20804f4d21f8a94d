/**
 * Partitioners: split a centralised data set (n samples, or its label array) among
 * federated clients. Each returns `number[][]`: for client c, the indices of its
 * samples, sorted ascending. Sorting makes the result independent of the order in
 * which the algorithm happened to collect the indices; the randomness lies only in
 * *which* indices a client gets, and comes from the RandomStream passed in.
 *
 * Parameters that cannot give a partition (more clients than samples, a bad alpha…) are
 * refused with an FlConfigError naming the function (where.op) and the parameter
 * (where.field), before anything is drawn from the stream.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';
import { sampleDirichlet } from './dirichlet.js';

export type Labels = ArrayLike<number>;

function checkInteger(who: string, field: string, what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new FlConfigError(`${who}: ${what} must be an integer ≥ ${min}, got ${value}; pass a whole number ≥ ${min}`, { op: who, field });
  }
}

function checkLabels(who: string, labels: Labels): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0) {
      throw new FlConfigError(`${who}: labels must be non-negative integers, but labels[${i}] is ${l}; labels are class indices: map them to 0..K-1 first`, { op: who, field: 'labels', index: i });
    }
  }
}

const ascending = (a: number, b: number): number => a - b;

function range(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * IID split: shuffle 0..n-1, cut into `clients` contiguous chunks of ⌊n/clients⌋;
 * the n mod clients leftovers go one each to the first clients, so sizes differ by ≤ 1.
 */
export function partitionIid(n: number, clients: number, rng: RandomStream): number[][] {
  checkInteger('partitionIid', 'n', 'the sample count', n, 0);
  checkInteger('partitionIid', 'clients', 'the client count', clients, 1);
  if (clients > n) {
    throw new FlConfigError(`partitionIid: more clients (${clients}) than samples (${n}): some client would get none; use at most ${n} clients or more data`, { op: 'partitionIid', field: 'clients' });
  }
  const perm = rng.shuffle(range(n));
  const base = Math.floor(n / clients);
  const extra = n % clients;
  const parts: number[][] = [];
  let start = 0;
  for (let c = 0; c < clients; c++) {
    const size = base + (c < extra ? 1 : 0);
    parts.push(perm.slice(start, start + size).sort(ascending));
    start += size;
  }
  return parts;
}

export interface ShardOptions {
  /** Shards per client (McMahan et al. 2017 use 2). */
  shardsPerClient?: number;
  /** Samples per shard; default ⌊n / (clients · shardsPerClient)⌋. */
  shardSize?: number;
}

/**
 * McMahan et al. (2017)'s pathological non-IID split: sort the samples by label
 * (ties by index, so the order is fixed), cut the sorted list into
 * clients·shardsPerClient shards of equal size, and deal the shards at random,
 * shardsPerClient to each client. With MNIST (60000) and 100 clients: 200 shards of 300.
 *
 * When n is not a multiple of the shard count, the samples past the last whole shard
 * (the tail of the sorted order, i.e. the highest labels) are left out, as every
 * client must get the same number of samples; they appear in no client's list.
 */
export function partitionShards(labels: Labels, clients: number, options: ShardOptions, rng: RandomStream): number[][] {
  const who = 'partitionShards';
  const n = labels.length;
  checkInteger(who, 'clients', 'the client count', clients, 1);
  const perClient = options.shardsPerClient ?? 2;
  checkInteger(who, 'shardsPerClient', 'shardsPerClient', perClient, 1);
  checkLabels(who, labels);
  const shards = clients * perClient;
  const size = options.shardSize ?? Math.floor(n / shards);
  if (options.shardSize !== undefined) checkInteger(who, 'shardSize', 'shardSize', options.shardSize, 1);
  if (size < 1) {
    throw new FlConfigError(`${who}: ${shards} shards (${clients} clients × ${perClient}) but only ${n} samples: more shards than samples; use fewer clients or shardsPerClient`, { op: who, field: 'clients' });
  }
  if (size * shards > n) {
    throw new FlConfigError(`${who}: ${shards} shards of ${size} need ${size * shards} samples, but there are only ${n}; lower shardSize to at most ${Math.floor(n / shards)}`, { op: who, field: 'shardSize' });
  }
  const order = range(n).sort((a, b) => labels[a] - labels[b] || a - b);
  const dealt = rng.shuffle(range(shards));
  const parts: number[][] = [];
  for (let c = 0; c < clients; c++) {
    const mine: number[] = [];
    for (let k = 0; k < perClient; k++) {
      const s = dealt[c * perClient + k];
      for (let i = s * size; i < (s + 1) * size; i++) mine.push(order[i]);
    }
    parts.push(mine.sort(ascending));
  }
  return parts;
}

export interface DirichletOptions {
  /** Concentration: small (0.1) gives few classes per client, large (100) nearly IID. */
  alpha: number;
  /** Resample until every client has at least this many samples (default 0: no check). */
  minSize?: number;
  /** Bound on the resampling (default 1000); exceeding it is an FlConfigError (the settings cannot be met). */
  maxAttempts?: number;
}

/**
 * Label-skewed split (Hsu et al. 2019; Yurochkin et al. 2019): for each class, in
 * ascending label order, shuffle that class's indices, draw proportions p ~ Dir(α)
 * over the clients, and give client i the slice between ⌊m·Σ_{j<i} p_j⌋ and
 * ⌊m·Σ_{j≤i} p_j⌋ of the class's m samples. Every sample goes to exactly one client;
 * clients may end up empty unless `minSize` asks for a redraw. Redraws continue the
 * same stream, so the result is still fixed by the stream alone.
 */
export function partitionDirichlet(labels: Labels, clients: number, options: DirichletOptions, rng: RandomStream): number[][] {
  const who = 'partitionDirichlet';
  const n = labels.length;
  const { alpha } = options;
  const minSize = options.minSize ?? 0;
  const maxAttempts = options.maxAttempts ?? 1000;
  checkInteger(who, 'clients', 'the client count', clients, 1);
  if (!(alpha > 0) || !Number.isFinite(alpha)) {
    throw new FlConfigError(`${who}: alpha must be a finite number > 0, got ${alpha}; 0.1 gives strong label skew, 100 nearly IID`, { op: who, field: 'alpha' });
  }
  checkInteger(who, 'minSize', 'minSize', minSize, 0);
  checkInteger(who, 'maxAttempts', 'maxAttempts', maxAttempts, 1);
  checkLabels(who, labels);
  if (minSize * clients > n) {
    throw new FlConfigError(`${who}: ${clients} clients × minSize ${minSize} = ${minSize * clients} samples needed, but there are only ${n}; lower minSize to at most ${Math.floor(n / clients)} or use fewer clients`, { op: who, field: 'minSize' });
  }

  // Group indices by class, classes in ascending label order (a fixed iteration order).
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  const classes = [...byClass.keys()].sort(ascending);

  let smallest = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const parts: number[][] = Array.from({ length: clients }, () => []);
    for (const label of classes) {
      const idx = rng.shuffle([...byClass.get(label)!]);
      const p = sampleDirichlet(alpha, clients, rng);
      const m = idx.length;
      let cum = 0;
      let start = 0;
      for (let c = 0; c < clients; c++) {
        cum += p[c];
        // The last client takes the rest: rounding in `cum` must not lose a sample.
        const end = c === clients - 1 ? m : Math.min(m, Math.floor(cum * m));
        for (let i = start; i < end; i++) parts[c].push(idx[i]);
        start = Math.max(start, end);
      }
    }
    smallest = parts.reduce((m, p) => Math.min(m, p.length), Infinity);
    if (smallest >= minSize) return parts.map((p) => p.sort(ascending));
  }
  throw new FlConfigError(
    `${who}: no draw in ${maxAttempts} attempts gave every one of ${clients} clients ≥ ${minSize} samples ` +
      `(the last draw's smallest client had ${smallest}); raise alpha, lower minSize, use fewer clients or raise maxAttempts`,
    { op: who, field: 'minSize' },
  );
}
