/**
 * Privacy accounting: what the rest of fedsim (DP-FedAvg, DP-SGD, distributed DP) and the
 * `fedsim privacy` command use. Pure mathematics: no tfjs, no actors, nothing random.
 */
export { ACCOUNTANT_JSON_FORMAT, ACCOUNTANT_KINDS, DEFAULT_ORDERS, PrivacyAccountant } from './accountant.js';
export type { AccountantJson, AccountantKind, ComposedEvent, PrivacyAccountantOptions, PrivacySpent } from './accountant.js';
export { calibrateNoiseMultiplier, MAX_NOISE_MULTIPLIER, MIN_NOISE_MULTIPLIER } from './calibrate.js';
export type { NoiseCalibration, NoiseCalibrationTarget } from './calibrate.js';
export { checkDpEvent, DP_EVENT_KINDS } from './events.js';
export type { DpEvent, DpEventKind } from './events.js';
export { DEFAULT_PLD_DISCRETIZATION } from './pld.js';
export { checkCount, checkDelta, checkEpsilon, checkNoiseMultiplier, checkOrders, checkSamplingRate } from './parameter-checks.js';
export { rdpGaussian, rdpPoissonSampledGaussian, rdpPoissonSampledGaussianCurve } from './rdp-sampled-gaussian.js';
export { classicEpsilonFromRdp, deltaFromRdp, epsilonFromRdp } from './rdp-to-dp.js';
export type { RdpCurve } from './rdp-to-dp.js';
