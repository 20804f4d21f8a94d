/**
 * The settings of distributed DP (`dp.distributed` in an experiment file) and the plan they
 * resolve to for a run: the scale, the sensitivities after rounding, the noise, and the
 * overflow bound — all fixed before the first round, the same on every client and the server.
 *
 *   dp:
 *     mode: distributed
 *     clip: 1.0                  # C
 *     noiseMultiplier: 1.0       # z: the summed noise has std z·C, as in central DP
 *     distributed:
 *       mechanism: skellam       # the only one built (see below)
 *       bits: 32                 # the ring Z_{2^bits} SecAgg+ sums in (≤ 32: uint32 masks)
 *       scale: auto              # s = 1/γ, or a number
 *       beta: 0.6065             # conditional rounding's β (e^(−1/2), the paper's choice); 0 = plain
 *       overflowProbability: 1e-6  # the largest accepted P(some coordinate of some round wraps)
 *
 * The pipeline (Kairouz, Liu, Steinke 2021; Agarwal, Kairouz, Xu 2021): each client clips its
 * update to L2 norm C, multiplies by s, rotates (rotation.ts), rounds conditionally to
 * integers of norm ≤ B (rounding.ts), adds its share Sk(V/(2n), V/(2n)) of the noise and
 * encodes mod 2^bits (ring.ts). V = (z·C·s)²: the noise of central DP, in the scaled domain.
 *
 * `scale: auto` takes the largest s (to 3 significant digits) whose overflow bound over the
 * run (overflow.ts: every coordinate, every round, up to maxParticipants clients) stays ≤
 * overflowProbability: more scale means less rounding error and less sensitivity inflation
 * (B/c → 1), and is limited only by the ring. An explicit scale above that is refused, naming
 * the largest that fits. The distributed discrete Gaussian (Kairouz et al.) is not built: it
 * needs an exact discrete Gaussian sampler and its extra τ term for sums of discrete
 * Gaussians, which are not discrete Gaussians; Skellam noise is closed under summation and
 * its sampler is a pair of Poissons (Agarwal et al. §1).
 */
import { z } from 'zod';
import { DpConfigError } from '../errors.js';
import { logOverflowBound } from './overflow.js';
import { MAX_POISSON_MEAN } from './poisson.js';
import { MAX_BITS, MIN_BITS, ringModulus } from './ring.js';
import { paddedDimension } from './rotation.js';
import { roundedNormBound } from './rounding.js';
import type { SkellamSensitivity } from './skellam-rdp.js';

export const DEFAULT_BETA = Math.exp(-0.5);
export const DEFAULT_OVERFLOW_PROBABILITY = 1e-6;

export const DistributedDpSettingsSchema = z
  .object({
    mechanism: z
      .literal('skellam', {
        error: "only 'skellam' is built: the distributed discrete Gaussian needs an exact discrete Gaussian sampler and is left out (Skellam noise, closed under summation, is the simpler to sample exactly); use mechanism: skellam, the default",
      })
      .default('skellam'),
    bits: z.number().int().min(MIN_BITS).max(MAX_BITS, `at most ${MAX_BITS}: SecAgg+ masks uint32 vectors`).default(MAX_BITS),
    scale: z.union([z.literal('auto'), z.number().positive().finite()]).default('auto'),
    beta: z.number().min(0).lt(1, 'beta must be below 1 (β = 1 would accept every rounding: no bound)').default(DEFAULT_BETA),
    overflowProbability: z.number().gt(0).lt(1).default(DEFAULT_OVERFLOW_PROBABILITY),
  })
  .strict();

export type DistributedDpSettings = z.infer<typeof DistributedDpSettingsSchema>;
export type DistributedDpSettingsInput = z.input<typeof DistributedDpSettingsSchema>;

/** What the run tells the plan. */
export interface DistributedDpRun {
  /** C: the L2 clipping norm of one client's update. */
  clip: number;
  /** z: the summed noise has standard deviation z·C. */
  noiseMultiplier: number;
  /** L: the length of the vector each client encodes. */
  length: number;
  /** The most clients whose vectors one round sums (the overflow bound is for this many). */
  maxParticipants: number;
  /** How many rounds the overflow bound covers. */
  rounds: number;
}

