/**
 * Where runFederated's clients come from: an array of every client's data (each client is
 * checked and spawned before the run), or a lazy source — a count and a function — for
 * populations too large to hold: a million registered devices of which a round trains a
 * hundred.
 *
 * Under a lazy source nothing per client exists before it is needed: client `index` is the
 * id `client-<index>` (zero-padded, so ids sort in index order), its actor is spawned on
 * its first message (SimulationCore.spawnOnDemand) and only then is `data(index)` called
 * and checked against the model (data it cannot take stops the simulation there: the
 * awaited run rejects with the error naming the client, where the array form refuses it
 * before the run). What would need every client's data is refused
 * (per-client and train-set evaluations), and the bound on a report's sample count, which
 * the array form computes from the data, is given by the source.
 *
 *   runFederated(sim, { model, clients: { count: 1_000_000, data: (i) => shardOf(i), maxSamplesPerClient: 600 }, … })
 */
import { FlConfigError, IncompatibleModelError } from '../errors.js';
import type { LossName, ModelSpec } from '../models/spec.js';
import type { Model } from '../models/model.js';
import { firstNonFinite } from '../models/weights.js';
import { compareIds } from '../strategies/compare-ids.js';
import { type Dataset, datasetSize } from '../training/dataset.js';

/** One client's private data. */
export interface ClientData extends Dataset {
  /** Actor id (default `client-<index>`, zero-padded so ids sort in index order). */
  id?: string;
  /** The client's own test split, for per-client metrics. */
  testX?: Float32Array;
  testY?: Int32Array | Float32Array;
  /** Cost multiplier of this device (default 1; 10 = a straggler ten times slower). */
  slowdown?: number;
}

/** Clients given by a count and a function (see the file comment). */
export interface LazyClients {
  /** How many clients the run has: ids `client-<index>` for index 0 … count − 1. */
  count: number;
  /**
   * Client `index`'s data, called once, when the client is first messaged: it must depend on
   * the index alone (derive any randomness from it), or runs of one seed would differ.
   * Its `id`, if set, must be the client's `client-<index>`.
   */
  data(index: number): ClientData;
  /** No client holds more training samples (a client with more is refused when spawned; no report may claim more). */
  maxSamplesPerClient: number;
}

export type ClientsOption = readonly ClientData[] | LazyClients;

export const isLazyClients = (clients: ClientsOption): clients is LazyClients => !Array.isArray(clients) && typeof (clients as LazyClients)?.data === 'function';

/** A lazy source over an array of client data (for small runs and tests): the same clients, spawned on demand. */
export function lazyClients(clients: readonly ClientData[], maxSamplesPerClient: number): LazyClients {
  return { count: clients.length, data: (index) => clients[index], maxSamplesPerClient };
}

const PREFIX = 'client-';

/** The default id of client `index` of `count`. */
const defaultId = (index: number, width: number) => `${PREFIX}${String(index).padStart(width, '0')}`;
const idWidth = (count: number) => String(Math.max(0, count - 1)).length;

/** The run's clients as the engine sees them: ids, and how to tell a client id from another actor's. */
export interface ClientRoster {
  /** Ids in client-index order. */
  ids: string[];
  /** The same ids sorted by compareIds (the engine's order). */
  sortedIds: string[];
  /** Whether `id` is one of the run's clients (O(1) or O(log N): the byte meter asks at every delivery). */
  isClient(id: string): boolean;
}

/**
 * The ids `client-<index>` of `count` clients, each one flat string. (A template literal
 * would make each id a cons string of two parts, three heap objects: 64 bytes an id instead
 * of 40, and twice the marking work for every major garbage collection while the run lasts.)
 */
function flatIds(count: number, width: number): string[] {
  const ids = new Array<string>(count);
  const codes: number[] = Array.from(PREFIX + '0'.repeat(width), (c) => c.charCodeAt(0));
  const last = codes.length - 1;
  for (let i = 0; i < count; i++) {
    let rest = i;
    for (let k = last; k >= PREFIX.length; k--) {
      codes[k] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    ids[i] = String.fromCharCode.apply(null, codes);
  }
  return ids;
}

/** The roster of an array of clients; refuses two clients with one id. */
export function arrayRoster(clients: readonly ClientData[]): ClientRoster {
  const width = idWidth(clients.length);
  const ids = clients.map((c, i) => c.id ?? defaultId(i, width));
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new FlConfigError(`runFederated: two clients have the id '${id}'; client ids must be unique`, { field: 'clients' });
    seen.add(id);
  }
  return { ids, sortedIds: [...ids].sort(compareIds), isClient: (id) => seen.has(id) };
}

