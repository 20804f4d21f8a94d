/**
 * ClientPool: the clients a round may select from, as the strategy sees them (Flower's
 * ClientManager.sample). The engine builds one per round; a strategy asks it for `size`
 * (how many could be selected now) and `sample(count, rng)`.
 *
 * Why a pool rather than an array of ids: a population of a million registered devices,
 * most of them offline or idle, must cost nothing per round. Sampling K of N here costs
 * O(K), never a scan or a copy of the N ids; a pool that knows availability (devices/)
 * samples among the clients online now without listing them.
 *
 * Determinism: `sortedIdsPool(ids).sample(k, rng)` makes exactly the draws, and returns
 * exactly the clients, of `sampleClients(ids, k, rng)` (a partial Fisher–Yates over the
 * sorted ids), so runs from before pools existed are unchanged bit for bit.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';
import { compareIds } from '../strategies/compare-ids.js';

export interface ClientPool {
  /** How many clients can be selected now. */
  readonly size: number;
  /** `count` distinct clients, chosen uniformly among the selectable ones, sorted by id (compareIds). */
  sample(count: number, rng: RandomStream): string[];
}

/**
 * `count` distinct indexes of [0, n), by a partial Fisher–Yates shuffle that stores only
 * the positions it displaced (O(count) time and memory, whatever n is). Position i of the
 * virtual array holds `displaced.get(i) ?? i`.
 */
export function sampleIndexes(n: number, count: number, rng: RandomStream): number[] {
  if (!Number.isInteger(count) || count < 0 || count > n) {
    throw new FlConfigError(`sampleClients: cannot sample ${count} clients from ${n}; ask for at most ${n}`, { op: 'sampleClients', field: 'count' });
  }
  const displaced = new Map<number, number>();
  const at = (i: number) => displaced.get(i) ?? i;
  const chosen: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    const picked = at(j);
    displaced.set(j, at(i));
    chosen[i] = picked;
  }
  return chosen;
}

/** A pool of every client in `sortedIds` (sorted by compareIds, as the engine keeps them). */
export function sortedIdsPool(sortedIds: readonly string[]): ClientPool {
  return {
    size: sortedIds.length,
    sample: (count, rng) =>
      sampleIndexes(sortedIds.length, count, rng)
        .map((i) => sortedIds[i])
        .sort(compareIds),
  };
}

/** Whether `id` is in `sortedIds` (binary search: the engine checks selections against a million ids this way). */
export function hasSortedId(sortedIds: readonly string[], id: string): boolean {
  return indexOfSortedId(sortedIds, id) >= 0;
}

/** The position of `id` in `sortedIds` (a device population's index), or -1 (binary search). */
export function indexOfSortedId(sortedIds: readonly string[], id: string): number {
  let lo = 0;
  let hi = sortedIds.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareIds(sortedIds[mid], id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
