/**
 * SecAgg+ parameters, named and defaulted as in Flower's SecAggPlusWorkflow, and their
 * resolution for one round of n participants.
 *
 * The reconstruction threshold must be a majority of each neighbourhood: t > k/2 (Bell et al.
 * 2020; Bonawitz et al. 2017 likewise need t > n/2 against a lying server). With t ≤ k/2 a
 * server can tell half of a client's neighbours that it dropped out (they reveal shares of its
 * masking key) and the other half that it survived (they reveal shares of its self-mask seed):
 * with t shares of each it unmasks that client's update alone. Such a t is refused, unless
 * the parameters say `unsafeThreshold: true` *and* the run declared the unsafe setting
 * (`policies: { unsafe: ['secagg-threshold'] }`), so that its log header records it.
 * When fedsim itself enlarges a neighbourhood (numShares ≥ n − 1 becomes the complete graph
 * of n), a threshold that was a majority of the numShares asked for is raised to a majority
 * of the neighbourhood used (RoundConfig.threshold; `requestedThreshold` keeps the original).
 *
 * numShares counts the client itself, as in Flower ("each client sends one share to each of
 * its neighbours while retaining one"): with numShares = k a client has k − 1 neighbours.
 * The neighbour graph is a ring over a seeded shuffle with ⌊k/2⌋ neighbours on each side, so
 * an even k is raised to k + 1 (Flower does the same); when k ≥ n − 1 every client is every
 * other client's neighbour and the protocol is Bonawitz et al.'s full SecAgg (n shares each).
 * Only integers are accepted (Flower also takes fractions of n; a count is unambiguous).
 *
 * Two input encodings. 'quantized' (default, Flower's): each client hands SecAgg+ a float
 * vector, which the client quantises from [−c, c] to [0, T]; the server dequantises the sum.
 * 'ring': each client hands SecAgg+ a vector already in Z_m (a Uint32Array of values < m) —
 * e.g. distributed DP's noised integers in two's complement (src/dp/distributed) — which is
 * masked as it is; the server returns the sum mod m and its centred reading, and the
 * encoder, not SecAgg+, owns the question whether the sum wraps (its own overflow bound).
 */
import { z } from 'zod';
import { maxClientsForModulus, quantizationStep } from '../crypto/quantize.js';
import { SecAggConfigError } from './errors.js';

const MAX_MODULUS = 2 ** 32;

export const SecAggPlusParamsSchema = z
  .object({
    /** Shares each client splits its secrets into, itself included (Flower's `num_shares`). */
    numShares: z.number().int().min(2, 'numShares must be ≥ 2 (the client and at least one neighbour)'),
    /** Shares needed to rebuild a secret (Flower's `reconstruction_threshold`). */
    reconstructionThreshold: z.number().int().min(2, 'reconstructionThreshold must be ≥ 2: with 1, every neighbour could unmask a client alone'),
    /** Values are clipped to [−c, c] before quantisation (Flower default 8.0). */
    clippingRange: z.number().positive().finite().default(8.0),
    /** Quantised values lie in [0, quantizationRange) (Flower default 2^22). */
    quantizationRange: z.number().int().min(2).default(4194304),
    /** Masks and sums live in Z_modulusRange (Flower default 2^32; at most 2^32 here). */
    modulusRange: z.number().int().min(3).max(MAX_MODULUS, 'modulusRange must be ≤ 2^32 (masked vectors are uint32)').default(MAX_MODULUS),
    /** Virtual ms the server waits for the answers of one stage; later answers count as dropouts. */
    timeout: z.number().positive().finite().default(30_000),
    /**
     * Accept a threshold t ≤ k/2 (see above): only with the run's `unsafe: ['secagg-threshold']`
     * policy, and clients accept it only under that policy too. For experiments on the attack.
     */
    unsafeThreshold: z.boolean().default(false),
    /** What a client hands SecAgg+ (see above): a float vector to quantise, or a vector already in Z_m. */
    encoding: z.enum(['quantized', 'ring']).default('quantized'),
  })
  .strict()
  .refine((p) => p.encoding === 'ring' || p.modulusRange > p.quantizationRange, {
    message: 'modulusRange must be greater than quantizationRange (masked values are reduced mod modulusRange)',
  });

export type SecAggPlusParams = z.infer<typeof SecAggPlusParamsSchema>;
export type SecAggPlusParamsInput = z.input<typeof SecAggPlusParamsSchema>;

/** What one round actually uses, fixed at setup and sent to every client. */
export interface RoundConfig {
  round: number;
  /** Number of participants n the round started with. */
  sampleSize: number;
  /** Shares per client after the ring adjustment (odd, or n for the complete graph). */
  numShares: number;
  threshold: number;
  /** The threshold the parameters asked for, when it was raised to a majority of the neighbourhood. */
  requestedThreshold?: number;
  /** Set when the round runs with t ≤ k/2 under the run's unsafe policy. */
  unsafeThreshold?: true;
  clippingRange: number;
  quantizationRange: number;
  modulusRange: number;
  timeout: number;
  /** Present (and 'ring') only when clients hand in vectors already in Z_m; absent means quantised floats. */
  encoding?: 'ring';
}

