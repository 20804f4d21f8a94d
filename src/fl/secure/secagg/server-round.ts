/**
 * The server's bookkeeping for one SecAgg+ round (Flower's `WorkflowState` plus the
 * per-stage logic of `SecAggPlusWorkflow`), independent of how messages are delivered.
 *
 * Survivor sets, as in Bonawitz et al.: S0 answered setup, S1 ⊆ S0 sent encrypted shares,
 * S2 ⊆ S1 sent a masked input (their updates form the sum), S3 ⊆ S2 signed S2 in the
 * consistency check (consistency.ts), S4 ⊆ S3 sent unmask shares.
 * A client leaves the round by not answering a stage in time, or by answering with an error
 * (e.g. a share that failed authentication); anything it sends later is ignored.
 *
 * Handlers validate first and change state last, and never throw for a client's bad input:
 * a bad answer counts as that client failing, recorded in `failures`.
 */
import { type Share, shareFromBytes } from '../crypto/shamir.js';
import { type AbortDetails, type ClientFailure, SECAGG_STAGES, type SecAggStage } from './errors.js';
import { addInto } from './masking.js';
import { verifySurvivors } from './consistency.js';
import type { NeighbourGraph } from './neighbours.js';
import type { RoundConfig } from './params.js';
import {
  ANSWER_OF,
  ANSWER_SCHEMAS,
  type AbortedPayload,
  type CollectPayload,
  type ConsistencyPayload,
  type MaskedInputPayload,
  type PublicKeysPayload,
  SECAGG,
  type SetupPayload,
  type ShareKeysPayload,
  type SharesPayload,
  type SignaturePayload,
  type StageReport,
  type UnmaskPayload,
  type UnmaskSharesPayload,
  describeIssues,
} from './protocol.js';

export interface Outgoing {
  to: string;
  type: string;
  payload: unknown;
}

/** What the reconstruction needs once the unmask stage has closed. */
export interface UnmaskInputs {
  config: RoundConfig;
  graph: NeighbourGraph;
  maskedSum: Uint32Array;
  /** S2, sorted: their updates are in the sum. */
  survivors: string[];
  /** S1 \ S2, sorted: their pairwise masks must be removed. */
  droppedAfterSharing: string[];
  seedShares: ReadonlyMap<string, Share[]>;
  keyShares: ReadonlyMap<string, Share[]>;
  maskingKeys: ReadonlyMap<string, Uint8Array>;
}

const STAGE_MESSAGE: Record<SecAggStage, string> = {
  setup: SECAGG.setup,
  'share-keys': SECAGG.shareKeys,
  'collect-masked-input': SECAGG.collect,
  'consistency-check': SECAGG.consistency,
  unmask: SECAGG.unmask,
};

const sortedIds = (ids: Iterable<string>) => [...ids].sort();

export class ServerRound {
  readonly participants: string[];
  stage: SecAggStage = 'setup';
  /** Asked in the current stage and not yet answered or failed. */
  readonly waiting = new Set<string>();
  readonly stages: StageReport[] = [];
  readonly failures: ClientFailure[] = [];
  abort: AbortedPayload | null = null;

  private asked: string[] = [];
  private answered = new Set<string>();
  private stageStartedAt = 0;
  /** Message id → client, for the current stage's requests (attributes error replies). */
  private readonly requestIds = new Map<string, string>();
  private readonly publicKeys = new Map<string, { encryption: Uint8Array; masking: Uint8Array; signing: Uint8Array }>();
  private readonly outbox = new Map<string, Array<{ from: string; ciphertext: Uint8Array }>>();
  private s1: string[] = [];
  private s2: string[] = [];
  /** S3: signed S2 in the consistency check. */
  private s3: string[] = [];
  /** Each S3 client's signature of S2, relayed to its neighbours at unmask. */
  private readonly signatures = new Map<string, Uint8Array>();
  private maskedSum: Uint32Array | null;
  private readonly seedShares = new Map<string, Share[]>();
  private readonly keyShares = new Map<string, Share[]>();
  /** What each client was asked to reveal in unmask: answers may not exceed it. */
  private readonly unmaskAsk = new Map<string, { active: Set<string>; dropped: Set<string> }>();

