/**
 * The encrypted share message of the share-keys stage: client i → (server) → neighbour j.
 *
 * Plaintext: i's Shamir share for j of its self-mask seed b_i, and of its masking secret key
 * s_i^SK (Bonawitz et al.'s "b_{i,j} ‖ s^SK_{i,j}"), as
 * `u32 BE length of the seed share ‖ seed share ‖ key share` (shares in crypto/shamir.ts's
 * wire format). The server only routes the ciphertext.
 *
 * Key: HKDF(X25519(c_i^SK, c_j^PK), LABEL_ENCRYPTION), the same on both ends. Associated
 * data binds the round, sender and receiver, so a share replayed from another round or
 * re-addressed by the server fails authentication exactly like an altered one (Flower checks
 * the ids inside the plaintext instead; the effect is the same, earlier).
 */
import type { RandomStream } from '../../../runtime/rng.js';
import { DecryptionError, open, seal } from '../crypto/aead.js';
import { LABEL_ENCRYPTION, deriveKey } from '../crypto/keys.js';
import { type Share, shareFromBytes, shareToBytes } from '../crypto/shamir.js';
import { sharedSecret } from './native-crypto.js';

export interface KeyShares {
  /** Share of the owner's self-mask seed b. */
  seed: Share;
  /** Share of the owner's masking secret key s^SK. */
  key: Share;
}

const utf8 = new TextEncoder();

/** The symmetric key client `secretKey` shares with the owner of `peerPublicKey` (encryption key pair c). */
export function encryptionKey(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  return deriveKey(sharedSecret(secretKey, peerPublicKey), LABEL_ENCRYPTION);
}

export function associatedData(round: number, from: string, to: string): Uint8Array {
  return utf8.encode(`fedsim/secagg+/v1/shares|round=${round}|from=${from}|to=${to}`);
}

export function sealShares(key: Uint8Array, shares: KeyShares, ad: Uint8Array, nonces: RandomStream): Uint8Array {
  const seed = shareToBytes(shares.seed);
  const secret = shareToBytes(shares.key);
  const plaintext = new Uint8Array(4 + seed.length + secret.length);
  new DataView(plaintext.buffer).setUint32(0, seed.length);
  plaintext.set(seed, 4);
  plaintext.set(secret, 4 + seed.length);
  return seal(key, plaintext, ad, nonces);
}

/** Opens and parses a share message; throws DecryptionError when it does not authenticate. */
export function openShares(key: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): KeyShares {
  const plaintext = open(key, ciphertext, ad);
  if (plaintext.length < 4) throw new DecryptionError(`share plaintext of ${plaintext.length} bytes is too short`);
  const seedLength = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).getUint32(0);
  if (4 + seedLength > plaintext.length) throw new DecryptionError(`share plaintext claims a ${seedLength}-byte seed share but has ${plaintext.length - 4} bytes`);
  return {
    seed: shareFromBytes(plaintext.subarray(4, 4 + seedLength)),
    key: shareFromBytes(plaintext.subarray(4 + seedLength)),
  };
}
