/**
 * FitIns and FitRes: what a server asks a client to do in a round, and what the client
 * reports back (Flower's FitIns / FitRes, typed).
 *
 * Both carry OPEN maps, so an algorithm adds fields without touching the engine:
 *   FitIns.config   the training settings (epochs, batchSize, lr …) plus any field an
 *                   algorithm needs (FedProx's proxMu, SCAFFOLD's server control variate …);
 *                   each algorithm reads its own fields with its own zod schema.
 *   FitRes.extras   arrays in the model's layout that the server averages beside the
 *                   weights (SCAFFOLD's control-variate change, FedNova's normalised update);
 *   FitRes.metrics  scalars the server averages (FedNova's local step count).
 * Everything in FitRes is averaged with one weight per report — n_k (numSamples) by
 * default, 1 when the algorithm's ReportLayout says `weighting: 'uniform'` — so every
 * field can travel through a secure sum as well as in the clear (see round-aggregate.ts).
 */
import { z } from 'zod';
import type { Weights } from '../models/weights.js';
import { TrainConfigSchema } from '../training/train-local.js';
import { wireBytes } from './protocol.js';

const Float32ArraySchema = z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' });
export const WeightsSchema = z.array(Float32ArraySchema).min(1).max(100_000);

/** A config value: a scalar, a string, a flag, arrays in the model's layout, or a small JSON object (an optimizer config). */
const ConfigValueSchema = z.union([z.number(), z.string().max(10_000), z.boolean(), WeightsSchema, z.record(z.string(), z.unknown())]);
export type ConfigValue = number | string | boolean | Weights | Record<string, unknown>;

/** The training settings every client understands, plus algorithm fields. */
export const FitConfigSchema = TrainConfigSchema.catchall(ConfigValueSchema);
export type FitConfig = z.infer<typeof TrainConfigSchema> & { [field: string]: ConfigValue | undefined };

const roundNumber = z.number().int().min(1);

export const FitInsSchema = z.object({
  round: roundNumber,
  weights: WeightsSchema,
  config: FitConfigSchema,
  /** How this round's update is reported: the aggregator's own field (see aggregator.ts). */
  report: z.record(z.string(), z.unknown()).optional(),
  /** Algorithms with client state only: see FitIns.includedRound. */
  includedRound: z.number().int().min(0).optional(),
});
export interface FitIns {
  round: number;
  weights: Weights;
  config: FitConfig;
  report?: Record<string, unknown>;
  /**
   * Sent to the clients of an algorithm with client state (and only to them): the last round
   * whose committed aggregate included THIS client's report, 0 when none has yet. The client
   * adopts the state its answer to that round left pending, or drops it (client-fit.ts). Per
   * client, unlike the rest of the FitIns; the same in every copy of one round's fit.
   */
  includedRound?: number;
}

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });

export const FitResSchema = z
  .object({
    round: roundNumber,
    weights: WeightsSchema,
    /** n_k, the samples the client trained on: FedAvg's weight. */
    numSamples: z.number().int().min(0),
    /** The client's mean training loss. */
    loss: finite,
    extras: z.record(z.string(), WeightsSchema).default({}),
    metrics: z.record(z.string(), finite).default({}),
  })
  .strict();
export interface FitRes {
  round: number;
  weights: Weights;
  numSamples: number;
  loss: number;
  extras: Record<string, Weights>;
  metrics: Record<string, number>;
}

/**
 * What a client reports beside its weights (declared by its algorithm, so the server can
 * check every report has it and a secure sum can lay it out): `extras` names arrays in the
 * model's layout, `metrics` names scalars. Names are sorted wherever they are laid out.
 */