  constructor(
    readonly config: RoundConfig,
    participants: readonly string[],
    readonly graph: NeighbourGraph,
    private vectorLength: number | undefined,
  ) {
    this.participants = sortedIds(participants);
    this.maskedSum = vectorLength === undefined ? null : new Uint32Array(vectorLength);
  }

  get round(): number {
    return this.config.round;
  }

  /** Opens `stage`: the messages to send, in sorted recipient order. Records whom it waits for. */
  open(stage: SecAggStage, now: number): Outgoing[] {
    this.stage = stage;
    this.stageStartedAt = now;
    this.answered = new Set();
    this.requestIds.clear();
    this.asked = { setup: this.participants, 'share-keys': sortedIds(this.publicKeys.keys()), 'collect-masked-input': this.s1, 'consistency-check': this.s2, unmask: this.s3 }[stage];
    this.waiting.clear();
    for (const id of this.asked) this.waiting.add(id);
    const type = STAGE_MESSAGE[stage];
    return this.asked.map((to) => ({ to, type, payload: this.stagePayload(stage, to) }));
  }

  /** Remembers the id of the request sent to `client`, so an error reply can be attributed. */
  sent(client: string, messageId: string): void {
    this.requestIds.set(messageId, client);
  }

  get complete(): boolean {
    return this.waiting.size === 0;
  }

  /** Handles a client's answer of type `type`; ignores it unless the client is awaited and it is the current stage's answer. */
  accept(from: string, type: string, payload: unknown): void {
    if (!this.waiting.has(from) || type !== ANSWER_OF[this.stage]) return;
    const parsed = ANSWER_SCHEMAS[type].safeParse(payload);
    if (!parsed.success) return this.fail(from, `malformed '${type}': ${describeIssues(parsed.error)}`);
    const data = parsed.data as { round: number };
    if (data.round !== this.round) return; // an answer from another round is no answer to this one
    const problem = this.record(from, data);
    if (problem) return this.fail(from, problem);
    this.waiting.delete(from);
    this.answered.add(from);
  }

  /** An error reply to one of this stage's requests: the client leaves the round. */
  acceptError(from: string, inReplyTo: string | undefined, error: { name?: string; message?: string }): void {
    if (inReplyTo === undefined || this.requestIds.get(inReplyTo) !== from) return;
    this.fail(from, `${error.name ?? 'Error'}: ${error.message ?? '(no message)'}`);
  }

  /**
   * Closes the current stage: fixes its survivors and checks every secret that will be needed
   * can still be rebuilt. Sets `abort` when it cannot.
   */
  close(now: number, timedOut: boolean): void {
    const answered = sortedIds(this.answered);
    this.stages.push({
      stage: this.stage,
      asked: this.asked.length,
      answered,
      dropped: this.asked.filter((id) => !this.answered.has(id)),
      startedAt: this.stageStartedAt,
      closedAt: now,
      timedOut: timedOut && this.waiting.size > 0,
    });
    this.waiting.clear();
    if (this.stage === 'share-keys') this.s1 = answered;
    if (this.stage === 'collect-masked-input') this.s2 = answered;
    if (this.stage === 'consistency-check') this.s3 = answered;
    const { threshold } = this.config;
    if (answered.length < threshold) {
      return this.stop(
        `only ${answered.length} of ${this.participants.length} participants answered (${answered.join(', ') || 'none'}), ` +
          `fewer than the reconstruction threshold ${describeThreshold(this.config)}`,
        answered,
      );
    }
    // Each secret that will be needed is held by its owner's neighbourhood: enough of it must still be here.
    const owners = this.stage === 'setup' || this.stage === 'share-keys' ? answered : this.s1;
    for (const owner of owners) {
      const holders = this.holdersOf(owner, answered);
      if (holders.length < threshold) {
        const secret = this.stage === 'unmask' ? (this.s2.includes(owner) ? 'self-mask seed' : 'masking key') : 'secrets';
        return this.stop(
          `the ${secret} of '${owner}' is shared within its neighbourhood [${this.graph.get(owner)!.join(', ')}], of which ` +
            `only ${holders.length} ${this.stage === 'unmask' ? 'returned a share' : 'remain'} (${holders.join(', ') || 'none'}), ` +
            `fewer than the reconstruction threshold ${describeThreshold(this.config)}`,
          answered,
        );
      }
    }
  }

