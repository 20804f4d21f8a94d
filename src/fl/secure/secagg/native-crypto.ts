/**
 * Faster, bit-identical versions of two crypto building blocks, on Node's OpenSSL.
 *
 * Why: a SecAgg+ round with n = 1000 clients and 200k parameters expands ~20k mask vectors
 * and performs ~40k X25519 agreements. The pure-JS @noble implementations in `crypto/`
 * (ChaCha20 at ~55 MB/s, X25519 at ~2 ms) make that take many minutes; OpenSSL's ChaCha20 is
 * ~15× faster and its X25519 ~4×. Both compute the same standard functions, so outputs are
 * identical byte for byte (test/secagg-native-crypto.test.ts checks them against
 * `expandMask`, `agree` and `generateKeyPair`), and determinism does not depend on which
 * path ran. When OpenSSL lacks ChaCha20 the mask falls back to `expandMask`.
 *
 * - Mask: `expandMask` is the ChaCha20 keystream (RFC 8439, key = seed, zero 96-bit nonce,
 *   counter from 0) read as little-endian uint32 words. OpenSSL's `chacha20` cipher takes a
 *   16-byte IV = 32-bit little-endian counter ‖ 96-bit nonce, so an all-zero IV is the same
 *   stream. For a power-of-two modulus no word is rejected, so the mask is the keystream
 *   words masked to the modulus; other moduli need rejection sampling and use `expandMask`.
 * - X25519: raw 32-byte keys are wrapped in their fixed PKCS#8 / SPKI DER prefixes (RFC 8410).
 */
import { type KeyObject, createCipheriv, createPrivateKey, createPublicKey, diffieHellman, getCiphers } from 'node:crypto';
import type { RandomStream } from '../../../runtime/rng.js';
import { KEY_BYTES, type KeyPair, agree } from '../crypto/keys.js';
import { MASK_SEED_BYTES, MAX_MODULUS, expandMask } from '../crypto/prg.js';

const HAS_CHACHA20 = getCiphers().includes('chacha20');
const ZERO_IV = new Uint8Array(16);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** `expandMask(seed, length, modulus)`, computed with OpenSSL when the modulus is a power of two. */
export function maskVector(seed: Uint8Array, length: number, modulus: number): Uint32Array {
  const powerOfTwo = modulus === MAX_MODULUS || (Number.isInteger(modulus) && modulus >= 2 && (modulus & (modulus - 1)) === 0);
  if (!HAS_CHACHA20 || !LITTLE_ENDIAN || !powerOfTwo || seed.length !== MASK_SEED_BYTES || !Number.isSafeInteger(length) || length <= 0) {
    return expandMask(seed, length, modulus);
  }
  const cipher = createCipheriv('chacha20', seed, ZERO_IV);
  const stream = cipher.update(zeros(length * 4));
  // A fresh Buffer this large owns its memory, but copy when it is a pooled slice so the
  // Uint32Array view is aligned and does not alias other data.
  const words =
    stream.byteOffset % 4 === 0 && stream.byteLength === stream.buffer.byteLength
      ? new Uint32Array(stream.buffer, stream.byteOffset, length)
      : new Uint32Array(Uint8Array.from(stream).buffer, 0, length);
  if (modulus !== MAX_MODULUS) {
    const mask = modulus - 1;
    for (let i = 0; i < length; i++) words[i] &= mask;
  }
  return words;
}

/**
 * A read-only all-zero input for the cipher (its output is then the bare keystream), kept
 * between calls: a fresh 800 kB zeroed buffer per mask was a third of the allocation churn
 * at n = 1000.
 */
let zeroInput = new Uint8Array(0);
function zeros(bytes: number): Uint8Array {
  if (zeroInput.length < bytes) zeroInput = new Uint8Array(bytes);
  return zeroInput.subarray(0, bytes);
}

/** X25519 shared secret, identical to `agree` in crypto/keys.ts (falls back to it on any OpenSSL refusal). */
export function sharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== KEY_BYTES || peerPublicKey.length !== KEY_BYTES) return agree(secretKey, peerPublicKey);
  let secret: Uint8Array;
  try {
    secret = diffieHellman({ privateKey: privateKeyObject(secretKey), publicKey: publicKeyObject(peerPublicKey) });
  } catch {
    // Low-order points and the like: let the reference implementation raise its own error.
    return agree(secretKey, peerPublicKey);
  }
  if (secret.every((b) => b === 0)) return agree(secretKey, peerPublicKey); // noble rejects the all-zero secret; so must we
  return new Uint8Array(secret);
}

/** `generateKeyPair(rng)` from crypto/keys.ts: the secret key is the next 32 bytes of `rng`. */
export function keyPairFrom(rng: RandomStream): KeyPair {
  const secretKey = rng.bytes(KEY_BYTES);
  const der = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
  return { secretKey, publicKey: new Uint8Array(der.subarray(der.length - KEY_BYTES)) };
}

/**
 * Importing a private key costs ~10× the agreement itself (OpenSSL derives the public key on
 * import), and a client agrees with every neighbour under the same key, so imports are cached
 * per key array. The cache is keyed by the array object: a pure memo, invisible to results.
 */
const importedKeys = new WeakMap<Uint8Array, { bytes: string; key: KeyObject }>();

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  const bytes = Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength).toString('latin1');
  const cached = importedKeys.get(secretKey);
  if (cached && cached.bytes === bytes) return cached.key; // guards against a caller mutating the array
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secretKey]), format: 'der', type: 'pkcs8' });
  importedKeys.set(secretKey, { bytes, key });
  return key;
}

function publicKeyObject(publicKey: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, publicKey]), format: 'der', type: 'spki' });
}
