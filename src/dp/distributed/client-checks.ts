/**
 * What a distributed-DP client checks before it encodes anything, because in distributed DP
 * the server is NOT trusted: the whole point of adding the noise on the clients is that a
 * curious server sees only a sum that is already noised. If a client took the noise, the
 * clip, the scale or the participant count from the server's fit, a server could ask for
 * less noise (a smaller noise multiplier or scale, a larger clip, a larger n so each share
 * is smaller) and learn a less-noised sum. So each client
 *
 *   - builds the plan from ITS OWN copy of the run's configuration (the dp settings, the
 *     model's length, the run's clients and rounds it was created with: `ownDistributedPlan`),
 *     and refuses a fit whose plan differs from it in any field (`planMismatch`);
 *   - takes n, the participants whose shares make up the round's noise, from the SecAgg+
 *     round as it sees it (its validated setup) and refuses a round whose n it cannot
 *     reconcile with what it sees (`participantProblem`): more participants than the run
 *     has clients, or a neighbourhood whose size is not what its own SecAgg+ settings give
 *     for n (with the complete graph, the default for small rounds, it sees every
 *     participant, so n is checked exactly);
 *   - takes from the fit only the rotation seed, a genuinely server-chosen public value
 *     (the rotation is a change of basis: any seed gives the same privacy).
 */
import { defaultSecAggShares } from '../../fl/fedavg/secure-options.js';
import { effectiveShares } from '../../fl/secure/secagg/params.js';
import type { DpSettings } from '../fedavg/settings.js';
import { distributedPlanFor } from './fedavg.js';
import type { DistributedDpPlan } from './plan.js';

/** A client's own copy of what its distributed-DP plan is derived from (given as actor input, never by the server at run time). */
export interface ClientDistributedDpConfig {
  /** The run's dp settings as this client was configured with them. */
  settings: Pick<DpSettings, 'clip' | 'noiseMultiplier' | 'distributed'>;
  /** The run's shape: model length, clients, rounds (the overflow bound and so `scale: auto` depend on them). */
  run: { length: number; clients: number; rounds: number };
  /** The run's SecAgg+ `numShares` (undefined: SecAgg+'s default for the round's size). */
  numShares?: number;
}

/** The neighbourhood size k SecAgg+ uses for a round of n participants under the client's own settings (as the aggregator resolves it). */
export function sharesFor(config: Pick<ClientDistributedDpConfig, 'numShares'>, participants: number): number {
  return effectiveShares(config.numShares ?? defaultSecAggShares(participants).numShares, participants);
}

/** The plan this client encodes with: its own, from its own configuration. */
export function ownDistributedPlan(config: ClientDistributedDpConfig): DistributedDpPlan {
  return distributedPlanFor(config.settings, config.run);
}

/** Fields named first: the ones that set the noise and the sensitivity (the rest are derived from them). */
const COMPARED: readonly (keyof DistributedDpPlan)[] = [
  'noiseMultiplier',
  'clip',
  'scale',
  'bits',
  'beta',
  'mechanism',
  'noiseVariance',
  'scaledClip',
  'l2',
  'l1',
  'modulus',
  'length',
  'dimension',
  'maxParticipants',
  'rounds',
  'overflowProbability',
  'logOverflowBound',
];

/** Why the server's plan is not this client's own (each differing field, the fit's value and the client's), or null when they agree exactly. */
export function planMismatch(own: DistributedDpPlan, fromFit: DistributedDpPlan): string | null {
  const differing = COMPARED.filter((field) => !Object.is(own[field], fromFit[field]));
  if (differing.length === 0) return null;
  return differing.map((field) => `${field} ${String(fromFit[field])} (this client's own: ${String(own[field])})`).join(', ');
}

/** The SecAgg+ round as this client sees it after validating setup. */
export interface SeenRound {
  /** n as the round's config states it. */
  participants: number;
  /** The neighbourhood size k the round's config states. */
  numShares: number;
  /** This client's neighbourhood, itself included, as setup listed it. */
  neighbours: readonly string[];
}

/** Why this client cannot take n = round.participants as the round's participant count, or null. */
export function participantProblem(own: DistributedDpPlan, config: ClientDistributedDpConfig, round: SeenRound): string | null {
  const n = round.participants;
  if (!Number.isSafeInteger(n) || n < 2 || n > own.maxParticipants) {
    return `the round claims ${n} participants, but the run has ${own.maxParticipants} clients (each share would hold V/${n} of the noise)`;
  }
  // k ≤ n; when k = n (the complete graph) the neighbourhood IS the participant list, so n is seen exactly.
  const expected = sharesFor(config, n);
  if (round.numShares !== expected || round.neighbours.length !== expected) {
    return (
      `the round claims ${n} participants, for which this client's SecAgg+ settings give neighbourhoods of ${expected}, ` +
      `but its config says ${round.numShares} and this client's neighbourhood has ${round.neighbours.length} member(s) [${round.neighbours.join(', ')}]`
    );
  }
  return null;
}
