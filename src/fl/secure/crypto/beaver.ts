/**
 * Beaver-triple multiplication and truncation now live in the actors layer
 * (src/actors/smpc/beaver.ts), where the workers run them; re-exported here for the FL
 * layer and existing imports (see additive.ts).
 */
export * from '../../../actors/smpc/beaver.js';