  /** The inputs of the reconstruction (after the unmask stage closed without abort). */
  unmaskInputs(): UnmaskInputs {
    const s2 = new Set(this.s2);
    const maskingKeys = new Map([...this.publicKeys].map(([id, keys]) => [id, keys.masking]));
    return {
      config: this.config,
      graph: this.graph,
      maskedSum: this.maskedSum ?? new Uint32Array(0),
      survivors: this.s2,
      droppedAfterSharing: this.s1.filter((id) => !s2.has(id)),
      seedShares: this.seedShares,
      keyShares: this.keyShares,
      maskingKeys,
    };
  }

  publicKeysHex(): Record<string, { encryption: string; masking: string; signing: string }> {
    const out: Record<string, { encryption: string; masking: string; signing: string }> = {};
    for (const id of sortedIds(this.publicKeys.keys())) {
      const keys = this.publicKeys.get(id)!;
      out[id] = { encryption: toHex(keys.encryption), masking: toHex(keys.masking), signing: toHex(keys.signing) };
    }
    return out;
  }

  /** Stops the round for a reason found outside the stage checks (e.g. a secret that does not rebuild). */
  stop(reason: string, survivors: string[]): void {
    const details: AbortDetails = {
      round: this.round,
      stage: this.stage,
      survivors,
      threshold: this.config.threshold,
      participants: this.participants.length,
      failures: [...this.failures],
    };
    const failures = details.failures.length
      ? ` Client failures: ${details.failures.map((f) => `${f.client} at ${f.stage}: ${f.error}`).join('; ')}.`
      : '';
    this.abort = {
      ...details,
      reason:
        `SecAgg+ round ${this.round} aborted at stage '${this.stage}': ${reason}.${failures} ` +
        'No sum was computed and the global model is unchanged. To tolerate more dropouts, lower reconstructionThreshold, ' +
        'raise numShares, or give clients more virtual time (timeout).',
    };
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private fail(client: string, error: string): void {
    if (!this.waiting.delete(client)) return;
    this.failures.push({ client, stage: this.stage, error });
    // Listed by stage, then client id: the report reads the same whatever order errors arrived in.
    this.failures.sort((a, b) => SECAGG_STAGES.indexOf(a.stage) - SECAGG_STAGES.indexOf(b.stage) || (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }

  /** Members of `owner`'s neighbourhood (itself included) among `present`; in unmask, those who returned a share. */
  private holdersOf(owner: string, present: readonly string[]): string[] {
    // An owner is in S2 (its seed is needed) or in S1 \ S2 (its masking key is), never both,
    // so the senders of its shares are well defined.
    if (this.stage === 'unmask') return sortedIds(this.shareSenders.get(owner) ?? []);
    const here = new Set(present);
    return this.graph.get(owner)!.filter((id) => here.has(id));
  }

  /** owner → clients that returned a share of its secret in unmask. */
  private readonly shareSenders = new Map<string, string[]>();

  private stagePayload(stage: SecAggStage, to: string): unknown {
    const round = this.round;
    switch (stage) {
      case 'setup':
        return { round, config: this.config, neighbours: [...this.graph.get(to)!] } satisfies SetupPayload;
      case 'share-keys': {
        const keys = this.graph.get(to)!.filter((id) => this.publicKeys.has(id)).map((id) => ({ id, ...this.publicKeys.get(id)! }));
        return { round, keys } satisfies ShareKeysPayload;
      }
      case 'collect-masked-input': {
        const s1 = new Set(this.s1);
        const shares = (this.outbox.get(to) ?? []).filter((s) => s1.has(s.from)).sort((a, b) => (a.from < b.from ? -1 : 1));
        return { round, shares } satisfies CollectPayload;
      }
      case 'consistency-check':
        return { round, survivors: [...this.s2] } satisfies ConsistencyPayload;
      case 'unmask': {
        const s2 = new Set(this.s2);
        const s1 = new Set(this.s1);
        const neighbourhood = this.graph.get(to)!;
        const active = neighbourhood.filter((id) => s2.has(id));
        const dropped = neighbourhood.filter((id) => s1.has(id) && !s2.has(id));
        this.unmaskAsk.set(to, { active: new Set(active), dropped: new Set(dropped) });
        const signatures = neighbourhood.filter((id) => id !== to && this.signatures.has(id)).map((id) => ({ id, signature: this.signatures.get(id)! }));
        return { round, active, dropped, survivors: [...this.s2], signatures } satisfies UnmaskPayload;
      }
    }
  }

  /** Stores a valid answer; returns a problem description instead when the answer breaks the protocol. */
  private record(from: string, data: unknown): string | null {
    switch (this.stage) {
      case 'setup': {
        const { encryption, masking, signing } = data as PublicKeysPayload;
        this.publicKeys.set(from, { encryption, masking, signing });
        return null;
      }
      case 'share-keys': {
        const { shares } = data as SharesPayload;
        const allowed = new Set(this.graph.get(from)!.filter((id) => id !== from && this.publicKeys.has(id)));
        const targets = shares.map((s) => s.to);
        const stray = targets.find((to) => !allowed.has(to));
        if (stray !== undefined) return `sent a share for '${stray}', which is not one of its neighbours that answered setup`;
        if (new Set(targets).size !== targets.length) return 'sent two shares for the same neighbour';
        for (const { to, ciphertext } of shares) {
          const list = this.outbox.get(to) ?? [];
          list.push({ from, ciphertext });
          this.outbox.set(to, list);
        }
        return null;
      }
      case 'collect-masked-input': {
        const { masked } = data as MaskedInputPayload;
        const expected = this.vectorLength ?? masked.length;
        if (masked.length !== expected || expected === 0) return `sent a masked vector of length ${masked.length}, expected ${expected}`;
        const { modulusRange } = this.config;
        if (modulusRange < 2 ** 32 && masked.some((v) => v >= modulusRange)) return `sent values ≥ modulusRange ${modulusRange}`;
        if (!this.maskedSum) {
          this.vectorLength = expected;
          this.maskedSum = new Uint32Array(expected);
        }
        addInto(this.maskedSum, masked, modulusRange);
        return null;
      }
      case 'consistency-check': {
        const { signature } = data as SignaturePayload;
        // Checked here too: a bad signature would only make the client's neighbours refuse to unmask.
        if (!verifySurvivors(this.publicKeys.get(from)!.signing, signature, this.round, this.s2)) return 'sent a signature of the survivor set that does not verify';
        this.signatures.set(from, signature);
        return null;
      }
      case 'unmask': {
        const { seedShares, keyShares } = data as UnmaskSharesPayload;
        const ask = this.unmaskAsk.get(from)!;
        const parsed: Array<{ owner: string; share: Share; seed: boolean }> = [];
        for (const [list, seed] of [[seedShares, true], [keyShares, false]] as const) {
          const allowed = seed ? ask.active : ask.dropped;
          const owners = list.map((s) => s.owner);
          if (new Set(owners).size !== owners.length) return `sent two ${seed ? 'seed' : 'key'} shares of one client`;
          for (const { owner, share } of list) {
            if (!allowed.has(owner)) return `sent a ${seed ? 'seed' : 'key'} share of '${owner}', which it was not asked for`;
            try {
              parsed.push({ owner, share: shareFromBytes(share), seed });
            } catch (error) {
              return `sent an unreadable share of '${owner}': ${(error as Error).message}`;
            }
          }
        }
        for (const { owner, share, seed } of parsed) {
          const store = seed ? this.seedShares : this.keyShares;
          store.set(owner, [...(store.get(owner) ?? []), share]);
          this.shareSenders.set(owner, [...(this.shareSenders.get(owner) ?? []), from]);
        }
        return null;
      }
    }
  }
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The round's threshold, saying so when fedsim raised the one asked for (so "lower reconstructionThreshold" makes sense). */
function describeThreshold(config: RoundConfig): string {
  if (config.requestedThreshold === undefined) return String(config.threshold);
  return (
    `${config.threshold} (raised from the reconstructionThreshold ${config.requestedThreshold} asked for: with numShares ≥ participants − 1 ` +
    `every client is every other's neighbour, so each secret has ${config.numShares} shares and a majority of them is ${config.threshold})`
  );
}
