/**
 * The masks of SecAgg+, on both sides.
 *
 * A client with quantised input x_u sends
 *     y_u = x_u + PRG(b_u) + Σ_{v ∈ N(u), v > u} PRG(s_uv) − Σ_{v ∈ N(u), v < u} PRG(s_uv)   (mod m)
 * where b_u is its fresh self-mask seed and s_uv = HKDF(X25519(s_u^SK, s_v^PK)) = s_vu the
 * pairwise seed with neighbour v ("v < u" compares ids as strings, a total order both ends
 * share). Summed over the survivors U, each pairwise mask between two survivors appears once
 * with + and once with −, so
 *     Σ_U y_u = Σ_U x_u + Σ_U PRG(b_u) + Σ_{u ∈ U, d ∉ U} ±PRG(s_ud)
 * The server rebuilds each b_u (u ∈ U) and each dropped d's s_d^SK from Shamir shares, then
 * removes those terms. The sum of the x_u is exact modulo m.
 *
 * Every caller validates lengths and neighbourhoods before masking (the server refuses a
 * masked vector of the wrong length; a neighbourhood never pairs a client with itself), so
 * a failed check here is an FlInvariantError.
 */
import { FlInvariantError } from '../../errors.js';
import { LABEL_MASK_SEED, deriveKey } from '../crypto/keys.js';
import { maskVector, sharedSecret } from './native-crypto.js';

/** The pairwise mask seed of the owner of `secretKey` with the owner of `peerPublicKey` (masking key pair s). */
export function pairwiseSeed(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  return deriveKey(sharedSecret(secretKey, peerPublicKey), LABEL_MASK_SEED);
}

/** acc ← acc + v (mod m), in place. */
export function addInto(acc: Uint32Array, v: Uint32Array, modulus: number): void {
  checkLengths(acc, v);
  if (modulus === 2 ** 32) {
    // Two's-complement int32 addition is addition mod 2^32, and stays on V8's integer fast path.
    const a = int32View(acc);
    const b = int32View(v);
    for (let i = 0; i < a.length; i++) a[i] = (a[i] + b[i]) | 0;
  } else if ((modulus & (modulus - 1)) === 0) {
    const mask = modulus - 1;
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + v[i]) & mask;
  } else {
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + v[i]) % modulus;
  }
}

/** acc ← acc − v (mod m), in place (entries of both must already be < m). */
export function subtractInto(acc: Uint32Array, v: Uint32Array, modulus: number): void {
  checkLengths(acc, v);
  if (modulus === 2 ** 32) {
    const a = int32View(acc);
    const b = int32View(v);
    for (let i = 0; i < a.length; i++) a[i] = (a[i] - b[i]) | 0;
  } else if ((modulus & (modulus - 1)) === 0) {
    const mask = modulus - 1;
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] - v[i]) & mask;
  } else {
    for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + modulus - v[i]) % modulus;
  }
}

function int32View(v: Uint32Array): Int32Array {
  return new Int32Array(v.buffer, v.byteOffset, v.length);
}

/** Adds (`sign` +1) or subtracts (−1) the mask PRG(seed) into acc. */
export function applyMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1, modulus: number): void {
  const mask = maskVector(seed, acc.length, modulus);
  if (sign === 1) addInto(acc, mask, modulus);
  else subtractInto(acc, mask, modulus);
}

/** The sign with which `owner` adds its pairwise mask with `peer` (the peer uses the opposite). */
export function pairwiseSign(owner: string, peer: string): 1 | -1 {
  if (owner === peer) throw new FlInvariantError(`pairwiseSign: '${owner}' has no pairwise mask with itself, but a mask with itself was asked for`, { op: 'pairwiseSign', actor: owner });
  return owner > peer ? 1 : -1;
}

/**
 * A client's masked input: a copy of `quantized` plus its self mask and every pairwise mask
 * with the neighbours whose shares it received (`peers`: id → masking public key).
 */
export function maskInput(
  quantized: Uint32Array,
  owner: string,
  selfSeed: Uint8Array,
  maskingSecretKey: Uint8Array,
  peers: ReadonlyMap<string, Uint8Array>,
  modulus: number,
): Uint32Array {
  const masked = Uint32Array.from(quantized);
  applyMask(masked, selfSeed, 1, modulus);
  for (const peer of [...peers.keys()].sort()) {
    applyMask(masked, pairwiseSeed(maskingSecretKey, peers.get(peer)!), pairwiseSign(owner, peer), modulus);
  }
  return masked;
}

function checkLengths(a: Uint32Array, b: Uint32Array): void {
  if (a.length !== b.length) throw new FlInvariantError(`mask arithmetic: vector lengths differ (${a.length} vs ${b.length}) after the lengths were checked`, { op: 'mask arithmetic' });
}
