/** Metrics of federated runs. */
export { type RoundBytes, type RoundMetrics, pooledEvaluation } from './round-metrics.js';
export { ByteMeter } from './byte-meter.js';
export { formatRoundsTable } from './table.js';
