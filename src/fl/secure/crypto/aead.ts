/**
 * Authenticated encryption of SecAgg share messages (client → server → client).
 *
 * XChaCha20-Poly1305: its 24-byte nonce is large enough to draw at random per message
 * without tracking counters. SIMULATOR ONLY: the nonce comes from the caller's seeded
 * `RandomStream`, not from a CSPRNG, so ciphertexts are reproducible run to run. That is
 * what a deterministic simulator needs and exactly what real deployments must avoid.
 *
 * Wire format: `nonce (24 bytes) || ciphertext || tag (16 bytes)`.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import type { RandomStream } from '../../../runtime/rng.js';
import { FlConfigError, MalformedMessageError } from '../../errors.js';

export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;
/** Bytes `seal` adds to the plaintext. */
export const AEAD_OVERHEAD = AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

/**
 * Thrown by `open` when a sealed message does not authenticate: wrong key, altered bytes,
 * different associated data, or a truncated message. The cases are indistinguishable by
 * design (that is what authentication means), so one error type covers them all.
 */
export class DecryptionError extends MalformedMessageError {
  override name = 'DecryptionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, {}, options);
  }
}

const EMPTY = new Uint8Array(0);

/** Encrypts and authenticates `plaintext`, binding `associatedData` (e.g. sender/receiver ids, round). */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array = EMPTY,
  rng: RandomStream,
): Uint8Array {
  checkKey(key);
  const nonce = rng.bytes(AEAD_NONCE_BYTES);
  const ciphertext = xchacha20poly1305(key, nonce, associatedData).encrypt(plaintext);
  const out = new Uint8Array(AEAD_NONCE_BYTES + ciphertext.length);
  out.set(nonce, 0);
  out.set(ciphertext, AEAD_NONCE_BYTES);
  return out;
}

/** Decrypts a `seal` output; throws `DecryptionError` if anything does not authenticate. */
export function open(key: Uint8Array, sealed: Uint8Array, associatedData: Uint8Array = EMPTY): Uint8Array {
  checkKey(key);
  if (sealed.length < AEAD_OVERHEAD) {
    throw new DecryptionError(
      `sealed message too short: ${sealed.length} bytes, need at least ${AEAD_OVERHEAD} (nonce + tag)`,
    );
  }
  const nonce = sealed.subarray(0, AEAD_NONCE_BYTES);
  const ciphertext = sealed.subarray(AEAD_NONCE_BYTES);
  try {
    return xchacha20poly1305(key, nonce, associatedData).decrypt(ciphertext);
  } catch (cause) {
    throw new DecryptionError(
      'authentication failed: wrong key, tampered ciphertext or mismatched associated data',
      { cause },
    );
  }
}

function checkKey(key: Uint8Array): void {
  // A wrong-*length* key is the caller's mistake, not an attack, so it is an FlConfigError (DecryptionError is for attacks).
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_BYTES) {
    throw new FlConfigError(`AEAD key must be a Uint8Array of ${AEAD_KEY_BYTES} bytes, got ${key?.length}; derive it with deriveKey(…, LABEL_ENCRYPTION)`, { op: 'aead', field: 'key' });
  }
}
