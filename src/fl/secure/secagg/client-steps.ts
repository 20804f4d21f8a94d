/**
 * What a SecAgg+ client does in each stage, as plain functions: (session, message) → (new
 * session, answer). The client machine (client-machine.ts) decides which step runs when.
 *
 * Every step checks everything first and throws a SecAggProtocolError before producing
 * anything, so a refused message leaves no trace in the session. Secrets — both secret
 * keys, the self-mask seed b and the shares held for neighbours — exist only for one round:
 * a new `setup` replaces them and the unmask step forgets them.
 *
 * Randomness comes from the client's own named streams (`actor/<id>/secagg/...`), so the
 * same seed gives the same keys, seeds, Shamir polynomials, nonces and rounding draws.
 */
import type { ActorIO } from '../../../runtime/actor-cell.js';
import type { RandomStream } from '../../../runtime/rng.js';
import type { KeyPair } from '../crypto/keys.js';
import { DecryptionError } from '../crypto/aead.js';
import { MASK_SEED_BYTES } from '../crypto/prg.js';
import { quantize } from '../crypto/quantize.js';
import { shareToBytes, split } from '../crypto/shamir.js';
import type { z } from 'zod';
import { type SecAggStage, SecAggProtocolError } from './errors.js';
import { maskInput } from './masking.js';
import { keyPairFrom } from './native-crypto.js';
import type { RoundConfig } from './params.js';
import { isMajority, quantizationTarget } from './params.js';
import {
  type CollectPayload,
  CollectSchema,
  type ConsistencyPayload,
  ConsistencySchema,
  type SignaturePayload,
  type MaskedInputPayload,
  type PublicKeysPayload,
  type SetupPayload,
  SetupSchema,
  type ShareKeysPayload,
  ShareKeysSchema,
  type SharesPayload,
  type UnmaskPayload,
  UnmaskSchema,
  type UnmaskSharesPayload,
  describeIssues,
} from './protocol.js';
import { associatedData, encryptionKey, openShares, sealShares } from './share-sealing.js';
import { type SigningKeys, signingKeysFrom, signSurvivors, verifySurvivors } from './consistency.js';
import { allowsUnsafe } from '../../../runtime/policies.js';
import { FlInvariantError } from '../../errors.js';

/** Names of the client's random streams (under `actor/<id>/`). */
export const CLIENT_STREAMS = {
  keys: 'secagg/keys',
  selfMaskSeed: 'secagg/self-mask-seed',
  shamir: 'secagg/shamir',
  nonces: 'secagg/nonces',
  quantize: 'secagg/quantize',
  signing: 'secagg/signing',
} as const;

/** A float vector to quantise (the 'quantized' encoding). */
export type FloatInput = Float32Array | Float64Array | readonly number[];

/** What a function update source is told about the round it contributes to. */
export interface UpdateContext {
  /** The round's configuration as the server sent it in setup (participants, modulus, encoding). */
  config: RoundConfig;
  /** This client's neighbourhood (itself included) as setup listed it: what it can see of the round's participants. */
  neighbours: readonly string[];
  /**
   * A stream of this client named for what it is for (`actor/<id>/<name>`), at its start on
   * every call: for an encoder that randomises (distributed DP's rounding and noise).
   */
  stream(name: string): RandomStream;
}

/**
 * The client's update for a round: a vector, or a function of the round (e.g. local
 * training). Under the 'ring' encoding (params.ts) it must be a Uint32Array already in Z_m.
 */
export type UpdateSource = FloatInput | Uint32Array | ((round: number, context: UpdateContext) => FloatInput | Uint32Array);

/** A neighbour that answered setup: its public keys and the share-encryption key agreed with it. */
export interface Peer {
  encryption: Uint8Array;
  masking: Uint8Array;
  /** Its Ed25519 key for the consistency check's signatures. */
  signing: Uint8Array;
  sharedKey: Uint8Array;
}

