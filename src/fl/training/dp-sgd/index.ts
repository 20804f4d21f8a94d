/** Sample-level DP-SGD in local training: per-example clipping (vectorised), Poisson batches, Gaussian noise, accounting. */
export { type DpSgdConfig, DpSgdConfigSchema, DEFAULT_DP_SGD_DELTA, dpSgdTrainingProblems } from './config.js';
export { type LayerProgram, layerProgram, runProgram, SUPPORTED_STATELESS_LAYERS } from './layer-program.js';
export { type ClippedGradientSum, type NormMethod, clippedGradientSum, perExampleGradients } from './per-example-gradients.js';
export { clippedGradientSumByLoop, perExampleGradientsByLoop } from './per-example-loop.js';
export { type PrivateGradient, type PrivateGradientSettings, privateGradient } from './private-gradient.js';
export { GaussianNoise } from './gaussian-noise.js';
export { poissonBatch } from './poisson-batches.js';
export { type DpSgdSpend, dpSgdSchedule } from './train-dp-sgd.js';
export { DP_SGD_MARK, type DpSgdMarkData, recordDpSgdRound } from './client-privacy.js';
export { DpSgdPrivacyLedger, type SampleLevelPrivacy } from './privacy-ledger.js';
export { type DpSgdResult, dpSgdResult } from './privacy-result.js';
/** What DP-SGD's functions throw for a bad DP parameter (clip ≤ 0, σ < 0, q ∉ (0, 1] …): an FlConfigError. */
export { DpConfigError } from '../../../dp/errors.js';