/** The roster of a lazy source (checked first): one id string per client, nothing else per client. */
export function lazyRoster(source: LazyClients): ClientRoster & { indexOf(id: string): number } {
  const { count } = source;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new FlConfigError(`runFederated: clients.count must be a whole number ≥ 1 (how many clients the lazy source has), got ${count}`, { field: 'clients.count' });
  }
  const max = source.maxSamplesPerClient;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new FlConfigError(
      `runFederated: clients.maxSamplesPerClient must be a whole number ≥ 1 (the most training samples any client of the lazy source holds), got ${max}`,
      { field: 'clients.maxSamplesPerClient' },
    );
  }
  const width = idWidth(count);
  const ids = flatIds(count, width);
  const indexOf = (id: string): number => {
    if (id.length !== PREFIX.length + width || !id.startsWith(PREFIX)) return -1;
    const digits = id.slice(PREFIX.length);
    if (!/^[0-9]+$/.test(digits)) return -1;
    const index = Number(digits);
    return index < count ? index : -1;
  };
  // Zero-padded ids of one width sort in index order: the ids are already the engine's order.
  return { ids, sortedIds: ids, isClient: (id) => indexOf(id) >= 0, indexOf };
}

/**
 * Checks one client's data against the model; returns its n_k. Refuses, naming the client,
 * data the model cannot take and non-finite values (which would poison its update every round).
 */
export function checkClientData(client: ClientData, id: string, field: string, model: Pick<Model, 'inputSize' | 'outputSize'>, loss: LossName, spec: ModelSpec): number {
  let n: number;
  try {
    n = datasetSize(client, model, loss, `client '${id}'`);
  } catch (error) {
    throw new IncompatibleModelError(`runFederated: ${(error as Error).message}. The model ${JSON.stringify(spec)} does not fit this client's data: fix the model's inputs/classes or the data.`, { actor: id, op: 'fit' });
  }
  for (const [part, values] of [['x', client.x], ['y', client.y]] as const) {
    const at = firstNonFinite(values);
    if (at >= 0) {
      const row = part === 'x' ? Math.floor(at / model.inputSize) : at;
      throw new FlConfigError(
        `runFederated: the data of client '${id}' has ${values[at]} in ${part === 'x' ? `its features (sample ${row}, feature ${at % model.inputSize})` : `its targets (sample ${row})`}; clean or drop the non-finite values`,
        { field: `${field}.${part}`, actor: id },
      );
    }
  }
  return n;
}

/** Client `index`'s data from a lazy source, checked as the array form checks every client before the run. */
export function lazyClientData(source: LazyClients, index: number, id: string, model: Pick<Model, 'inputSize' | 'outputSize'>, loss: LossName, spec: ModelSpec): ClientData {
  const field = `clients.data(${index})`;
  const data = source.data(index);
  if (data === null || typeof data !== 'object') {
    throw new FlConfigError(`runFederated: ${field} returned ${data === null ? 'null' : typeof data} for client '${id}'; it must return the client's data { x, y }`, { field, actor: id });
  }
  if (data.id !== undefined && data.id !== id) {
    throw new FlConfigError(`runFederated: ${field} returned data with id '${data.id}', but client ${index} of a lazy source is '${id}'; drop the id or make it '${id}'`, { field: `${field}.id`, actor: id });
  }
  const n = checkClientData(data, id, field, model, loss, spec);
  if (n > source.maxSamplesPerClient) {
    throw new FlConfigError(
      `runFederated: client '${id}' holds ${n} training samples, more than the lazy source's maxSamplesPerClient (${source.maxSamplesPerClient}); raise clients.maxSamplesPerClient or give the client fewer samples`,
      { field: 'clients.maxSamplesPerClient', actor: id },
    );
  }
  return data;
}
