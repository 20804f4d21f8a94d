/**
 * What one distributed-DP round costs in privacy: two accountant events (skellam-rdp.ts),
 * one for the released model and one against the server.
 *
 * Neighbouring datasets differ in one client's data, which is replaced by "no data" — an
 * update of 0 that still takes part ("zero-out", as Kairouz et al. 2021 use for FL);
 * participation and dropouts are taken to be independent of the data (each client drops
 * independently), as every FL DP analysis assumes.
 *
 * A round with n participants whose masked inputs ALL reach the sum releases
 * Σ_{i∈S} v_i + Sk(V): each client added V/n, so the noise is V whatever the sample S.
 * Rounding and rotating 0 gives 0, so a zeroed-out client changes nothing but its own term,
 * and the round is exactly the Skellam mechanism on a Poisson sample — Zhu & Wang's bound
 * amplifies it by the client sampling rate q (the released model's event), and without
 * sampling it is the server's view (the server knows who took part).
 *
 * A client that drops out inside the SecAgg+ round after drawing its share takes the share
 * with it: with n_s of n surviving, the sum carries V·n_s/n. Such a round is accounted at that
 * smaller variance and, for the released model too, WITHOUT amplification: with dropouts the
 * noise depends on how many were sampled, so the amplification theorem's premise (one
 * mechanism applied to the sample) fails, while the unamplified bound holds for each sample
 * and survivor set (both revealed to the observer, which only makes it stronger) and so for
 * their mixture (Rényi divergence is jointly quasi-convex).
 *
 * The noise of a round thus depends on its dropouts, which the accountant learns after the
 * fact: composing such rounds is a privacy odometer (the per-round parameter is chosen
 * adaptively but from data-independent events), covered for a budget fixed in advance by
 * Feldman & Zrnic's Rényi filter (2021) — which is what `dp.budget` enforces by stopping the
 * run before a round that would exceed it.
 */
import type { DpEvent } from '../accounting/events.js';
import { DpConfigError } from '../errors.js';
import { type DistributedDpPlan, survivingVariance } from './plan.js';
import { skellamRoundEvent } from './skellam-rdp.js';

export interface DistributedRound {
  /** n: the SecAgg+ round's participants (each drew V/n of noise). */
  participants: number;
  /** n_s: those whose masked input is in the sum. */
  survivors: number;
  /** q: the Poisson client-sampling rate, or undefined when clients are not Poisson-sampled (no amplification). */
  samplingRate?: number;
}

export interface DistributedRoundPrivacy {
  /** The noise variance in the sum (integer domain): V·n_s/n. */
  variance: number;
  /** Whether the amplification by sampling applied (every participant's share reached the sum, and clients are Poisson-sampled). */
  amplified: boolean;
  /** The released model's event for this round. */
  released: DpEvent;
  /** The event against the server: no amplification. */
  server: DpEvent;
}

export function distributedRoundPrivacy(plan: DistributedDpPlan, round: DistributedRound): DistributedRoundPrivacy {
  const { participants, survivors, samplingRate } = round;
  if (!Number.isSafeInteger(participants) || participants < 1) {
    throw new DpConfigError(`distributed DP accounting: participants must be a positive integer, got ${participants}`, { at: 'distributedRoundPrivacy', field: 'participants', value: participants });
  }
  if (samplingRate !== undefined && !(samplingRate > 0 && samplingRate <= 1)) {
    throw new DpConfigError(`distributed DP accounting: samplingRate must be in (0, 1], got ${samplingRate}`, { at: 'distributedRoundPrivacy', field: 'samplingRate', value: samplingRate });
  }
  const variance = survivingVariance(plan, participants, survivors);
  const server = skellamRoundEvent(plan, variance);
  const amplified = samplingRate !== undefined && samplingRate < 1 && survivors === participants;
  return { variance, amplified, server, released: amplified ? skellamRoundEvent(plan, variance, samplingRate) : server };
}
