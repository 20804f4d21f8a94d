/**
 * Beaver-triple multiplication and fixed-point truncation on additive shares (SPDZ-style,
 * as PySyft 0.2 did with a trusted "crypto provider" dealing the triples).
 *
 * Multiplying shared x and y with a triple (a, b, c = a·b), all additively shared:
 *   1. each party p publishes d_p = x_p - a_p and e_p = y_p - b_p;
 *   2. everyone opens d = x - a and e = y - b (uniform, since a and b are; nothing leaks);
 *   3. party p sets z_p = c_p + d·b_p + e·a_p, and party 0 alone adds d·e.
 * Σ z_p = ab + (x-a)b + (y-b)a + (x-a)(y-b) = xy (mod Q).
 *
 * Fixed point: with scale S = base^precision, x̃ỹ = round(xS)·round(yS) carries scale S², so
 * the product must be divided by S. Dividing shares is not exact; see `truncateShares`
 * (any number of parties, dealer-assisted) and `truncateSharesLocal` (PySyft 0.2's two-party
 * local division). Both give floor(x̃ỹ / S) - δ with δ ∈ {0, 1} except with probability
 * about 2|x̃ỹ| / Q per element (a share wrapped around Q/2; the result is then garbage —
 * ~1e-11 for |x̃ỹ| ≤ 1e8 in Z_{2^64}). Total error of a fixed-point product, in real units:
 *   |z - x·y| ≤ 2/S + (|x| + |y|)/(2S) + 1/(4S²)
 * (truncation ≤ 2 ulps plus the encoding rounding of x and y). With S = 1000, |x|, |y| ≤ 10
 * this is ≤ 0.0121. x̃ỹ itself must not overflow: |x̃ỹ| < Q/2.
 *
 * SIMULATOR ONLY: the dealer's randomness is the caller's seeded `RandomStream`.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { RING_2_64, randomElements, reconstructAdditive, reducer, shareAdditive, toSigned } from './additive.js';

/** Per-party shares of a, b and c = a·b: a[p][i] is party p's share of a_i. */
export interface BeaverTriple {
  readonly a: bigint[][];
  readonly b: bigint[][];
  readonly c: bigint[][];
}

/** Per-party shares of a random r and of floor(r_signed / divisor), for `truncateShares`. */
export interface TruncationPair {
  readonly r: bigint[][];
  readonly rTruncated: bigint[][];
}

/** One party's shares of the three triple components. */
export interface TripleShare {
  readonly a: readonly bigint[];
  readonly b: readonly bigint[];
  readonly c: readonly bigint[];
}

/** The dealer's job: `length` independent triples, shared among `parties`. */
export function beaverTriple(length: number, parties: number, rng: RandomStream, field: bigint = RING_2_64): BeaverTriple {
  const mod = reducer(field);
  const a = randomElements(length, rng, field);
  const b = randomElements(length, rng, field);
  const c = a.map((ai, i) => mod(ai * b[i]));
  return {
    a: shareAdditive(a, parties, rng, field),
    b: shareAdditive(b, parties, rng, field),
    c: shareAdditive(c, parties, rng, field),
  };
}

/** Step 1 for one party: its shares of d = x - a and e = y - b, to be broadcast. */
export function beaverMaskShares(
  xShare: readonly bigint[],
  yShare: readonly bigint[],
  triple: Pick<TripleShare, 'a' | 'b'>,
  field: bigint = RING_2_64,
): { d: bigint[]; e: bigint[] } {
  const mod = reducer(field);
  checkLengths(xShare.length, yShare, triple.a, triple.b);
  return {
    d: xShare.map((x, i) => mod(x - triple.a[i])),
    e: yShare.map((y, i) => mod(y - triple.b[i])),
  };
}

/** Step 3 for party `party`: its share of z = x·y from the opened d, e. Party 0 adds d·e. */
export function beaverProductShare(
  party: number,
  d: readonly bigint[],
  e: readonly bigint[],
  triple: TripleShare,
  field: bigint = RING_2_64,
): bigint[] {
  const mod = reducer(field);
  checkLengths(d.length, e, triple.a, triple.b, triple.c);
  return d.map((di, i) => {
    const z = triple.c[i] + di * triple.b[i] + e[i] * triple.a[i];
    return mod(party === 0 ? z + di * e[i] : z);
  });
}

