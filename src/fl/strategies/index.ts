/** FL strategies behind one interface (Flower's Strategy). */
export * from './strategy.js';
export { averageUpdates, meanLoss } from './aggregate.js';
export { FedAvg, FedProx, type FedProxOptions, fedProxClient } from './fedavg.js';
export { aggregateUpdates } from './apply.js';
export { FedAvgM, type FedAvgMOptions, type FedAvgMState } from './fedavgm.js';
export { FedOpt, type AdaptiveRule, type FedOptOptions, type FedOptState, fedAdagrad, fedAdam, fedYogi } from './fedopt.js';
export { FedMedian, FedTrimmedAvg, type TrimmedMeanOptions, median, trimmedMean } from './robust.js';
export { Krum, type KrumOptions, krumScores } from './krum.js';
export { StrategyConfigSchema, type StrategyConfig, STRATEGY_NAMES, STRATEGY_ENTRIES, createStrategy, strategyEntry, samplingFields, type StrategyEntry } from './create.js';
