/**
 * Privacy labels: every value a worker stores carries one, and every value computed from
 * others gets its label from theirs through the functions below — ops, plans, models,
 * optimisers, fixed precision, sharing, share-wise and Beaver ops alike. A label says:
 *
 *  - `allowedUsers`: who may see the value (null: anyone). A value computed from private
 *    inputs may be seen only by those allowed to see every one of them.
 *  - `contributions`: what the value is *as a sum of private contributions* — contributor
 *    → (weight, who may see that contributor's part on its own), where a contributor is
 *    whoever put private data into the federation (the worker whose owner loaded it, or the
 *    sender of private data). Empty for public values. A share-wise sum of shares adds them
 *    up; a scalar multiple scales them; anything else computed from one contributor's data
 *    is "one contribution of that contributor"; and anything that mixes several
 *    contributors non-linearly (a product of two private values) is no sum at all (null).
 *    The release policy (release.ts) reads this to decide whether a value is an aggregate
 *    of enough contributors *unknown to whoever asks* to be revealed: that is why each part
 *    keeps its own `visibleTo` — a sum's allowedUsers is the intersection of its parts',
 *    which would hide that the asker may see one of them.
 *
 * Labels are immutable; the functions return new ones.
 */

/** An exact weight num / den (den > 0), so that scaling by k and dividing by k gives the weight back. */
export interface Weight {
  readonly num: bigint;
  readonly den: bigint;
}

/** One contributor's part of a value: its weight in the sum, and who may see that part on its own. */
export interface Contribution {
  readonly weight: Weight;
  /**
   * Who may see the contributor's part by itself: its data's allowedUsers when it was
   * contributed, narrowed to the users allowed by every piece when pieces of it combine.
   * Whoever is named here can compute the part, so for them it hides nothing.
   */
  readonly visibleTo: readonly string[];
}

export type Contributions = ReadonlyMap<string, Contribution>;

export interface Label {
  /** Who may see the value; null: anyone. */
  readonly allowedUsers: readonly string[] | null;
  /** The value as Σ weight · contribution, by contributor; empty when public; null when it is no such sum. */
  readonly contributions: Contributions | null;
}

const NONE: Contributions = new Map();
export const ONE: Weight = { num: 1n, den: 1n };

export const PUBLIC_LABEL: Label = Object.freeze({ allowedUsers: null, contributions: NONE });

export const isPrivate = (label: Label): boolean => label.allowedUsers !== null;

/** Whether `user` may see a value with this label. */
export const canSee = (label: Label, user: string): boolean => label.allowedUsers === null || label.allowedUsers.includes(user);

/** The label of data that `contributor` put in, visible to `allowedUsers` (null: public). */
export function contributedBy(allowedUsers: readonly string[] | null | undefined, contributor: string): Label {
  if (allowedUsers === null || allowedUsers === undefined) return PUBLIC_LABEL;
  const users = [...new Set(allowedUsers)];
  return { allowedUsers: users, contributions: new Map([[contributor, { weight: ONE, visibleTo: users }]]) };
}

/** Who may see something computed from values with these restrictions: everyone allowed by all of them. */
export function intersectUsers(a: readonly string[] | null, b: readonly string[] | null): readonly string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((user) => b.includes(user));
}

function visibleToAll(labels: readonly Label[]): readonly string[] | null {
  let allowed: readonly string[] | null = null;
  for (const label of labels) allowed = intersectUsers(allowed, label.allowedUsers);
  return allowed;
}

/**
 * The label of a value computed from `inputs` by any op (a tensor op, a plan, a model's
 * forward, an optimiser step, a Beaver product): as private as all of them together. It is
 * one contribution of a contributor when every private input comes from that contributor
 * alone; a mix of several contributors is no longer a sum of contributions.
 */