/** Validates parameters, naming the field and the rule broken. */
export function parseSecAggParams(input: unknown, source = 'SecAgg+ parameters'): SecAggPlusParams {
  const result = SecAggPlusParamsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('\n');
  throw new SecAggConfigError(
    `${source} are invalid:\n${problems}\n` +
      'Expected { numShares, reconstructionThreshold, clippingRange?, quantizationRange?, modulusRange?, timeout?, encoding? } as in Flower\'s SecAggPlusWorkflow.',
  );
}

/** Shares per client for n participants: the ring needs an odd count; k ≥ n − 1 means everyone. */
export function effectiveShares(numShares: number, participants: number): number {
  if (numShares >= participants - 1) return participants;
  const odd = numShares % 2 === 1 ? numShares : numShares + 1;
  return Math.min(odd, participants);
}

/** Whether t shares out of a neighbourhood of k are a majority (t > k/2). */
export const isMajority = (threshold: number, shares: number): boolean => 2 * threshold > shares;

/**
 * The round's configuration for `participants` clients, or a SecAggConfigError saying what to
 * change. `unsafeAllowed`: whether the run declared the unsafe setting `secagg-threshold`.
 */
export function resolveRoundConfig(params: SecAggPlusParams, round: number, participants: number, unsafeAllowed = false): RoundConfig {
  const where = `SecAgg+ round ${round}`;
  if (!Number.isInteger(participants) || participants < 2) {
    throw new SecAggConfigError(`${where}: needs at least 2 participants, got ${participants}; a sum of one client is that client's update.`);
  }
  const numShares = effectiveShares(params.numShares, participants);
  let threshold = params.reconstructionThreshold;
  const majority = Math.floor(numShares / 2) + 1;
  let requestedThreshold: number | undefined;
  let unsafe = false;
  if (!isMajority(threshold, numShares)) {
    const asked = Math.min(params.numShares, participants);
    if (params.unsafeThreshold) {
      if (!unsafeAllowed) {
        throw new SecAggConfigError(
          `${where}: unsafeThreshold is set (reconstructionThreshold ${threshold} of ${numShares} shares), but the run did not declare the unsafe setting. ` +
            "Create the simulation with policies: { unsafe: ['secagg-threshold'] }, so that its log header records that this run may reveal single updates.",
        );
      }
      unsafe = true;
    } else if (isMajority(threshold, asked)) {
      // A majority of the numShares asked for; fedsim made the neighbourhood larger (the complete graph): keep it a majority.
      requestedThreshold = threshold;
      threshold = majority;
    } else {
      throw new SecAggConfigError(
        `${where}: reconstructionThreshold ${threshold} is not a majority of the ${numShares} shares each client makes (numShares ${params.numShares}, ` +
          `${participants} participants). A server that shows different dropout sets to different clients could collect ${threshold} shares of one client's ` +
          `self-mask seed from some neighbours and ${threshold} of its masking key from the others, and unmask that client's update (Bell et al. 2020 require t > k/2). ` +
          `Use reconstructionThreshold ≥ ${majority}; or, to study the attack, set unsafeThreshold: true and create the simulation with policies: { unsafe: ['secagg-threshold'] } (the log header records it).`,
      );
    }
  }
  if (threshold > numShares) {
    throw new SecAggConfigError(
      `${where}: reconstructionThreshold ${threshold} exceeds the ${numShares} shares each client makes ` +
        `(numShares ${params.numShares}, ${participants} participants), so no secret could ever be rebuilt. ` +
        `Lower reconstructionThreshold to at most ${numShares} or raise numShares.`,
    );
  }
  // The server sums up to n quantised vectors of values < quantizationRange; that sum must not wrap.
  // (Ring inputs carry their own sign and scale: whether their sum wraps is their encoder's bound, not this one.)
  const maxSummands = maxClientsForModulus(params.quantizationRange - 1, params.modulusRange);
  if (params.encoding === 'quantized' && participants > maxSummands) {
    throw new SecAggConfigError(
      `${where}: ${participants} quantised vectors with values in [0, ${params.quantizationRange}) can add up to ` +
        `${participants * (params.quantizationRange - 1)}, which wraps modulo modulusRange ${params.modulusRange} ` +
        `(at most ${maxSummands} clients fit). Lower quantizationRange or raise modulusRange.`,
    );
  }
  return {
    round,
    sampleSize: participants,
    numShares,
    threshold,
    ...(requestedThreshold === undefined ? {} : { requestedThreshold }),
    ...(unsafe ? { unsafeThreshold: true as const } : {}),
    clippingRange: params.clippingRange,
    quantizationRange: params.quantizationRange,
    modulusRange: params.modulusRange,
    timeout: params.timeout,
    ...(params.encoding === 'ring' ? { encoding: 'ring' as const } : {}),
  };
}

/** The largest quantised value: values lie in [0, quantizationRange), i.e. [0, T] with T = range − 1. */
export function quantizationTarget(config: Pick<RoundConfig, 'quantizationRange'>): number {
  return config.quantizationRange - 1;
}

/** Per-element error bound of one client's dequantised value (the sum's bound is k times this). */
export function roundQuantizationStep(config: Pick<RoundConfig, 'clippingRange' | 'quantizationRange'>): number {
  return quantizationStep(config.clippingRange, quantizationTarget(config));
}
