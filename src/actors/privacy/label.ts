/**
 * Privacy labels: every value a worker stores carries one, and every value computed from
 * others gets its label from theirs through the functions below — ops, plans, models,
 * optimisers, fixed precision, sharing, share-wise and Beaver ops alike. A label says:
 *
 *  - `allowedUsers`: who may see the value (null: anyone). A value computed from private
 *    inputs may be seen only by those allowed to see every one of them.
 *  - `contributions`: what the value is *as a sum of private parts* — part → (contributor,
 *    weight, who may see that part on its own), where a contributor is whoever put private
 *    data into the federation (the worker whose owner loaded it, or the sender of private
 *    data). Empty for public values. The release policy (release.ts) reads this to decide
 *    whether a value is an aggregate of enough contributors *unknown to whoever asks* to be
 *    revealed: that is why each part keeps its own `visibleTo` — a sum's allowedUsers is the
 *    intersection of its parts', which would hide that the asker may see one of them.
 *
 * A part is one *value*, named by an id the worker that made it minted (`bob~<incarnation>#12`), never by
 * its contributor alone: only the same value cancels itself. The operations that keep the
 * value exactly — a copy, a move, one share of it, a share-wise sum, a multiple by a public
 * integer (exact in the ring) — keep its parts; every other computation makes a new value and
 * so new parts: an op, a plan, a model, an optimiser step, a product with anything, a
 * fixed-precision encoding (rounded, clamped) and a truncation (its rounding, and its
 * wrap-around when the scalar overflows the ring, make it no exact multiple). So `x − x`
 * has no part of x, but `x − x·0` (a new value, 0, of bob's), `x − trunc(x)`, or the
 * difference of two tensors bob loaded keep two parts of bob with opposite weights, and the
 * release policy refuses them. Anything computed from several contributors' data other
 * than by a share-wise sum is no sum at all (null).
 *
 * Labels are immutable; the functions return new ones.
 */

/** An exact weight num / den (den > 0), so that scaling by k and dividing by k gives the weight back. */
export interface Weight {
  readonly num: bigint;
  readonly den: bigint;
}

/** One part of a value: whose data it is, its weight in the sum, and who may see that part on its own. */
export interface Contribution {
  readonly contributor: string;
  readonly weight: Weight;
  /**
   * Who may see the contributor's part by itself: its data's allowedUsers when it was
   * contributed, narrowed to the users allowed by every piece when pieces of it combine.
   * Whoever is named here can compute the part, so for them it hides nothing.
   */
  readonly visibleTo: readonly string[];
}

/** The parts of a value, by part id. */
export type Contributions = ReadonlyMap<string, Contribution>;

export interface Label {
  /** Who may see the value; null: anyone. */
  readonly allowedUsers: readonly string[] | null;
  /** The value as Σ weight · part, by part id; empty when public; null when it is no such sum. */
  readonly contributions: Contributions | null;
}

/**
 * Mints the ids of new parts, never reused and never chosen by whoever sends commands: the
 * worker's id, its incarnation (drawn from its seeded stream when its state is made, so a
 * worker that lost its memory in a crash does not mint its old ids again for other values),
 * and a counter: `bob~3f9a1c07d2e4b810#12`.
 */
export class PartIds {
  private minted = 0;
  constructor(
    private readonly worker: string,
    private readonly incarnation: string,
  ) {}
  fresh(): string {
    return `${this.worker}~${this.incarnation}#${++this.minted}`;
  }
}

const NONE: Contributions = new Map();
export const ONE: Weight = { num: 1n, den: 1n };

export const PUBLIC_LABEL: Label = Object.freeze({ allowedUsers: null, contributions: NONE });

export const isPrivate = (label: Label): boolean => label.allowedUsers !== null;

/** Whether `user` may see a value with this label. */
export const canSee = (label: Label, user: string): boolean => label.allowedUsers === null || label.allowedUsers.includes(user);

