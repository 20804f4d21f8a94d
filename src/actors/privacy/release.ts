/**
 * The release decision: may `requester` receive a value with this label?
 *
 *  - yes, when the label allows the requester (public, or named among its allowedUsers);
 *  - yes, under the run's release policy `{ aggregate: { minContributors: k } }`, when the
 *    value is a sum with at least k *counted* contributors, all with the same weight — the
 *    aggregate of a secure aggregation, never one contributor's value (a difference of two
 *    sums, a sum weighted to isolate one contributor, or a product of private values is
 *    refused). Such a release is logged as a `release` mark naming the worker, the object,
 *    the policy, the contributors counted and those not counted;
 *  - no otherwise (GetNotPermittedError, saying why the policy did not apply).
 *
 * What "k contributors" must mean for the guarantee — the requester learns a sum of k
 * parts it did not know — decides who is counted. A contributor counts when it is
 *
 *  - a data owner: a worker of the federation (its owner loaded the data). The local worker
 *    `me` and actors outside the federation are not: what they sent privately counts as
 *    their own contribution, and it is not counted — otherwise `me` could send zeros
 *    privately and have them counted as a second contributor;
 *  - not the requester: its own part it knows, so it could subtract it;
 *  - not visible to the requester: a part the requester may see on its own (its owner put
 *    the requester in allowedUsers) is as good as known.
 *
 * Parts with weight 0 (scaled by 0, or the same value cancelled by a difference) are gone
 * from the label already (label.ts); two different values of one contributor never cancel,
 * and with different weights they are refused. Uncounted parts may have any weight: the
 * requester can remove them.
 *
 * Each owner of a shared value decides for its own share, from its share's label. An owner
 * that holds no share of some term (shares sent only to the *other* participants) does not
 * count that term's contributor, so a sum whose shares went to "the others" needs k ≤ n − 1.
 *
 * What the policy cannot see — how each contribution was computed from its owner's data,
 * whether a worker's owner is a real, independent data owner, what several releases say
 * together — is in the README's Privacy model.
 */
import type { ReleasePolicy } from '../../runtime/index.js';
import { canSee, type Contribution, describeContributions, type Label } from './label.js';

export type ReleaseDecision =
  | { allowed: true; via: 'label' }
  | { allowed: true; via: 'aggregate'; contributors: string[]; uncounted: string[] }
  | { allowed: false; why: string };

/** Who asks, and who the data owners are. */
export interface ReleaseContext {
  /** The party the value would be revealed to. */
  readonly requester: string;
  /** Whether an actor id is a data owner: a worker of the federation. */
  readonly isDataOwner: (id: string) => boolean;
}

/** Why a part does not count towards the policy for this requester, or null when it counts. */
function notCounted({ contributor, visibleTo }: Contribution, { requester, isDataOwner }: ReleaseContext): string | null {
  if (contributor === requester) return `${contributor} is the requester`;
  if (!isDataOwner(contributor)) return `${contributor} is not a data owner (not a worker of the federation: what it sent privately is its own, and it may be the requester's)`;
  if (visibleTo.includes(requester)) return `${contributor}'s part is visible to ${requester}`;
  return null;
}

const distinct = (names: Iterable<string>): string[] => [...new Set(names)].sort();

export function releaseDecision(label: Label, context: ReleaseContext, policy: ReleasePolicy | undefined): ReleaseDecision {
  if (canSee(label, context.requester)) return { allowed: true, via: 'label' };
  if (!policy) return { allowed: false, why: '' };
  const k = policy.aggregate.minContributors;
  const { contributions } = label;
  if (contributions === null) return { allowed: false, why: `the value is ${describeContributions(null)}` };
  const parts = [...contributions.values()];
  const counted = parts.filter((part) => notCounted(part, context) === null);
  const reasons = distinct(parts.map((part) => notCounted(part, context)).filter((why): why is string => why !== null));
  const contributors = distinct(counted.map((part) => part.contributor));
  if (contributors.length < k) {
    const everyone = distinct(parts.map((part) => part.contributor));
    const of = `it is a sum of ${everyone.length} contributor(s) [${everyone.join(', ')}]`;
    const count = reasons.length === 0 ? '' : `, of which ${contributors.length} count [${contributors.join(', ')}] (${reasons.join('; ')})`;
    return { allowed: false, why: `${of}${count}: fewer than the ${k} the policy requires` };
  }
  // Every counted part with one weight: otherwise the sum could weight one part up, or take the
  // difference of two values of one contributor (x − x·0 is bob's x, with bob ×1 and bob ×−1).
  const [first] = counted;
  if (!counted.every((part) => part.weight.num === first.weight.num && part.weight.den === first.weight.den)) {
    return {
      allowed: false,
      why: `its parts take part with different weights (${describeContributions(new Map(counted.map((part, i) => [String(i), part])))}), so it could single one of them out`,
    };
  }
  const uncounted = distinct(parts.filter((part) => notCounted(part, context) !== null).map((part) => part.contributor)).filter((c) => !contributors.includes(c));
  return { allowed: true, via: 'aggregate', contributors, uncounted };
}
