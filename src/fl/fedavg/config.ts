/**
 * The serialisable settings of a federated run (what a scenario file can hold);
 * data, model objects and strategy objects are passed to runFederated beside them.
 */
import { z } from 'zod';
import { ModelSpecSchema, LossNameSchema } from '../models/spec.js';
import { StrategyConfigSchema } from '../strategies/create.js';
import { OptimizerConfigSchema } from '../training/optimizers.js';
import { DpSgdConfigSchema } from '../training/dp-sgd/config.js';
import { CostModelSchema } from './cost-model.js';
import { AGGREGATION_NAMES, AGGREGATOR_SETTINGS } from '../aggregators/registry.js';
import { FlConfigError } from '../errors.js';
import { DpSettingsSchema } from '../../dp/fedavg/settings.js';
import { RoundPolicySchema } from '../rounds/round-policy.js';

export const FederatedConfigSchema = z.object({
  model: ModelSpecSchema,
  /** Default FedAvg. */
  strategy: StrategyConfigSchema.default({ name: 'fedavg' }),
  rounds: z.number().int().min(1),
  /** C: fraction of clients per round (default 1); a strategy config's own `fraction` wins. */
  fraction: z.number().gt(0).max(1).optional(),
  minClients: z.number().int().min(1).optional(),
  /** E */
  localEpochs: z.number().int().min(1),
  /** B */
  batchSize: z.number().int().min(1),
  lr: z.number().positive(),
  optimizer: OptimizerConfigSchema.optional(),
  dropLast: z.boolean().optional(),
  loss: LossNameSchema.optional(),
  /** Sample-level DP-SGD in every client's local training: { clip, noiseMultiplier, delta? } (training/dp-sgd/config.ts). */
  dpSgd: DpSgdConfigSchema.optional(),
  /**
   * How a client trains: 'direct' (default) runs trainLocal on a tfjs model; 'plan' runs
   * E epochs as a training Plan (forward, loss, gradients, SGD update; plan-trainer.ts) —
   * linear / logistic / mlp models with plain SGD and no proximal term only.
   */
  localTrainer: z.enum(['direct', 'plan']).default('direct'),
  /**
   * Who sees the clients' updates: the server ('plain'); a trusted secure worker that
   * forwards only their average ('secure-worker'); nobody — the clients additively share
   * their updates among themselves and the server gets sums of shares ('additive'); or
   * nobody — Bonawitz/Bell SecAgg+ masking, tolerant of dropouts ('secagg+').
   */
  aggregation: z.enum(AGGREGATION_NAMES).default('plain'),
  /** Virtual ms a round waits for updates before dropping the stragglers (default one virtual minute). */
  roundDeadlineMs: z.number().positive().finite().default(60_000),
  /**
   * While a round collects, the fits of clients still missing are sent again this often
   * (they answer from what they stored, so a retry never retrains), and so are the closing
   * phase's messages after the deadline (a secure worker's close). Default: a quarter of
   * the round deadline.
   */
  fitRetryMs: z.number().positive().finite().optional(),
  /** Control messages (the start of the run, its result) are retried this often (default 5 virtual s)… */
  controlRetryMs: z.number().positive().finite().default(5_000),
  /** …at most this many times (default 20). */
  controlAttempts: z.number().int().min(1).max(1000).default(20),
  cost: CostModelSchema.optional(),
  /**
   * Over-selection and minimum participation (rounds/round-policy.ts): `{ overSelection: 1.3 }`
   * selects ⌈1.3·K⌉ and keeps the first K updates; `{ minParticipation: n }` skips a round
   * with fewer than n updates.
   */
  roundPolicy: RoundPolicySchema.optional(),
  /** Evaluate the global model on each client's test split: every round (default), after the last round, or never. */
  clientEvaluation: z.enum(['every-round', 'final', 'none']).default('every-round'),
  /**
   * Evaluate the global model on the union of the clients' training data (the
   * "training loss" of FedProx's figures, as opposed to the mean of the clients'
   * local losses): every round, after the last round, or never (default).
   */
  trainEvaluation: z.enum(['every-round', 'final', 'none']).default('none'),
  serverId: z.string().regex(/^[^\s→]+$/).default('server'),
  /**
   * Client-level differential privacy (DP-FedAvg: clipping, noise, Poisson or fixed sampling,
   * an accountant and an optional ε budget): see src/dp/fedavg/settings.ts.
   */
  dp: DpSettingsSchema.optional(),
  /** Each aggregation mode's own fields (secureWorkerId, additive, secagg, …: see aggregators/registry.ts). */
  ...AGGREGATOR_SETTINGS,
});
export type FederatedConfig = z.infer<typeof FederatedConfigSchema>;
export type FederatedConfigInput = z.input<typeof FederatedConfigSchema>;

/** The run's settings, strictly: an unknown (mistyped) option is refused rather than ignored. */
/** Made once: zod compiles a schema on its first parse, and a `.strict()` made per call was compiled for every run. */
const StrictFederatedConfigSchema = FederatedConfigSchema.strict();

export function parseFederatedConfig(value: unknown): FederatedConfig {
  const result = StrictFederatedConfigSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new FlConfigError(`runFederated: ${issue.path.join('.') || '(options)'}: ${issue.message}`, { field: issue.path.join('.') });
  }
  return result.data;
}
