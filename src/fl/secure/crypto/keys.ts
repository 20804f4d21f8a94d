/**
 * X25519 key agreement and HKDF key derivation for SecAgg / SecAgg+.
 *
 * SIMULATOR ONLY: private keys are drawn from a seeded `RandomStream`, so anyone who knows
 * the simulation seed can recompute every key. That is the point (the same seed must give
 * the same keys, shares, ciphertexts and masks in every run), and it is also why nothing
 * here may ever protect real data.
 *
 * In Bonawitz et al. 2017 each client holds two key pairs: (c) for encrypting the Shamir
 * shares sent through the server and (s) for the pairwise mask seeds. Even when a caller
 * uses one agreement for both purposes, `deriveKey` with distinct labels keeps the
 * encryption key and the mask seed independent (HKDF outputs under different `info` are
 * unrelated), so revealing a mask seed during unmasking never reveals an encryption key.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { RandomStream } from '../../../runtime/rng.js';
import { FlConfigError, MalformedMessageError } from '../../errors.js';

export const KEY_BYTES = 32;

export interface KeyPair {
  /** 32 raw bytes; X25519 clamps them on use, so any 32 bytes are a valid scalar. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** HKDF `info` labels used by the SecAgg workflow; any string works, these keep call sites consistent. */
export const LABEL_ENCRYPTION = 'fedsim/secagg/v1/encryption-key';
export const LABEL_MASK_SEED = 'fedsim/secagg/v1/pairwise-mask-seed';

/** Fixed HKDF salt: domain-separates fedsim's derivations from any other use of the same secret. */
const HKDF_SALT = new TextEncoder().encode('fedsim/secagg/v1/hkdf-salt');

/** A key pair whose secret key is the next 32 bytes of `rng` (reproducible by design). */
export function generateKeyPair(rng: RandomStream): KeyPair {
  const secretKey = rng.bytes(KEY_BYTES);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The public key of a secret key (e.g. one rebuilt from Shamir shares after a dropout). */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  checkLength(secretKey, 'secret key');
  return x25519.getPublicKey(secretKey);
}

/**
 * X25519 shared secret: `agree(a.secretKey, b.publicKey)` equals `agree(b.secretKey, a.publicKey)`.
 * The raw output is not uniform bytes, so always pass it through `deriveKey` before use.
 * A low-order peer key (noble rejects the all-zero shared secret) is a MalformedMessageError:
 * the key came from a peer, and no honest peer sends one.
 */
export function agree(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  checkLength(secretKey, 'secret key');
  checkLength(peerPublicKey, 'peer public key');
  try {
    return x25519.getSharedSecret(secretKey, peerPublicKey);
  } catch (cause) {
    throw new MalformedMessageError(
      `X25519: the peer public key gives no shared secret (${(cause as Error).message}): it is a low-order point, which no honest peer sends; refuse that peer`,
      { op: 'agree', field: 'peer public key' },
      { cause },
    );
  }
}

/** HKDF-SHA256(shared, salt = fedsim constant, info = label) → `length` bytes. */
export function deriveKey(shared: Uint8Array, label: string, length = KEY_BYTES): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new FlConfigError(`deriveKey: length must be an integer in [1, 8160] (HKDF-SHA256's limit), got ${length}; the default is ${KEY_BYTES}`, { op: 'deriveKey', field: 'length' });
  }
  if (label.length === 0) throw new FlConfigError('deriveKey: the label must not be empty (it separates key uses); pass one of the LABEL_* constants', { op: 'deriveKey', field: 'label' });
  return hkdf(sha256, shared, HKDF_SALT, new TextEncoder().encode(label), length);
}

function checkLength(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) {
    throw new FlConfigError(`X25519 ${what} must be a Uint8Array of ${KEY_BYTES} bytes, got ${bytes?.length}; pass a key from generateKeyPair`, { op: 'agree', field: what });
  }
}
