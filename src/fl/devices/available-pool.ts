/**
 * The pool of a round under an availability trace: the clients online when the round
 * starts (Flower's "available clients", FedScale's online clients), without listing them.
 *
 *   size       availability.onlineCount(t): O(log) in the trace, no per-client scan
 *   sample(k)  rejection over indexes: draw an index uniformly in [0, N), keep it when that
 *              client is online at t and not yet chosen. Every online client is equally
 *              likely at each pick, so the k are uniform among the online ones; the draws
 *              come only from the round's stream, so the choice is fixed by the seed.
 *
 * Cost: the expected number of draws is Σ_{j<k} N/(S−j) for S clients online out of N:
 * O(k) when a fair fraction is online (k·N/S); it grows as N/S when few are, and as
 * N·ln(S) when k ≈ S (select everyone online out of a large population). Each draw costs
 * one O(log) availability query. No draw ever scans the N clients.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError, FlInvariantError } from '../errors.js';
import type { ClientPool } from '../rounds/client-pool.js';
import { compareIds } from '../strategies/compare-ids.js';
import type { Availability } from './population.js';

/**
 * `busy`: indexes of clients still training an abandoned fit (server-context.ts `working`),
 * left out like offline ones. Without `availability` every client is online.
 */
export function availablePool(sortedIds: readonly string[], availability: Availability | undefined, t: number, busy: ReadonlySet<number> = new Set()): ClientPool {
  const online = (i: number) => availability?.isOnline(i, t) ?? true;
  let busyOnline = 0;
  for (const i of busy) if (online(i)) busyOnline++;
  const size = (availability?.onlineCount(t) ?? sortedIds.length) - busyOnline;
  return {
    size,
    sample(count: number, rng: RandomStream): string[] {
      if (!Number.isInteger(count) || count < 0 || count > size) {
        throw new FlConfigError(`availablePool: cannot sample ${count} clients when ${size} are online at virtual time ${t}; ask for at most ${size}`, { op: 'sampleClients', field: 'count' });
      }
      const n = sortedIds.length;
      const chosen = new Set<number>();
      while (chosen.size < count) {
        // A pick takes n/(size − chosen) draws on average; a thousand times that (chance < e^-1000 with a
        // trace whose onlineCount agrees with isOnline) means they disagree, which would otherwise loop for ever.
        const bound = 1000 * Math.ceil(n / (size - chosen.size)) + 1000;
        let draws = 0;
        for (;;) {
          const i = rng.int(n);
          if (!chosen.has(i) && !busy.has(i) && online(i)) {
            chosen.add(i);
            break;
          }
          if (++draws > bound) {
            throw new FlInvariantError(`availablePool: onlineCount(${t}) says ${size + busyOnline} clients are online (${busyOnline} of them busy), but ${bound} draws found only ${chosen.size} of them online by isOnline; the Availability implementation is inconsistent`, { op: 'sampleClients' });
          }
        }
      }
      return [...chosen].map((i) => sortedIds[i]).sort(compareIds);
    },
  };
}