export function derivedFrom(inputs: readonly Label[]): Label {
  // The common case — every private input has one and the same label, one contribution — keeps that label (no new object).
  const privateLabels = new Set(inputs.filter(isPrivate));
  if (privateLabels.size === 1) {
    const [only] = privateLabels;
    if (only.contributions?.size === 1 && [...only.contributions.values()][0].weight === ONE) return only;
  }
  const allowed = visibleToAll(inputs);
  if (allowed === null) return PUBLIC_LABEL;
  let only: string | undefined;
  let visibleTo: readonly string[] | null = null;
  for (const label of inputs) {
    if (!isPrivate(label)) continue;
    const parts = label.contributions === null ? null : [...label.contributions];
    if (parts === null || parts.length !== 1 || (only !== undefined && only !== parts[0][0])) return { allowedUsers: allowed, contributions: null };
    only = parts[0][0];
    // A function of several pieces of one contributor's data: only who sees every piece can compute it.
    visibleTo = intersectUsers(visibleTo, parts[0][1].visibleTo);
  }
  return { allowedUsers: allowed, contributions: new Map([[only!, { weight: ONE, visibleTo: visibleTo ?? [] }]]) };
}

/** The same value in another form (a copy, a move, fixed-precision encoding or decoding, one share of it): the same label. */
export const sameAs = (label: Label): Label => label;

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

export function weight(num: bigint, den = 1n): Weight {
  if (den === 0n) throw new RangeError('a weight cannot have denominator 0');
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

const times = (a: Weight, b: Weight) => weight(a.num * b.num, a.den * b.den);
const plus = (a: Weight, b: Weight) => weight(a.num * b.den + b.num * a.den, a.den * b.den);

/**
 * The label of Σ scale_i · term_i, computed share-wise (a combine, an affine map, a
 * truncation by a public divisor): contributions add up with their weights; a contribution
 * whose weights cancel out is gone. Public terms (and public offsets) add nothing.
 */
export function linearCombination(terms: ReadonlyArray<{ label: Label; scale: Weight }>): Label {
  const allowed = visibleToAll(terms.map((t) => t.label));
  if (allowed === null) return PUBLIC_LABEL;
  const sum = new Map<string, Contribution>();
  for (const { label, scale } of terms) {
    if (label.contributions === null) return { allowedUsers: allowed, contributions: null };
    for (const [contributor, part] of label.contributions) {
      const before = sum.get(contributor);
      const scaled = times(part.weight, scale);
      sum.set(
        contributor,
        before ? { weight: plus(before.weight, scaled), visibleTo: intersectUsers(before.visibleTo, part.visibleTo) ?? [] } : { weight: scaled, visibleTo: part.visibleTo },
      );
    }
  }
  for (const [contributor, part] of [...sum]) if (part.weight.num === 0n) sum.delete(contributor);
  return { allowedUsers: allowed, contributions: sum };
}

// ── the wire form (worker to worker: moves and shares carry their label) ──────────

/** Contributions as they travel: [contributor, "num/den", visibleTo] triples, sorted by contributor; null for "no sum". */
export type WireContributions = Array<[string, string, string[]]> | null;

export function contributionsToWire(contributions: Contributions | null): WireContributions {
  if (contributions === null) return null;
  return [...contributions]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([c, { weight: w, visibleTo }]) => [c, `${w.num}/${w.den}`, [...visibleTo]]);
}

export function contributionsFromWire(wire: WireContributions): Contributions | null {
  if (wire === null) return null;
  return new Map(
    wire.map(([contributor, text, visibleTo]) => {
      const [num, den] = text.split('/');
      return [contributor, { weight: weight(BigInt(num), BigInt(den)), visibleTo: [...new Set(visibleTo)] }];
    }),
  );
}

/** A readable form for errors and logs: `bob ×1, alice ×1/2`. */
export function describeContributions(contributions: Contributions | null): string {
  if (contributions === null) return 'not a sum of contributions (private values were combined non-linearly)';
  if (contributions.size === 0) return 'no private contribution';
  return [...contributions]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([c, { weight: w }]) => `${c} ×${w.num}${w.den === 1n ? '' : `/${w.den}`}`)
    .join(', ');
}

/**
 * The label of a value that arrived from `sender` with this metadata. A worker of the
 * federation is believed about what its value is a sum of (it computed the label itself);
 * anyone else — the local worker `me`, an actor outside the federation — may restrict who
 * sees what it sends, but what it sends privately counts as its own contribution.
 */
export function labelFromSender(sender: string, trusted: boolean, allowedUsers: readonly string[] | null | undefined, contributions?: WireContributions): Label {
  if (allowedUsers === null || allowedUsers === undefined) return PUBLIC_LABEL;
  if (trusted && contributions !== undefined) return { allowedUsers: [...allowedUsers], contributions: contributionsFromWire(contributions) };
  return contributedBy(allowedUsers, sender);
}