export interface DistributedDpPlan extends SkellamSensitivity {
  mechanism: 'skellam';
  bits: number;
  modulus: number;
  clip: number;
  noiseMultiplier: number;
  /** s: values are multiplied by s before rounding (γ = 1/s is the grid step in the update's units). */
  scale: number;
  beta: number;
  /** L. */
  length: number;
  /** d: the rotated, padded dimension (a power of 2 ≥ L): what SecAgg+ masks. */
  dimension: number;
  /** c = C·s. */
  scaledClip: number;
  /** V = (z·C·s)²: the round's total noise variance in the integer domain when every participant's share is in the sum. */
  noiseVariance: number;
  maxParticipants: number;
  rounds: number;
  overflowProbability: number;
  /** ln of overflow.ts's bound for these settings (≤ ln overflowProbability). */
  logOverflowBound: number;
}

function refuse(field: string, value: unknown, message: string): never {
  throw new DpConfigError(`dp.distributed.${field}: ${message}`, { at: 'dp.distributed', field: `dp.distributed.${field}`, value });
}

/** Validates the settings (zod, naming the field). */
export function parseDistributedDpSettings(input: unknown): DistributedDpSettings {
  const result = DistributedDpSettingsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join('.') || '(top level)';
  refuse(field, (input as Record<string, unknown> | undefined)?.[String(issue.path[0])], `${issue.message}. Expected { mechanism?: 'skellam', bits?: 2…32, scale?: 'auto' | number > 0, beta?: [0, 1), overflowProbability?: (0, 1) }.`);
}

/** Resolves settings for a run: fixes s, B, Δ₁, V and checks the overflow bound. */
export function planDistributedDp(input: DistributedDpSettingsInput | DistributedDpSettings | undefined, run: DistributedDpRun): DistributedDpPlan {
  const settings = parseDistributedDpSettings(input);
  checkRun(run);
  const modulus = ringModulus(settings.bits);
  const dimension = paddedDimension(run.length);
  const base = { bits: settings.bits, dimension, participants: run.maxParticipants, rounds: run.rounds };
  const logThreshold = Math.log(settings.overflowProbability);
  const variance = (s: number) => (run.noiseMultiplier * run.clip * s) ** 2;
  const logBound = (s: number) => logOverflowBound({ ...base, scaledClip: run.clip * s, noiseVariance: variance(s) });
  // One client's Poisson mean V/(2n) is largest at n = 1; past 2^50 counts would leave exact float64 integers.
  const fits = (s: number) => logBound(s) <= logThreshold && variance(s) / 2 <= MAX_POISSON_MEAN;
  const largest = largestFittingScale(fits);
  const where = `up to ${run.maxParticipants} clients a round over ${run.rounds} round(s), ${run.length} values (rotated to ${dimension})`;
  if (largest === null) {
    refuse(
      'bits',
      settings.bits,
      `no scale keeps the sum in Z_2^${settings.bits} with overflow probability ≤ ${settings.overflowProbability} for ${where}` +
        (run.maxParticipants >= modulus / 2 - 1 ? ` (the clients' rounding errors alone can reach ${run.maxParticipants})` : '') +
        `; raise bits (at most ${MAX_BITS}) or lower the clients per round.`,
    );
  }
  let scale: number;
  if (settings.scale === 'auto') {
    scale = largest;
  } else {
    scale = settings.scale;
    if (!fits(scale)) {
      const p = Math.exp(logBound(scale));
      refuse(
        'scale',
        scale,
        variance(scale) / 2 > MAX_POISSON_MEAN
          ? `scale ${scale} makes each client's noise share a Poisson mean above 2^50 (counts would leave exact float64 integers); use scale ≤ ${largest} or 'auto'.`
          : `with scale ${scale} the sum of ${where} leaves Z_2^${settings.bits} with probability up to ${p.toPrecision(3)}, above overflowProbability ${settings.overflowProbability}; ` +
              `use scale ≤ ${largest} (or 'auto'), or raise bits (at most ${MAX_BITS}).`,
      );
    }
  }
  const scaledClip = run.clip * scale;
  const l2 = roundedNormBound(scaledClip, dimension, settings.beta);
  return {
    mechanism: settings.mechanism,
    bits: settings.bits,
    modulus,
    clip: run.clip,
    noiseMultiplier: run.noiseMultiplier,
    scale,
    beta: settings.beta,
    length: run.length,
    dimension,
    scaledClip,
    l2,
    // Integer coordinates: Σ|v| ≤ Σ v² ≤ B²; and Σ|v| ≤ √d·B.
    l1: l2 * Math.min(Math.sqrt(dimension), l2),
    noiseVariance: variance(scale),
    maxParticipants: run.maxParticipants,
    rounds: run.rounds,
    overflowProbability: settings.overflowProbability,
    logOverflowBound: logBound(scale),
  };
}