/** The whole protocol run for all parties at once (the simulator plays every party). */
export function beaverMultiply(
  xShares: readonly (readonly bigint[])[],
  yShares: readonly (readonly bigint[])[],
  triple: BeaverTriple,
  field: bigint = RING_2_64,
): bigint[][] {
  const parties = xShares.length;
  if (yShares.length !== parties || triple.a.length !== parties) {
    throw new RangeError(`beaverMultiply: party counts differ (x ${parties}, y ${yShares.length}, triple ${triple.a.length})`);
  }
  const masks = xShares.map((x, p) => beaverMaskShares(x, yShares[p], { a: triple.a[p], b: triple.b[p] }, field));
  const d = reconstructAdditive(masks.map((m) => m.d), field);
  const e = reconstructAdditive(masks.map((m) => m.e), field);
  return xShares.map((_, p) => beaverProductShare(p, d, e, { a: triple.a[p], b: triple.b[p], c: triple.c[p] }, field));
}

/**
 * Dealer for `truncateShares`: r uniform in Z_Q and r' = floor(r_signed / divisor), both
 * shared. Masking z by a uniform r turns the n-party problem into the two-term case below.
 */
export function truncationPair(
  length: number,
  parties: number,
  divisor: bigint,
  rng: RandomStream,
  field: bigint = RING_2_64,
): TruncationPair {
  checkDivisor(divisor);
  const mod = reducer(field);
  const r = randomElements(length, rng, field);
  const rTruncated = r.map((v) => mod(floorDiv(toSigned(v, field), divisor)));
  return { r: shareAdditive(r, parties, rng, field), rTruncated: shareAdditive(rTruncated, parties, rng, field) };
}

/**
 * Divides shared z by a public `divisor` for any number of parties: open c = z - r, then
 * party 0 holds floor(c_signed / divisor) + r'_0 and the others r'_p. Because
 * c_signed + r_signed = z_signed unless a wrap occurred (probability ≈ 2|z| / Q), the result
 * is floor(z / divisor) or one less.
 */
export function truncateShares(
  zShares: readonly (readonly bigint[])[],
  pair: TruncationPair,
  divisor: bigint,
  field: bigint = RING_2_64,
): bigint[][] {
  checkDivisor(divisor);
  if (pair.r.length !== zShares.length) {
    throw new RangeError(`truncateShares: pair has ${pair.r.length} parties, z has ${zShares.length}`);
  }
  const mod = reducer(field);
  const c = reconstructAdditive(zShares.map((z, p) => z.map((v, i) => mod(v - pair.r[p][i]))), field);
  const publicPart = c.map((v) => floorDiv(toSigned(v, field), divisor));
  return pair.rTruncated.map((share, p) => (p === 0 ? share.map((v, i) => mod(v + publicPart[i])) : [...share]));
}

/**
 * PySyft 0.2 / SecureML local truncation: each party divides its own (signed) share, no
 * communication. Only sound for exactly two parties — with more, the shares' signed sum
 * wraps around Q almost always and the result is garbage — so other counts throw.
 */
export function truncateSharesLocal(
  zShares: readonly (readonly bigint[])[],
  divisor: bigint,
  field: bigint = RING_2_64,
): bigint[][] {
  checkDivisor(divisor);
  if (zShares.length !== 2) {
    throw new RangeError(`truncateSharesLocal: local truncation is only correct for 2 parties, got ${zShares.length}; use truncateShares`);
  }
  const mod = reducer(field);
  return zShares.map((share) => share.map((v) => mod(floorDiv(toSigned(v, field), divisor))));
}

/** Floor division of a signed bigint by a positive divisor (bigint `/` truncates toward 0). */
export function floorDiv(a: bigint, divisor: bigint): bigint {
  const q = a / divisor;
  return a < 0n && q * divisor !== a ? q - 1n : q;
}

function checkDivisor(divisor: bigint): void {
  if (typeof divisor !== 'bigint' || divisor < 1n) throw new RangeError(`divisor must be a positive bigint, got ${divisor}`);
}

function checkLengths(n: number, ...vectors: readonly (readonly unknown[])[]): void {
  for (const v of vectors) {
    if (v.length !== n) throw new RangeError(`Beaver: vector lengths differ (${v.length} vs ${n})`);
  }
}
