/**
 * The SecAgg+ neighbour graph (Bell et al. 2020): each client shares its secrets with, and
 * masks against, only k − 1 neighbours instead of all n − 1 others, which turns the
 * protocol's O(n) per-client cost into O(k) with k = O(log n).
 *
 * As in Flower's SecAggPlusWorkflow the graph is a ring over a random permutation of the
 * participants: client at ring position i neighbours positions i − h … i + h (h = ⌊k/2⌋),
 * itself included, so every neighbourhood has exactly k members and the relation is
 * symmetric (i neighbours j ⇔ j neighbours i), which pairwise masks require. The permutation
 * comes from the server's seeded stream: the same seed gives the same graph.
 */
import type { RandomStream } from '../../../runtime/rng.js';
import { FlConfigError } from '../../errors.js';

/** Participant id → its neighbourhood (itself included), sorted; keys in sorted order. */
export type NeighbourGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Builds the graph for `participants` with `shares` members per neighbourhood (as resolved
 * by `effectiveShares`: odd, or n for the complete graph). The complete graph draws nothing
 * from `rng`.
 */
export function buildNeighbourGraph(participants: readonly string[], shares: number, rng: RandomStream): NeighbourGraph {
  const sorted = [...participants].sort();
  const n = sorted.length;
  const graph = new Map<string, readonly string[]>();
  if (shares >= n) {
    for (const id of sorted) graph.set(id, sorted);
    return graph;
  }
  if (shares % 2 === 0) {
    throw new FlConfigError(`buildNeighbourGraph: a ring neighbourhood has an odd size, got ${shares}; resolve the size with effectiveShares (which makes it odd)`, { op: 'buildNeighbourGraph', field: 'shares' });
  }
  const ring = ringOrder(sorted, rng);
  const half = (shares - 1) / 2;
  const position = new Map(ring.map((id, i) => [id, i]));
  for (const id of sorted) {
    const at = position.get(id)!;
    const members: string[] = [];
    for (let offset = -half; offset <= half; offset++) members.push(ring[(at + offset + n) % n]);
    graph.set(id, members.sort());
  }
  return graph;
}

/** The ring: a seeded permutation of the sorted participants (exposed so tests can aim dropouts at one neighbourhood). */
export function ringOrder(participants: readonly string[], rng: RandomStream): string[] {
  return rng.shuffle([...participants].sort());
}