export interface ClientSession {
  readonly round: number;
  /** The actor that sent setup: later stages are accepted only from it. */
  readonly server: string;
  readonly config: RoundConfig;
  readonly neighbours: readonly string[];
  readonly encryption: KeyPair;
  readonly masking: KeyPair;
  readonly signing: SigningKeys;
  /** From share-keys: the neighbours that answered setup, with their public keys. */
  readonly peers?: ReadonlyMap<string, Peer>;
  readonly selfSeed?: Uint8Array;
  /** Shares held per owner (this client's own included), in Shamir wire format. */
  readonly held?: ReadonlyMap<string, { seed: Uint8Array; key: Uint8Array }>;
  /** The survivor set this client signed in the consistency check (it signs one per round). */
  readonly signedSurvivors?: readonly string[];
}

interface Step<A> {
  session: ClientSession | null;
  answer: A;
}

type Where = { io: ActorIO; round: number | null; stage: SecAggStage };

function refuse(at: Where, message: string, extra: Record<string, unknown> = {}, cause?: unknown): never {
  throw new SecAggProtocolError(`SecAgg+ client '${at.io.id}', round ${at.round ?? '?'}, stage ${at.stage}: ${message}`, { actor: at.io.id, round: at.round, stage: at.stage, ...extra }, cause === undefined ? undefined : { cause });
}

function parse<T>(schema: z.ZodType<T>, payload: unknown, at: Where): T {
  const result = schema.safeParse(payload);
  if (!result.success) refuse(at, `malformed message from the server (${describeIssues(result.error)}); refusing to go on with this round.`);
  return result.data;
}

/** Stage 0: generate the round's two key pairs and announce the public keys. */
export function onSetup(io: ActorIO, from: string, payload: unknown): Step<PublicKeysPayload> {
  const at: Where = { io, round: (payload as { round?: number })?.round ?? null, stage: 'setup' };
  const setup: SetupPayload = parse(SetupSchema, payload, at);
  const { config, neighbours } = setup;
  if (config.round !== setup.round) refuse(at, `the config is for round ${config.round}, the message for round ${setup.round}.`);
  if (!neighbours.includes(io.id)) refuse(at, `the neighbour list [${neighbours.join(', ')}] does not include this client.`);
  if (new Set(neighbours).size !== neighbours.length) refuse(at, `the neighbour list [${neighbours.join(', ')}] repeats ids.`);
  if (config.threshold > neighbours.length) refuse(at, `threshold ${config.threshold} exceeds the neighbourhood of ${neighbours.length}; no secret could be rebuilt.`);
  // The client's own check, whatever the server says: a minority threshold lets a lying server unmask this client (params.ts).
  if (!isMajority(config.threshold, neighbours.length) && !(config.unsafeThreshold && allowsUnsafe(io.policies, 'secagg-threshold'))) {
    refuse(
      at,
      `threshold ${config.threshold} is not a majority of the neighbourhood of ${neighbours.length}: a server showing different dropout sets to different ` +
        `neighbours could unmask this client's update. Refusing the round (a run may allow it with policies: { unsafe: ['secagg-threshold'] }).`,
    );
  }
  const keys = io.rng(CLIENT_STREAMS.keys);
  const encryption = keyPairFrom(keys);
  const masking = keyPairFrom(keys);
  const signing = signingKeysFrom(io.rng(CLIENT_STREAMS.signing));
  const session: ClientSession = { round: setup.round, server: from, config, neighbours: [...neighbours], encryption, masking, signing };
  return { session, answer: { round: setup.round, encryption: encryption.publicKey, masking: masking.publicKey, signing: signing.publicKey } };
}

