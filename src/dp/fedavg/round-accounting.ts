/**
 * What one DP-FedAvg round costs, per mode and sampling, and the ledger that adds the
 * rounds up (part of the DP strategy's state, so it is checkpointed with every round and a
 * restarted server goes on from it).
 *
 *   central, Poisson    the released model: the Poisson-sampled Gaussian with q and z
 *                       (add or remove one client). The server divides the noised sum by the
 *                       fixed q·N, a public constant, so the estimate is post-processing.
 *   central, fixed      the released model: the Gaussian with multiplier z/2 (replace one
 *                       client). Fixed-size sampling is not Poisson sampling, and the
 *                       accountant has no exact event for sampling without replacement; so
 *                       the amplification by sampling is not claimed at all: with the round's
 *                       size public, replacing one client's data moves the sum of clipped
 *                       updates by at most 2C, and noise of std z·C on a sum of sensitivity 2C
 *                       is the Gaussian mechanism of multiplier z/2 — whether or not the client
 *                       was sampled (a mixture of such outputs is no worse, by the joint
 *                       convexity of Rényi divergence). A valid, pessimistic bound: the common
 *                       practice of accounting fixed-size rounds as Poisson with q = m/N is not
 *                       a proof, so fedsim does not do it.
 *   local               each client against the server, which sees every noised update and
 *                       knows who sent it (so no amplification by sampling): per round the
 *                       client takes part in, the Gaussian with multiplier z/2 (its update
 *                       moves by at most 2C when its data is replaced; its own noise has std
 *                       z·C). The ledger follows the client that took part most often; the
 *                       released model, computed from those noised updates, is covered by
 *                       the same ε (post-processing).
 *   distributed         per round, the Skellam mechanism on the noise actually in the
 *                       SecAgg+ sum (src/dp/distributed/round-privacy.ts): zero out one client
 *                       (its update replaced by 0); amplified by Poisson sampling when every
 *                       participant's share reached the sum, else not; and a second ledger
 *                       against the server (never amplified). The event below is the round
 *                       with every share in, which the budget check assumes for the next round.
 *
 * Adaptive clipping adds the noised count of unclipped updates to every round; with the
 * update's multiplier raised to z_Δ (settings.ts) the two releases together are one Gaussian
 * of multiplier z, which is what is composed.
 *
 * Every round that was configured is composed, committed or skipped: a skipped round may
 * still have released something (that it was skipped, after the clients answered), and
 * counting it can only over-state ε.
 */
import { type AccountantJson, PrivacyAccountant, type PrivacySpent } from '../accounting/accountant.js';
import type { DpEvent } from '../accounting/events.js';
import type { DistributedDpPlan } from '../distributed/plan.js';
import { distributedRoundPrivacy } from '../distributed/round-privacy.js';
import type { DpSettings } from './settings.js';

export type Adjacency = 'add or remove one client' | 'replace one client' | 'zero out one client (its update replaced by 0)';

/** How one round is accounted. */
export interface RoundAccounting {
  /** The event one round composes (for the released model; under local DP, for one client that took part). */
  event: DpEvent;
  adjacency: Adjacency;
  /** Whose privacy the ε is: the released models, or each client's update against the server. */
  covers: 'released models' | 'each client against the server';
  /** Local DP: the event is composed once per round a client takes part in, following the client that took part most. */
  perClient: boolean;
}

/**
 * A distributed-DP event before the run's plan is known (only the accounting's words are read
 * then): infinite RDP, so that composing it by mistake could never under-state ε.
 */
const UNPLANNED: DpEvent = { kind: 'rdp-curve', name: 'skellam (the run has no plan yet)', orders: [2], rdp: [Infinity] };

/**
 * The accounting of a round of these settings; `samplingRate` is q (Poisson) or m/N (fixed:
 * shown, not used); `plan` the run's distributed-DP plan (mode 'distributed').
 */
