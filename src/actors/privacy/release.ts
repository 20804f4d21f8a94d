/**
 * The release decision: may `user` receive a value with this label?
 *
 *  - yes, when the label allows the user (public, or `user` is among its allowedUsers);
 *  - yes, under the run's release policy `{ aggregate: { minContributors: k } }`, when the
 *    value is a sum in which at least k different contributors take part, all with the same
 *    weight — the aggregate of a secure aggregation, never one contributor's value (a
 *    difference of two sums, a sum weighted to isolate one contributor, or a product of
 *    private values is refused). Such a release is logged as a `release` mark naming the
 *    worker, the object, the policy and the contributors;
 *  - no otherwise (GetNotPermittedError, saying why the policy did not apply).
 *
 * Each owner of a shared value decides for its own share, from its share's label. An owner
 * that holds no share of some term (shares sent only to the *other* participants) does not
 * count that term's contributor, so a sum whose shares went to "the others" needs k ≤ n − 1.
 */
import type { ReleasePolicy } from '../../runtime/index.js';
import { canSee, describeContributions, type Label } from './label.js';

export type ReleaseDecision =
  | { allowed: true; via: 'label' }
  | { allowed: true; via: 'aggregate'; contributors: string[] }
  | { allowed: false; why: string };

export function releaseDecision(label: Label, user: string, policy: ReleasePolicy | undefined): ReleaseDecision {
  if (canSee(label, user)) return { allowed: true, via: 'label' };
  if (!policy) return { allowed: false, why: '' };
  const k = policy.aggregate.minContributors;
  const { contributions } = label;
  if (contributions === null) return { allowed: false, why: `the value is ${describeContributions(null)}` };
  const weights = [...contributions.values()];
  const contributors = [...contributions.keys()].sort();
  if (contributors.length < k) {
    return { allowed: false, why: `it is a sum of ${contributors.length} contributor(s) [${contributors.join(', ')}], fewer than the ${k} the policy requires` };
  }
  if (!weights.every((w) => w.num === weights[0].num && w.den === weights[0].den)) {
    return { allowed: false, why: `its contributors take part with different weights (${describeContributions(contributions)}), so it could single one of them out` };
  }
  return { allowed: true, via: 'aggregate', contributors };
}