/** The largest s (3 significant digits, rounded down) with fits(s), or null; fits must be monotone (true below some s, false above). */
function largestFittingScale(fits: (s: number) => boolean): number | null {
  let lo = 1e-12;
  let hi = 1e15;
  if (!fits(lo)) return null;
  if (fits(hi)) return hi;
  for (let i = 0; i < 200; i++) {
    const mid = Math.sqrt(lo * hi);
    if (fits(mid)) lo = mid;
    else hi = mid;
    if (hi / lo < 1 + 1e-12) break;
  }
  const digits = 10 ** (Math.floor(Math.log10(lo)) - 2);
  const nice = Math.floor(lo / digits) * digits;
  return fits(nice) ? nice : lo;
}

function checkRun(run: DistributedDpRun): void {
  const positive = (field: keyof DistributedDpRun, integer: boolean, why: string) => {
    const value = run[field];
    if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
      throw new DpConfigError(`distributed DP: ${field} must be a ${integer ? 'positive integer' : 'finite number > 0'}, got ${value}; ${why}.`, { at: 'planDistributedDp', field, value });
    }
  };
  positive('clip', false, 'it is the L2 norm every client update is clipped to');
  positive('noiseMultiplier', false, 'the summed noise has std noiseMultiplier × clip (0 would be no privacy)');
  positive('length', true, 'it is the length of the vector each client encodes');
  positive('maxParticipants', true, 'it is the most clients one round sums');
  positive('rounds', true, 'the overflow bound is a union over the rounds');
}

/** The Poisson mean of ONE client's share when n clients take part: each adds Sk(V/(2n), V/(2n)), variance V/n. */
export function shareMean(plan: Pick<DistributedDpPlan, 'noiseVariance' | 'maxParticipants'>, participants: number): number {
  if (!Number.isSafeInteger(participants) || participants < 1 || participants > plan.maxParticipants) {
    throw new DpConfigError(
      `distributed DP: a round of ${participants} participants is outside the plan's 1…${plan.maxParticipants} (its overflow bound is for at most ${plan.maxParticipants} clients); plan for more clients per round`,
      { at: 'shareMean', field: 'participants', value: participants },
    );
  }
  return plan.noiseVariance / (2 * participants);
}

/**
 * The noise variance actually in a round's sum: each of the n participants drew V/n, and
 * only the `survivors` whose masked input reached the sum contributed theirs — a client
 * that drops out inside the SecAgg+ round takes its share with it.
 */
export function survivingVariance(plan: Pick<DistributedDpPlan, 'noiseVariance'>, participants: number, survivors: number): number {
  if (!Number.isSafeInteger(survivors) || survivors < 1 || survivors > participants) {
    throw new DpConfigError(`distributed DP: ${survivors} survivors of ${participants} participants is not a count in 1…${participants}`, { at: 'survivingVariance', field: 'survivors', value: survivors });
  }
  return (plan.noiseVariance * survivors) / participants;
}
