/**
 * Mask PRG for SecAgg / SecAgg+: one 32-byte seed → a vector uniform over Z_modulus.
 *
 * The keystream is ChaCha20 (RFC 8439) under `key = seed`, an all-zero 12-byte nonce and
 * block counter 0, 1, 2, ... — i.e. ChaCha20 "encryption" of zero bytes. A fixed nonce is
 * fine because every seed is used for exactly one mask (seeds come from HKDF over a pairwise
 * agreement or are fresh self-mask seeds). The keystream is read as little-endian uint32
 * words on every platform, so a seed gives the same mask everywhere.
 *
 * Exact uniformity by rejection sampling: with `limit = floor(2^32 / m) * m`, a word w is
 * accepted iff `w < limit` and mapped to `w % m`. Every residue then has exactly
 * `limit / m` preimages, so the output is exactly uniform (given a random keystream).
 * Expected words per element are `2^32 / limit < 2`, and for m a power of two (the usual
 * SecAgg+ choice, m = 2^32 or smaller) nothing is ever rejected.
 *
 * Masks must cancel, so both ends of a pair must call this with the same seed, length and
 * modulus; the output depends on nothing else.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { FlConfigError } from '../../errors.js';

export const MASK_SEED_BYTES = 32;
/** Largest supported modulus: each output must fit in a uint32. */
export const MAX_MODULUS = 2 ** 32;

const NONCE = new Uint8Array(12);
const BLOCK_BYTES = 64;
/** Keystream is produced in slabs of this many 64-byte blocks (64 KiB): big enough to amortise calls. */
const SLAB_BLOCKS = 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `length` integers uniform in [0, modulus), fully determined by `seed`. */
export function expandMask(seed: Uint8Array, length: number, modulus: number): Uint32Array {
  if (!(seed instanceof Uint8Array) || seed.length !== MASK_SEED_BYTES) {
    throw new FlConfigError(`expandMask: seed must be a Uint8Array of ${MASK_SEED_BYTES} bytes, got ${seed?.length}; derive it with deriveKey(…, LABEL_MASK_SEED)`, { op: 'expandMask', field: 'seed' });
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new FlConfigError(`expandMask: length must be a non-negative integer, got ${length}; pass the length of the vector to mask`, { op: 'expandMask', field: 'length' });
  }
  if (!Number.isSafeInteger(modulus) || modulus < 2 || modulus > MAX_MODULUS) {
    throw new FlConfigError(`expandMask: modulus must be an integer in [2, 2^32], got ${modulus}; pass the round's modulus range`, { op: 'expandMask', field: 'modulus' });
  }
  const out = new Uint32Array(length);
  if (length === 0) return out;

  const powerOfTwo = (modulus & (modulus - 1)) === 0 || modulus === MAX_MODULUS;
  const limit = Math.floor(MAX_MODULUS / modulus) * modulus; // ≤ 2^32, compared as a double
  const slabBlocks = powerOfTwo ? Math.min(SLAB_BLOCKS, Math.ceil((length * 4) / BLOCK_BYTES)) : SLAB_BLOCKS;
  const zeros = new Uint8Array(slabBlocks * BLOCK_BYTES);
  const slab = new Uint8Array(zeros.length);
  const words = new Uint32Array(slab.buffer);

  let counter = 0;
  let filled = 0;
  while (filled < length) {
    chacha20(seed, NONCE, zeros, slab, counter);
    counter += slabBlocks;
    if (!LITTLE_ENDIAN) swapWords(words);
    if (modulus === MAX_MODULUS) {
      const take = Math.min(words.length, length - filled);
      out.set(take === words.length ? words : words.subarray(0, take), filled);
      filled += take;
    } else if (powerOfTwo) {
      const mask = modulus - 1;
      for (let i = 0; i < words.length && filled < length; i++) out[filled++] = words[i] & mask;
    } else {
      for (let i = 0; i < words.length && filled < length; i++) {
        const w = words[i];
        if (w < limit) out[filled++] = w % modulus;
      }
    }
  }
  return out;
}

function swapWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
  }
}
