/**
 * Additive secret sharing and fixed-precision encoding now live in the actors layer
 * (src/actors/smpc/additive.ts), because the workers that hold shares (actors) and the
 * AdditiveSharingTensor (pointers) use them and may not import from fl. Re-exported here
 * so the FL layer and existing imports keep their path.
 */
export * from '../../../actors/smpc/additive.js';