export function roundAccounting(settings: Pick<DpSettings, 'mode' | 'sampling' | 'noiseMultiplier'>, samplingRate: number, plan?: DistributedDpPlan): RoundAccounting {
  const z = settings.noiseMultiplier;
  switch (settings.mode) {
    case 'central':
      return settings.sampling === 'poisson'
        ? { event: { kind: 'poisson-sampled-gaussian', samplingRate, noiseMultiplier: z }, adjacency: 'add or remove one client', covers: 'released models', perClient: false }
        : { event: { kind: 'gaussian', noiseMultiplier: z / 2 }, adjacency: 'replace one client', covers: 'released models', perClient: false };
    case 'local':
      return { event: { kind: 'gaussian', noiseMultiplier: z / 2 }, adjacency: 'replace one client', covers: 'each client against the server', perClient: true };
    case 'distributed': {
      const n = plan?.maxParticipants ?? 1;
      const event = plan ? distributedRoundPrivacy(plan, { participants: n, survivors: n, ...(settings.sampling === 'poisson' ? { samplingRate } : {}) }).released : UNPLANNED;
      return { event, adjacency: 'zero out one client (its update replaced by 0)', covers: 'released models', perClient: false };
    }
  }
}

/** The running total, as plain JSON (it lives in the strategy's checkpointed state). */
export interface Ledger {
  /** What was composed: per round (released models), or the most active client's rounds (local DP). */
  accountant: AccountantJson;
  /** Rounds accounted so far (configured rounds, committed or skipped). */
  rounds: number;
  /** Local DP: the rounds each client took part in, by id. */
  participation?: Readonly<Record<string, number>>;
}

export function emptyLedger(settings: Pick<DpSettings, 'accountant'>, accounting: RoundAccounting): Ledger {
  const accountant = new PrivacyAccountant({ kind: settings.accountant }).toJSON();
  return accounting.perClient ? { accountant, rounds: 0, participation: {} } : { accountant, rounds: 0 };
}

// Rebuilding an accountant computes its curves again; a ledger is immutable, so one per ledger object will do.
const rebuilt = new WeakMap<Ledger, PrivacyAccountant>();
function accountantOf(ledger: Ledger): PrivacyAccountant {
  let accountant = rebuilt.get(ledger);
  if (!accountant) {
    accountant = PrivacyAccountant.fromJSON(ledger.accountant);
    rebuilt.set(ledger, accountant);
  }
  return accountant;
}

const mostRounds = (participation: Readonly<Record<string, number>>) => Object.values(participation).reduce((m, n) => Math.max(m, n), 0);

/** The ledger after one more round in which `selected` were asked to train. */
export function afterRound(ledger: Ledger, accounting: RoundAccounting, selected: readonly string[]): Ledger {
  const accountant = accountantOf(ledger).clone();
  let next: Ledger;
  if (!accounting.perClient) {
    accountant.compose(accounting.event);
    next = { accountant: accountant.toJSON(), rounds: ledger.rounds + 1 };
  } else {
    const before = ledger.participation ?? {};
    const participation: Record<string, number> = { ...before };
    for (const client of selected) participation[client] = (participation[client] ?? 0) + 1;
    accountant.compose(accounting.event, mostRounds(participation) - mostRounds(before));
    next = { accountant: accountant.toJSON(), rounds: ledger.rounds + 1, participation };
  }
  // The accountant just composed is the one its JSON rebuilds (fromJSON reproduces ε bit for bit): keep it.
  rebuilt.set(next, accountant);
  return next;
}

/** ε spent so far at δ. */
export function spent(ledger: Ledger, delta: number): PrivacySpent {
  return accountantOf(ledger).epsilon(delta);
}

/** The ledger after one more round that composed `event` (distributed DP: the round's own event). */
export function afterRoundWith(ledger: Ledger, event: DpEvent | null): Ledger {
  const accountant = accountantOf(ledger).clone();
  if (event) accountant.compose(event);
  return { accountant: accountant.toJSON(), rounds: ledger.rounds + 1 };
}

/** ε after one more round, at worst (under local DP: the most active client takes part again). */
export function spentAfterOneMore(ledger: Ledger, accounting: RoundAccounting, delta: number): PrivacySpent {
  return accountantOf(ledger).clone().compose(accounting.event).epsilon(delta);
}