/** Stage 1: split b and s^SK among the neighbours that answered setup; encrypt each pair of shares for its holder. */
export function onShareKeys(io: ActorIO, session: ClientSession, payload: unknown): Step<SharesPayload> {
  const at: Where = { io, round: session.round, stage: 'share-keys' };
  const message: ShareKeysPayload = parse(ShareKeysSchema, payload, at);
  if (message.round !== session.round) refuse(at, `got public keys for round ${message.round}.`);
  const ids = message.keys.map((k) => k.id);
  const own = message.keys.find((k) => k.id === io.id);
  if (!own || !equalBytes(own.encryption, session.encryption.publicKey) || !equalBytes(own.masking, session.masking.publicKey) || !equalBytes(own.signing, session.signing.publicKey)) {
    refuse(at, 'the server did not relay this client\'s own public keys unchanged.');
  }
  const stranger = ids.find((id) => !session.neighbours.includes(id));
  if (stranger !== undefined) refuse(at, `'${stranger}' is not in this client's neighbourhood [${session.neighbours.join(', ')}].`);
  if (new Set(ids).size !== ids.length) refuse(at, `the key list repeats ids [${ids.join(', ')}].`);
  const allKeys = message.keys.flatMap((k) => [hex(k.encryption), hex(k.masking), hex(k.signing)]);
  if (new Set(allKeys).size !== allKeys.length) refuse(at, 'two of the relayed public keys are identical (a replayed or forged key).');
  const { threshold } = session.config;
  if (ids.length < threshold) refuse(at, `only ${ids.length} neighbours (this client included) answered setup; threshold ${threshold}.`, { holders: ids.length, threshold });

  const holders = [...ids].sort();
  const xs = holders.map((_, i) => i + 1);
  const selfSeed = io.rng(CLIENT_STREAMS.selfMaskSeed).bytes(MASK_SEED_BYTES);
  const shamir = io.rng(CLIENT_STREAMS.shamir);
  const seedShares = split(selfSeed, { shares: holders.length, threshold, xs }, shamir);
  const keyShares = split(session.masking.secretKey, { shares: holders.length, threshold, xs }, shamir);
  const nonces = io.rng(CLIENT_STREAMS.nonces);
  const byId = new Map(message.keys.map((k) => [k.id, k]));
  const peers = new Map<string, Peer>();
  const held = new Map<string, { seed: Uint8Array; key: Uint8Array }>();
  const shares: SharesPayload['shares'] = [];
  holders.forEach((holder, i) => {
    if (holder === io.id) {
      held.set(holder, { seed: shareToBytes(seedShares[i]), key: shareToBytes(keyShares[i]) });
      return;
    }
    const keys = byId.get(holder)!;
    const sharedKey = encryptionKey(session.encryption.secretKey, keys.encryption);
    peers.set(holder, { encryption: keys.encryption, masking: keys.masking, signing: keys.signing, sharedKey });
    const ciphertext = sealShares(sharedKey, { seed: seedShares[i], key: keyShares[i] }, associatedData(session.round, io.id, holder), nonces);
    shares.push({ to: holder, ciphertext });
  });
  return {
    session: { ...session, peers, selfSeed, held },
    answer: { round: session.round, shares },
  };
}

