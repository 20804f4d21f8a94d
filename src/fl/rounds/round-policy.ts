/**
 * Round policies of the synchronous engine (Bonawitz et al. 2019, "Towards Federated
 * Learning at Scale", §2–3), besides the deadline (`roundDeadlineMs`):
 *
 *   overSelection f ≥ 1      select ⌈f·K⌉ clients where the strategy asked for K, and
 *                            complete the round with the first K updates to arrive; the
 *                            others are dropped as 'over-selected'. Stragglers and devices
 *                            that go offline then cost the round nothing, as long as K of
 *                            the ⌈f·K⌉ answer in time.
 *   minParticipation n ≥ 1   a round with fewer than n updates when it closes is skipped
 *                            (the model is left unchanged), saying so; a round that starts
 *                            with fewer than n clients online is skipped at its deadline
 *                            without sending a fit.
 *
 * Over-selection works by wrapping the pool the strategy samples from (rounds/client-pool.ts),
 * so every strategy that samples from its pool (every SamplingStrategy) gets it unchanged.
 * It needs an aggregator that tells the server how many updates it has taken (plain): the
 * secure modes sum all the inputs they were promised, and DP accounting assumes the sampled
 * clients are the ones aggregated, so both are refused before the run.
 */
import { z } from 'zod';
import type { RandomStream } from '../../runtime/rng.js';
import type { SettingProblem } from './aggregator.js';
import type { ClientPool } from './client-pool.js';

export const RoundPolicySchema = z
  .object({
    /** f: select ⌈f·K⌉ clients, keep the first K updates (1 = no over-selection). */
    overSelection: z.number().min(1).finite().optional(),
    /** A round with fewer updates than this when it closes is skipped. */
    minParticipation: z.number().int().min(1).optional(),
  })
  .strict();
export type RoundPolicy = z.infer<typeof RoundPolicySchema>;

/** ⌈f·K⌉ (1.3 · 10 is 13.000000000000002 in floating point; ⌈·⌉ of that must still be 13). */
export function overSelectionCount(wanted: number, factor: number): number {
  return Math.max(wanted, Math.ceil(factor * wanted - 1e-9));
}

/** A pool that selects ⌈f·K⌉ when asked for K, and remembers K (the round's target). */
export interface OverSelectingPool extends ClientPool {
  /** The K the strategy asked for (undefined until it samples). */
  readonly requested: number | undefined;
}

/**
 * `minimum` (roundPolicy.minParticipation): a round asked for fewer clients than it needs to
 * count would be skipped for sure, so K is raised to it when enough clients can be selected
 * (Flower's min_fit_clients); with fewer the round selects them all and is skipped if too few answer.
 */
export function overSelectingPool(inner: ClientPool, factor: number, minimum = 1): OverSelectingPool {
  let requested: number | undefined;
  return {
    size: inner.size,
    get requested() {
      return requested;
    },
    sample(count: number, rng: RandomStream): string[] {
      requested = Math.min(inner.size, Math.max(count, minimum));
      return inner.sample(Math.min(inner.size, overSelectionCount(requested, factor)), rng);
    },
  };
}

/** The settings a round policy cannot run with, naming their fields. */
export function roundPolicyProblems(policy: RoundPolicy | undefined, run: { aggregation: string; dp?: unknown; clientsPerRound: number }): SettingProblem[] {
  if (!policy) return [];
  const problems: SettingProblem[] = [];
  if (policy.overSelection !== undefined && policy.overSelection > 1) {
    if (run.aggregation !== 'plain') {
      problems.push({
        path: ['roundPolicy', 'overSelection'],
        expected: `no over-selection with aggregation '${run.aggregation}': a secure sum waits for every input it was promised, so it cannot keep only the first K updates; use aggregation 'plain' or drop overSelection`,
        found: String(policy.overSelection),
      });
    }
    if (run.dp !== undefined) {
      problems.push({
        path: ['roundPolicy', 'overSelection'],
        expected: 'no over-selection with dp: the privacy accounting assumes the clients sampled are the ones aggregated, and over-selection drops some of them by arrival order; drop overSelection or dp',
        found: String(policy.overSelection),
      });
    }
  }
  if (policy.minParticipation !== undefined && policy.minParticipation > run.clientsPerRound) {
    problems.push({
      path: ['roundPolicy', 'minParticipation'],
      expected: `at most the ${run.clientsPerRound} clients a round aggregates (fraction × clients, at least minClients), or every round would be skipped`,
      found: String(policy.minParticipation),
    });
  }
  return problems;
}
