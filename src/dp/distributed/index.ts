/**
 * Distributed DP over SecAgg+ (issue #15, part D): each client adds its share of Skellam
 * noise to its rotated, rounded update in Z_{2^bits} before masking, so the server only ever
 * sees the noised sum. plan.ts resolves the settings; encode.ts / decode.ts are the two
 * ends; skellam-rdp.ts and round-privacy.ts the accounting; overflow.ts the refusal of
 * settings whose sums could wrap.
 */
export { DistributedDpSettingsSchema, parseDistributedDpSettings, planDistributedDp, shareMean, survivingVariance, DEFAULT_BETA, DEFAULT_OVERFLOW_PROBABILITY } from './plan.js';
export type { DistributedDpSettings, DistributedDpSettingsInput, DistributedDpPlan, DistributedDpRun } from './plan.js';
export { encodeUpdate, encodeStreams, type EncodedUpdate, type RoundEncoding } from './encode.js';
export { decodeSum } from './decode.js';
export { distributedRoundPrivacy, type DistributedRound, type DistributedRoundPrivacy } from './round-privacy.js';
export { skellamRdp, skellamRdpCurve, poissonSubsampledRdp, skellamRoundEvent, SKELLAM_ORDERS, type SkellamSensitivity } from './skellam-rdp.js';
export { logOverflowBound, overflowBound, type OverflowSetting } from './overflow.js';
export { samplePoisson, sampleSkellamVector, poissonLogPmf, MAX_POISSON_MEAN } from './poisson.js';
export { rotate, unrotate, rotationSigns, paddedDimension, walshHadamard } from './rotation.js';
export { conditionalRound, roundedNormBound, MAX_ROUNDING_TRIES } from './rounding.js';
export { toRing, fromRingCentred, ringModulus } from './ring.js';
