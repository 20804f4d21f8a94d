/**
 * The consistency check of the unmask stage (Bonawitz et al. 2017, §4 "ConsistencyCheck";
 * Bell et al. 2020 keep it for SecAgg+): before revealing anything, each client signs the
 * survivor set the server shows it — the clients whose masked inputs are in the sum — and
 * at unmask it reveals shares only if
 *
 *  - the unmask request names exactly the set it signed, and its lists agree with it (every
 *    neighbour in the set is "active", none is "dropped");
 *  - at least t of its neighbours (itself included) signed that same set, each signature
 *    verifying under the key that neighbour announced at setup; a signature that does not
 *    verify means the server altered or forged it, and the client stops.
 *
 * Each client signs once per round. A server that shows one client's neighbours different
 * survivor sets — "dropped" to some, so they reveal shares of its masking key; "survived" to
 * others, so they reveal shares of its self-mask seed — needs t signatures on each set from
 * the same neighbourhood; with t > k/2 two such groups cannot both exist (params.ts), and a
 * server that changes the set between signing and unmask is caught by the comparison.
 *
 * Ed25519 from @noble/curves; signing keys are drawn from the client's seeded stream
 * (SIMULATOR ONLY, like every key here).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { RandomStream } from '../../../runtime/rng.js';

export interface SigningKeys {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export const SIGNATURE_BYTES = 64;

/** A signing key pair whose secret is the next 32 bytes of `rng`. */
export function signingKeysFrom(rng: RandomStream): SigningKeys {
  const secretKey = rng.bytes(32);
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** What a client signs: the protocol, the round and the sorted survivor set, so a signature fits one round's one set. */
export function consistencyMessage(round: number, survivors: readonly string[]): Uint8Array {
  return new TextEncoder().encode(`fedsim/secagg+/consistency/v1\u0000${round}\u0000${[...survivors].sort().join('\u0000')}`);
}

export function signSurvivors(keys: SigningKeys, round: number, survivors: readonly string[]): Uint8Array {
  return ed25519.sign(consistencyMessage(round, survivors), keys.secretKey);
}

export function verifySurvivors(publicKey: Uint8Array, signature: Uint8Array, round: number, survivors: readonly string[]): boolean {
  try {
    return ed25519.verify(signature, consistencyMessage(round, survivors), publicKey);
  } catch {
    return false; // a malformed signature or key is as good as a wrong one
  }
}
