/** FL strategies behind one interface (Flower's Strategy). */
export * from './strategy.js';
export { averageUpdates, meanLoss } from './aggregate.js';
export { FedAvg, FedProx, type FedProxOptions } from './fedavg.js';
export { FedAvgM, type FedAvgMOptions } from './fedavgm.js';
export { FedOpt, type AdaptiveRule, type FedOptOptions, fedAdagrad, fedAdam, fedYogi } from './fedopt.js';
export { FedMedian, FedTrimmedAvg, type TrimmedMeanOptions, median, trimmedMean } from './robust.js';
export { Krum, type KrumOptions, krumScores } from './krum.js';
export { StrategyConfigSchema, type StrategyConfig, STRATEGY_NAMES, createStrategy } from './create.js';