/** Stage 2: store the neighbours' shares, then send the quantised update under all masks. */
export function onCollect(io: ActorIO, session: ClientSession, payload: unknown, update: UpdateSource): Step<MaskedInputPayload> {
  const at: Where = { io, round: session.round, stage: 'collect-masked-input' };
  const message: CollectPayload = parse(CollectSchema, payload, at);
  if (message.round !== session.round) refuse(at, `got shares for round ${message.round}.`);
  const peers = session.peers!;
  const held = new Map(session.held!);
  const maskPeers = new Map<string, Uint8Array>();
  for (const { from, ciphertext } of message.shares) {
    const peer = peers.get(from);
    if (!peer || from === io.id) refuse(at, `got a share from '${from}', which is not a neighbour that shared keys with this client.`, { from });
    if (maskPeers.has(from)) refuse(at, `got two shares from '${from}'.`, { from });
    let shares;
    try {
      shares = openShares(peer.sharedKey, ciphertext, associatedData(session.round, from, io.id));
    } catch (error) {
      if (!(error instanceof DecryptionError) && !(error instanceof Error && error.name === 'ShamirError')) throw error;
      refuse(
        at,
        `the encrypted share from '${from}' failed authentication (${(error as Error).message}): it was altered or forged on its way ` +
          'through the server. This client stops here for this round and reveals nothing more.',
        { from, cause: (error as Error).name },
        error,
      );
    }
    held.set(from, { seed: shareToBytes(shares.seed), key: shareToBytes(shares.key) });
    maskPeers.set(from, peer.masking);
  }
  const { threshold, modulusRange, clippingRange } = session.config;
  if (maskPeers.size + 1 < threshold) refuse(at, `shares arrived from only ${maskPeers.size} neighbours (+ this client), threshold ${threshold}.`);

  let input: Uint32Array;
  try {
    const vector = typeof update === 'function' ? update(session.round, { config: session.config, neighbours: session.neighbours, stream: (name) => io.derivedRng(name) }) : update;
    input = session.config.encoding === 'ring' ? checkRingInput(at, vector, modulusRange) : quantize(floatInput(at, vector), clippingRange, quantizationTarget(session.config), io.rng(CLIENT_STREAMS.quantize));
  } catch (error) {
    // The source's own refusals and fedsim's bugs go out as they are; a value that cannot be encoded is this round's refusal.
    if (error instanceof SecAggProtocolError || error instanceof FlInvariantError) throw error;
    refuse(at, `cannot ${session.config.encoding === 'ring' ? 'encode' : 'quantise'} this client's update: ${(error as Error).message}`, {}, error);
  }
  const masked = maskInput(input, io.id, session.selfSeed!, session.masking.secretKey, maskPeers, modulusRange);
  return {
    session: { ...session, held },
    answer: { round: session.round, masked },
  };
}

/**
 * Stage 3: the consistency check (consistency.ts). Sign the survivor set — once: a second
 * request in the same round is refused by the client role (it is past this stage).
 */
export function onConsistency(io: ActorIO, session: ClientSession, payload: unknown): Step<SignaturePayload> {
  const at: Where = { io, round: session.round, stage: 'consistency-check' };
  const message: ConsistencyPayload = parse(ConsistencySchema, payload, at);
  if (message.round !== session.round) refuse(at, `got a survivor set for round ${message.round}.`);
  const survivors = [...message.survivors].sort();
  if (new Set(survivors).size !== survivors.length) refuse(at, `the survivor set repeats ids [${survivors.join(', ')}].`);
  if (!survivors.includes(io.id)) refuse(at, 'this client sent its masked input, yet is not in the survivor set it is asked to sign.');
  const neighboursIn = session.neighbours.filter((id) => survivors.includes(id));
  const { threshold } = session.config;
  if (neighboursIn.length < threshold) refuse(at, `only ${neighboursIn.length} of this client's neighbours are in the survivor set, threshold ${threshold}.`);
  const signature = signSurvivors(session.signing, session.round, survivors);
  return { session: { ...session, signedSurvivors: survivors }, answer: { round: session.round, signature } };
}

/** The checks of consistency.ts on an unmask request: the set this client signed, lists that agree with it, t valid signatures. */
function checkConsistency(at: Where, session: ClientSession, message: UnmaskPayload): void {
  const signed = session.signedSurvivors!;
  const shown = [...message.survivors].sort();
  if (shown.length !== signed.length || shown.some((id, i) => id !== signed[i])) {
    refuse(at, `the survivor set of the unmask request [${shown.join(', ')}] is not the one this client signed [${signed.join(', ')}]: the server tells clients different stories; revealing nothing.`);
  }
  const inSum = new Set(signed);
  const expectedActive = session.neighbours.filter((id) => inSum.has(id));
  const active = [...message.active].sort();
  if (active.length !== expectedActive.length || active.some((id, i) => id !== expectedActive[i])) {
    refuse(at, `the active list [${active.join(', ')}] is not this client's neighbours in the signed survivor set [${expectedActive.join(', ')}]; revealing nothing.`);
  }
  const survivorDropped = message.dropped.filter((id) => inSum.has(id));
  if (survivorDropped.length) refuse(at, `[${survivorDropped.join(', ')}] listed as dropped, but they are in the signed survivor set: revealing their masking keys would unmask them.`);
  const peers = session.peers!;
  const ids = message.signatures.map((s) => s.id);
  const stranger = ids.find((id) => id === at.io.id || !peers.has(id) || !inSum.has(id));
  if (stranger !== undefined) refuse(at, `got a signature from '${stranger}', which is not another neighbour in the signed survivor set.`);
  if (new Set(ids).size !== ids.length) refuse(at, 'got two signatures from one neighbour.');
  // t valid signatures (this client's own counted) are the guarantee; verifying stops once it holds (Ed25519 costs ~1.5 ms each).
  const { threshold } = session.config;
  let valid = 1;
  for (const { id, signature } of [...message.signatures].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (valid >= threshold) break;
    if (!verifySurvivors(peers.get(id)!.signing, signature, session.round, signed)) refuse(at, `the signature of '${id}' on the survivor set does not verify: it was altered or forged; revealing nothing.`, { from: id });
    valid++;
  }
  if (valid < threshold) refuse(at, `only ${valid} of this client's neighbours (itself included) signed the survivor set, threshold ${threshold}; revealing nothing.`);
}

