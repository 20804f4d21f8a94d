/**
 * Cryptographic building blocks for secure aggregation (Bonawitz et al. 2017 SecAgg,
 * Bell et al. 2020 SecAgg+) and for PySyft-0.2-style additive secret sharing.
 *
 * SIMULATOR ONLY: every key, nonce, share and mask is derived from a seeded RandomStream
 * so runs are reproducible. None of it provides real secrecy.
 */
export * from './keys.js';
export * from './aead.js';
export * from './prg.js';
export * from './shamir.js';
export * from './quantize.js';
export * from './additive.js';
export * from './beaver.js';
