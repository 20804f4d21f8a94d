/**
 * Training settings that can never work together, as problems naming their fields:
 * the one rule runFederated refuses a run by and a scenario file's check (preflight)
 * refuses the file by, so both say the same and neither lags behind the other.
 *
 * - localTrainer 'plan' trains with a fixed Plan (plain SGD, the spec's loss, dense
 *   models): other optimizers, models and algorithms that add gradient terms at every
 *   step (FedProx, SCAFFOLD, FedDyn) cannot run on it.
 * - an algorithm's own training rules (FedNova needs plain SGD).
 * - a strategy whose rounds are too small for it (Krum needs n ≥ f + 3 updates).
 * - dpSgd with settings or a model it cannot run (dp-sgd/config.ts).
 */
import { planTrainerProblem } from '../fedavg/plan-trainer.js';
import type { LossName, ModelSpec } from '../models/spec.js';
import type { OptimizerConfig } from '../training/optimizers.js';
import { type DpSgdConfig, dpSgdTrainingProblems } from '../training/dp-sgd/config.js';
import type { StrategyConfig } from '../strategies/create.js';
import { SamplingStrategy, type Strategy, clientsToSample } from '../strategies/strategy.js';
import type { SettingProblem } from './aggregator.js';

/** The run settings the training rules read (a FederatedConfig has them all). */
export interface TrainingSettings {
  localTrainer?: 'direct' | 'plan';
  localEpochs: number;
  batchSize: number;
  lr: number;
  optimizer?: OptimizerConfig;
  dropLast?: boolean;
  loss?: LossName;
  dpSgd?: DpSgdConfig;
}

/** The training settings every fit starts from (the strategy lays its fields over them). */
export function trainConfigOf(config: TrainingSettings) {
  return {
    epochs: config.localEpochs,
    batchSize: config.batchSize,
    lr: config.lr,
    ...(config.optimizer !== undefined ? { optimizer: config.optimizer } : {}),
    ...(config.dropLast !== undefined ? { dropLast: config.dropLast } : {}),
    ...(config.loss !== undefined ? { loss: config.loss } : {}),
    ...(config.dpSgd !== undefined ? { dpSgd: config.dpSgd } : {}),
  };
}

/**
 * The trainer must be able to run the model, optimizer and algorithm, and the algorithm
 * must accept the training settings. Paths are the run's fields (`strategy` is the
 * algorithm's config; an experiment file calls it `algorithm`).
 */
export function trainingProblems(config: TrainingSettings, strategy: Strategy<any>, spec: ModelSpec): SettingProblem[] {
  const problems: SettingProblem[] = [];
  if (config.localTrainer === 'plan') {
    const problem = planTrainerProblem(spec, { optimizer: config.optimizer, loss: config.loss });
    if (problem) problems.push({ path: ['localTrainer'], expected: `'direct' for these settings: localTrainer 'plan': ${problem}`, found: "'plan'" });
    if (strategy.client.usesGradientTerms) {
      problems.push({
        path: ['localTrainer'],
        expected: `'direct' for algorithm '${strategy.client.name}': it adds gradient terms at every local step, which a training Plan (plain SGD on the loss) cannot`,
        found: "'plan'",
      });
    }
  }
  problems.push(...dpSgdTrainingProblems(config, spec));
  const problem = strategy.client.checkTraining?.(trainConfigOf(config));
  if (problem) problems.push({ path: ['strategy'], expected: `training settings algorithm '${strategy.name}' can run`, found: problem });
  return problems;
}

/** Rules of the strategy for rounds of `clientsPerRound` selected clients (e.g. Krum's n ≥ f + 3). */
export function roundSizeProblems(strategy: Strategy<any>, clientsPerRound: number): SettingProblem[] {
  const problem = strategy.roundSizeProblem?.(clientsPerRound);
  return problem ? [{ path: ['strategy', ...problem.field], expected: problem.expected, found: problem.found }] : [];
}

/** A strategy config with the run's top-level sampling (`fraction`, `minClients`) where the config has none. */
export function withRunSampling(config: StrategyConfig, run: { fraction?: number; minClients?: number }): StrategyConfig {
  return { ...config, fraction: config.fraction ?? run.fraction, minClients: config.minClients ?? run.minClients };
}

/** Clients selected each round: fraction × clients, at least minClients, at most all (what the run samples), or the strategy's own expectation. */
export function clientsPerRoundOf(strategy: Strategy<any>, clients: number): number {
  if (strategy.expectedClientsPerRound) return strategy.expectedClientsPerRound(clients);
  return strategy instanceof SamplingStrategy ? clientsToSample(strategy.fraction, clients, Math.min(strategy.minClients, clients)) : clients;
}