/**
 * Stage 4: reveal shares of b for neighbours in the sum and of s^SK for neighbours that
 * dropped — never both for one neighbour, or the server could unmask that neighbour alone —
 * and only after the consistency check (checkConsistency).
 */
export function onUnmask(io: ActorIO, session: ClientSession, payload: unknown): Step<UnmaskSharesPayload> {
  const at: Where = { io, round: session.round, stage: 'unmask' };
  const message: UnmaskPayload = parse(UnmaskSchema, payload, at);
  if (message.round !== session.round) refuse(at, `got an unmask request for round ${message.round}.`);
  const { active, dropped } = message;
  const both = active.filter((id) => dropped.includes(id));
  if (both.length) refuse(at, `[${both.join(', ')}] listed as both active and dropped: revealing both shares would unmask them.`, { both });
  if (!active.includes(io.id)) refuse(at, 'this client is not listed as active, yet asked to unmask.');
  if (active.length < session.config.threshold) refuse(at, `only ${active.length} active neighbours, threshold ${session.config.threshold}.`);
  checkConsistency(at, session, message);
  const held = session.held!;
  const missing = [...active, ...dropped].filter((id) => !held.has(id));
  if (missing.length) refuse(at, `holds no shares of [${missing.join(', ')}].`, { missing });
  const sorted = (ids: string[]) => [...new Set(ids)].sort();
  return {
    session: null,
    answer: {
      round: session.round,
      seedShares: sorted(active).map((owner) => ({ owner, share: held.get(owner)!.seed })),
      keyShares: sorted(dropped).map((owner) => ({ owner, share: held.get(owner)!.key })),
    },
  };
}

/** Under the 'ring' encoding the update is already in Z_m: a Uint32Array of values below the modulus. */
function checkRingInput(at: Where, vector: FloatInput | Uint32Array, modulus: number): Uint32Array {
  if (!(vector instanceof Uint32Array)) {
    refuse(at, `the round uses the 'ring' encoding, which takes a Uint32Array already reduced mod ${modulus}, but the update is a ${vector.constructor?.name ?? typeof vector} (encode it first, e.g. with src/dp/distributed)`);
  }
  // The refusal names neither the value nor where it is: it travels to the server, and the update is private.
  for (let i = 0; i < vector.length; i++) {
    if (vector[i] >= modulus) refuse(at, `the ring-encoded update holds a value not below the modulus ${modulus}; reduce it mod ${modulus}`);
  }
  return vector;
}

/** Under the 'quantized' encoding the update is a float vector (a Uint32Array would be an encoded vector sent to the wrong round). */
function floatInput(at: Where, vector: FloatInput | Uint32Array): FloatInput {
  if (vector instanceof Uint32Array) refuse(at, "the update is a Uint32Array (a ring-encoded vector), but the round quantises float vectors; start the round with encoding: 'ring'");
  return vector;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
