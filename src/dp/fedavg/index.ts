/** Client-level DP-FedAvg: the `dp` settings, the server and client wrappers, the per-round accounting and the privacy report. */
export { DpSettingsSchema, type DpSettings, type DpSettingsInput, type DpMode, DP_MODES, updateNoiseMultiplier, dpSettingProblems } from './settings.js';
export { DpFedAvg, type DpState, type DpRoundNote } from './dp-strategy.js';
export { dpClientAlgorithm, type DpClientOptions, UNCLIPPED_METRIC, DP_FIT_FIELD, dpNoiseStreamName } from './dp-client.js';
export { withDp, dpRunProblems } from './with-dp.js';
export { roundAccounting, type RoundAccounting, type Ledger } from './round-accounting.js';
export { nextClip, type ClipEstimate, type ClipStep } from './adaptive-clip.js';
export { poissonSample } from './poisson-sampling.js';
export { privacyStatement, privacyLine, dpNoteOf, type PrivacyStatement } from './privacy-report.js';
export { clipUpdate, reportClipped, l2Norm, type ClippedUpdate } from '../clipping.js';
export { withGaussianNoise } from '../noise.js';