/** The label of data that `contributor` put in, visible to `allowedUsers` (null: public): one new part. */
export function contributedBy(allowedUsers: readonly string[] | null | undefined, contributor: string, parts: PartIds): Label {
  if (allowedUsers === null || allowedUsers === undefined) return PUBLIC_LABEL;
  const users = [...new Set(allowedUsers)];
  return { allowedUsers: users, contributions: new Map([[parts.fresh(), { contributor, weight: ONE, visibleTo: users }]]) };
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
 * The label of a new value computed from `inputs` by any op (a tensor op, a plan, a model's
 * forward, an optimiser step, a Beaver product): as private as all of them together. When
 * every private input is data of one contributor, it is one new part of that contributor;
 * a mix of several contributors is no longer a sum of parts.
 */
export function derivedFrom(inputs: readonly Label[], parts: PartIds): Label {
  const allowed = visibleToAll(inputs);
  if (allowed === null) return PUBLIC_LABEL;
  let only: string | undefined;
  let visibleTo: readonly string[] | null = null;
  for (const label of inputs) {
    if (!isPrivate(label)) continue;
    if (label.contributions === null) return { allowedUsers: allowed, contributions: null };
    for (const part of label.contributions.values()) {
      if (only !== undefined && only !== part.contributor) return { allowedUsers: allowed, contributions: null };
      only = part.contributor;
      // A function of several pieces of one contributor's data: only who sees every piece can compute it.
      visibleTo = intersectUsers(visibleTo, part.visibleTo);
    }
  }
  // Private inputs whose parts all cancelled out (x − x): a value of nobody's data in particular, still private.
  if (only === undefined) return { allowedUsers: allowed, contributions: new Map() };
  return { allowedUsers: allowed, contributions: new Map([[parts.fresh(), { contributor: only, weight: ONE, visibleTo: visibleTo ?? [] }]]) };
}

/**
 * Who may see what a piece of work read (the store's read trail), for deciding what its
 * failure may say: only `allowedUsers` means anything here.
 */
export function visibilityOf(inputs: readonly Label[]): Label {
  const allowed = visibleToAll(inputs);
  return allowed === null ? PUBLIC_LABEL : { allowedUsers: allowed, contributions: null };
}

/**
 * The label of a new value that is, part by part, close to `scale` times `label`'s value but
 * not exactly (a truncation, a fixed-precision encoding): each part becomes a new part of the
 * same contributor with its weight scaled, so it still counts as an aggregate's part but can
 * never cancel the value it came from.
 */
export function approximately(label: Label, scale: Weight, parts: PartIds): Label {
  if (label.contributions === null) return label;
  const renewed = new Map<string, Contribution>();
  for (const part of [...label.contributions.values()]) renewed.set(parts.fresh(), { ...part, weight: times(part.weight, scale) });
  return { allowedUsers: label.allowedUsers, contributions: renewed };
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
 * The label of Σ scale_i · term_i for integers scale_i, computed share-wise in the ring (a
 * combine, an affine map, a multiple by a public integer — exact there): parts add up with
 * their weights; a part whose weights cancel out (the same value subtracted) is gone. Public
 * terms (and public offsets) add nothing.
 */
export function linearCombination(terms: ReadonlyArray<{ label: Label; scale: Weight }>): Label {
  const allowed = visibleToAll(terms.map((t) => t.label));
  if (allowed === null) return PUBLIC_LABEL;
  const sum = new Map<string, Contribution>();
  for (const { label, scale } of terms) {
    if (label.contributions === null) return { allowedUsers: allowed, contributions: null };
    for (const [id, part] of label.contributions) {
      const before = sum.get(id);
      const scaled = times(part.weight, scale);
      sum.set(id, before ? { ...part, weight: plus(before.weight, scaled), visibleTo: intersectUsers(before.visibleTo, part.visibleTo) ?? [] } : { ...part, weight: scaled });
    }
  }
  for (const [id, part] of [...sum]) if (part.weight.num === 0n) sum.delete(id);
  return { allowedUsers: allowed, contributions: sum };
}

// ── the wire form (worker to worker: moves and shares carry their label) ──────────

/** Parts as they travel: [part id, contributor, "num/den", visibleTo] tuples, sorted by part id; null for "no sum". */
export type WireContributions = Array<[string, string, string, string[]]> | null;

export function contributionsToWire(contributions: Contributions | null): WireContributions {
  if (contributions === null) return null;
  return [...contributions]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, { contributor, weight: w, visibleTo }]) => [id, contributor, `${w.num}/${w.den}`, [...visibleTo]]);
}

export function contributionsFromWire(wire: WireContributions): Contributions | null {
  if (wire === null) return null;
  return new Map(
    wire.map(([id, contributor, text, visibleTo]) => {
      const [num, den] = text.split('/');
      return [id, { contributor, weight: weight(BigInt(num), BigInt(den)), visibleTo: [...new Set(visibleTo)] }];
    }),
  );
}

/** A readable form for errors and logs: `bob ×1, alice ×1/2`; a contributor with several parts is named once per part. */
export function describeContributions(contributions: Contributions | null): string {
  if (contributions === null) return 'not a sum of contributions (private values were combined non-linearly)';
  if (contributions.size === 0) return 'no private contribution';
  return [...contributions.values()]
    .map(({ contributor, weight: w }) => `${contributor} ×${w.num}${w.den === 1n ? '' : `/${w.den}`}`)
    .sort()
    .join(', ');
}

/**
 * The label of a value that arrived from `sender` with this metadata. A worker of the
 * federation is believed about what its value is a sum of (it computed the label itself);
 * anyone else — the local worker `me`, an actor outside the federation — may restrict who
 * sees what it sends, but what it sends privately counts as its own contribution.
 */
export function labelFromSender(sender: string, trusted: boolean, allowedUsers: readonly string[] | null | undefined, parts: PartIds, contributions?: WireContributions): Label {
  if (allowedUsers === null || allowedUsers === undefined) return PUBLIC_LABEL;
  if (trusted && contributions !== undefined) return { allowedUsers: [...allowedUsers], contributions: contributionsFromWire(contributions) };
  return contributedBy(allowedUsers, sender, parts);
}
