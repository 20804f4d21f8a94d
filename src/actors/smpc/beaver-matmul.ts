/**
 * Beaver triples for matrix products (as PySyft 0.2's crypto provider dealt them for
 * `matmul`): A (m × k) and B (k × n) uniform, C = A @ B, all additively shared.
 *
 * With D = X − A and E = Y − B opened, X @ Y = (D + A) @ (E + B)
 *   = D @ E + D @ B + A @ E + A @ B,
 * so party p holds Z_p = C_p + D @ B_p + A_p @ E, and party 0 also adds D @ E (the
 * elementwise case is beaver.ts's beaverProductShare). D and E are uniform because A and
 * B are, so opening them reveals nothing about X and Y.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { RING_2_64, randomElements, reducer, shareAdditive } from './additive.js';
import type { BeaverTriple, TripleShare } from './beaver.js';
import { matMulMod } from './ring-ops.js';

/** The dealer's job for one matrix product among `parties` owners. */
export function matMulTriple(m: number, k: number, n: number, parties: number, rng: RandomStream, field: bigint = RING_2_64): BeaverTriple {
  const a = randomElements(m * k, rng, field);
  const b = randomElements(k * n, rng, field);
  const c = matMulMod(a, b, m, k, n, field);
  return { a: shareAdditive(a, parties, rng, field), b: shareAdditive(b, parties, rng, field), c: shareAdditive(c, parties, rng, field) };
}

/** Party `party`'s share of X @ Y from the opened D (m × k) and E (k × n). */
export function matMulProductShare(party: number, d: readonly bigint[], e: readonly bigint[], triple: TripleShare, m: number, k: number, n: number, field: bigint = RING_2_64): bigint[] {
  const mod = reducer(field);
  const db = matMulMod(d, triple.b, m, k, n, field);
  const ae = matMulMod(triple.a, e, m, k, n, field);
  const de = party === 0 ? matMulMod(d, e, m, k, n, field) : null;
  return triple.c.map((c, i) => mod(c + db[i] + ae[i] + (de ? de[i] : 0n)));
}