export interface ReportLayout {
  extras: readonly string[];
  metrics: readonly string[];
  /**
   * How much each report weighs in the round's means: 'samples' (default) by its n_k, as
   * FedAvg; 'uniform' by 1 whatever its n_k, as DP-FedAvg (McMahan et al. 2018), where
   * the sum of clipped updates must have sensitivity C — one client, one vote. Every
   * aggregation mode reads it through reportWeight (round-aggregate.ts), nowhere else.
   */
  weighting?: 'samples' | 'uniform';
  /**
   * 'withheld': the clients report neither n_k nor their training loss (both go as 0), as
   * DP clients do — a sample count or a loss is a statistic of the client's data that no
   * noise covers. The round then shows its train loss as withheld (NaN). Default 'reported'.
   */
  trainingStats?: 'reported' | 'withheld';
}

/**
 * True when a client's training loss must not leave it: its algorithm withholds its training
 * statistics (client-level DP), or it trains with DP-SGD (sample-level DP: the noised
 * gradients are covered by ε, the un-noised mean loss is not). The client reports 0 and the
 * round shows its train loss as withheld (NaN). One rule for the client and the server.
 */
export function lossWithheld(layout: ReportLayout, config: { dpSgd?: unknown }): boolean {
  return layout.trainingStats === 'withheld' || config.dpSgd !== undefined;
}

export const PLAIN_REPORT: ReportLayout = { extras: [], metrics: [] };

/** True when `res` carries exactly the fields of `layout` (no missing, no unexpected ones). */
export function reportMatches(res: Pick<FitRes, 'extras' | 'metrics'>, layout: ReportLayout): string | undefined {
  const same = (got: string[], want: readonly string[]) => got.length === want.length && [...got].sort().every((k, i) => k === [...want].sort()[i]);
  if (!same(Object.keys(res.extras), layout.extras)) return `extras [${Object.keys(res.extras).join(', ')}] instead of [${layout.extras.join(', ')}]`;
  if (!same(Object.keys(res.metrics), layout.metrics)) return `metrics [${Object.keys(res.metrics).join(', ')}] instead of [${layout.metrics.join(', ')}]`;
  return undefined;
}

/** True when two reports are the same to the bit (a repeat, not a second answer). */
export function sameFitRes(a: FitRes, b: FitRes): boolean {
  if (a === b) return true;
  if (a.round !== b.round || a.numSamples !== b.numSamples || !Object.is(a.loss, b.loss)) return false;
  if (!sameArrays(a.weights, b.weights)) return false;
  const extras = Object.keys(a.extras).sort();
  if (extras.join('\u0000') !== Object.keys(b.extras).sort().join('\u0000')) return false;
  if (!extras.every((k) => sameArrays(a.extras[k], b.extras[k]))) return false;
  const metrics = Object.keys(a.metrics).sort();
  if (metrics.join('\u0000') !== Object.keys(b.metrics).sort().join('\u0000')) return false;
  return metrics.every((k) => Object.is(a.metrics[k], b.metrics[k]));
}

function sameArrays(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x.length !== y.length) return false;
    // Compare bits, so NaN payloads and -0 count as what they are.
    const xi = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yi = new Uint32Array(y.buffer, y.byteOffset, y.length);
    for (let j = 0; j < xi.length; j++) if (xi[j] !== yi[j]) return false;
  }
  return true;
}

/** The arrays in the model's layout that a fit's config carries (SCAFFOLD's control variate…), in sorted field order. */
function configWeights(config: FitConfig): Weights[] {
  return Object.keys(config)
    .sort()
    .map((k) => config[k])
    .filter((v): v is Weights => Array.isArray(v) && v.every((a) => a instanceof Float32Array));
}

/** Wire size of a fit carrying `weights` and `config` (what the server charges the link and a device downloads). */
export function fitBytes(weights: Weights, config: FitConfig): number {
  return wireBytes(weights, ...configWeights(config));
}

/** Wire size of a FitRes (what a plain client sends and a device uploads). */
export function fitResBytes(res: Pick<FitRes, 'weights' | 'extras'>): number {
  return wireBytes(res.weights, ...Object.values(res.extras));
}
