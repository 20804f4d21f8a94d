/**
 * Turning a run's strategy into its DP-FedAvg version: the checks of the `dp` settings
 * against the rest of the run (the one rule runFederated refuses a run by and an
 * experiment file's check refuses the file by), and the wrapping itself.
 */
import { SecAggOptionsSchema } from '../../fl/fedavg/secure-options.js';
import type { SettingProblem } from '../../fl/rounds/aggregator.js';
import { SamplingStrategy, type Strategy } from '../../fl/strategies/strategy.js';
import { DpFedAvg } from './dp-strategy.js';
import { type DpSettings, dpSettingProblems } from './settings.js';

/** The run's settings the DP checks read (a FederatedConfig, or an experiment file, has them). */
export interface DpRunSettings {
  aggregation: string;
  minClients?: number;
  strategy?: { minClients?: number };
  secagg?: unknown;
  /** The rounds configured (the accountant is checked to compose them all). */
  rounds?: number;
}

/**
 * Problems of `dp` with this run: `strategy` is the run's (unwrapped) strategy, `strategyPath`
 * where its config sits (['strategy'] for runFederated, ['algorithm'] in an experiment file).
 */
export function dpRunProblems(dp: DpSettings, strategy: Strategy<any>, settings: DpRunSettings, clients: number, strategyPath: readonly PropertyKey[]): SettingProblem[] {
  const sampling = strategy instanceof SamplingStrategy ? strategy : undefined;
  const minClientsPath = settings.strategy?.minClients !== undefined ? [...strategyPath, 'minClients'] : ['minClients'];
  const minClients = settings.strategy?.minClients ?? settings.minClients;
  return dpSettingProblems(dp, {
    aggregation: settings.aggregation,
    strategy,
    strategyPath,
    clients,
    ...(sampling ? { fraction: sampling.fraction } : {}),
    ...(minClients !== undefined ? { minClients: { value: minClients, path: minClientsPath } } : {}),
    ...(settings.rounds !== undefined ? { rounds: settings.rounds } : {}),
    ...(settings.aggregation === 'secagg+' ? { secAggClippingRange: SecAggOptionsSchema.parse(settings.secagg ?? {}).clippingRange } : {}),
  });
}

/** The DP-FedAvg strategy around `strategy` for a run of `clients` clients and `rounds` rounds (check dpRunProblems first). */
export function withDp<S>(strategy: Strategy<S>, dp: DpSettings, clients: number, rounds?: number): DpFedAvg<S> {
  return new DpFedAvg(strategy, dp, clients, rounds);
}
