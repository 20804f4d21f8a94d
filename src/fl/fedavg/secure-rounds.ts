/**
 * The FedAvg server's side of its cryptographic aggregation options, as steps from the
 * server's context (and an event) to a context patch, like server-steps.ts.
 *
 * Both end the same way as the trusted secure worker does: with a SecureAggregate in
 * `ctx.secure` — the sample-weighted average, or `weights: null` and the reason the round
 * keeps the old model — which the aggregating state hands to the strategy as one update.
 *
 * 'additive': the fit names the round's peers; each client sends the server the sum of
 *   the additive shares it received; with all P sums in, Σ sums = Σ_k x_k (mod 2^64) is
 *   decoded. A missing sum at the deadline aborts the round: without every share the total
 *   cannot be rebuilt (additive sharing has no threshold).
 * 'secagg+': clients answer the fit with fl/fit-done; when all have (or at the deadline)
 *   the server starts a SecAgg+ round with those that trained and waits for its result
 *   (dropouts within the threshold are tolerated there), an abort, or a safety timeout.
 */
import type { ActorMessage } from '../../runtime/actor-cell.js';
import type { ErrorPayload } from '../../runtime/envelope.js';
import { decodeFixedVector, sumVectors } from '../../actors/smpc/ring-vector.js';
import { dequantize } from '../secure/crypto/quantize.js';
import { quantizationTarget } from '../secure/secagg/params.js';
import { type AbortedPayload, type ResultPayload, SECAGG } from '../secure/secagg/protocol.js';
import { compareIds } from '../strategies/strategy.js';
import { type Held, hold } from './held.js';
import { FL, type SecureAggregate, parseMessage } from './messages.js';
import { type AdditiveFit, AdditiveSumSchema, FL_SECURE, FitDoneSchema, type SecAggFit } from './secure-messages.js';
import { type AdditiveOptions, type SecAggOptions, defaultSecAggShares } from './secure-options.js';
import type { ServerContext } from './server-steps.js';
import { packedLength, unpackWeightedSum } from './update-vector.js';

/** What the server is given for the cryptographic options (part of ServerInput). */
export interface SecureRoundsInput {
  /** aggregation 'additive': the fixed-point encoding the clients use. */
  additive?: AdditiveOptions;
  /** aggregation 'secagg+': the SecAgg+ server actor, the clients' weight bound, and the protocol settings. */
  secagg?: { serverId: string; maxWeight: number; options: SecAggOptions };
}

/** Per-round state (part of ServerContext; reset by every beginRound). */
export interface SecureRoundsState {
  /** 'additive': each peer's sum of the shares it received. */
  shareSums: Record<string, Held<BigUint64Array>>;
  /** 'secagg+': clients that reported fl/fit-done, in arrival order. */
  trained: string[];
}

export const initialSecureRoundsState = (): SecureRoundsState => ({ shareSums: {}, trained: [] });

const where = (ctx: ServerContext) => `server '${ctx.io.id}' (round ${ctx.round}, aggregation ${ctx.aggregation})`;

/** A round that ends without a new model, and why. */
function withheld(round: number, reason: string): SecureAggregate {
  return { round, weights: null, numSamples: 0, loss: NaN, contributors: [], rejected: 0, skipped: reason };
}

/**
 * The `secure` field of this round's fits, or, when the protocol cannot run with this
 * selection, the withheld aggregate that ends the round at once (no fit is sent).
 */
export function planSecureFit(ctx: ServerContext, round: number, clients: readonly string[]): { field?: AdditiveFit | SecAggFit; skip?: SecureAggregate } {
  if (ctx.aggregation === 'additive') {
    if (clients.length < 3) {
      return { skip: withheld(round, `additive aggregation needs at least 3 clients in a round (each update is shared among the OTHER clients, so with ${clients.length} one client would hold another's whole update); raise fraction or minClients`) };
    }
    const { base, precisionFractional } = ctx.additive!;
    return { field: { protocol: 'additive', peers: [...clients], base, precisionFractional } };
  }
  if (ctx.aggregation === 'secagg+') {
    if (clients.length < 2) return { skip: withheld(round, `SecAgg+ needs at least 2 clients in a round, ${clients.length} selected`) };
    return { field: { protocol: 'secagg+', maxWeight: ctx.secagg!.maxWeight } };
  }
  return {};
}

/** Answers a message the round cannot take with fl/update-rejected (as receiveUpdate does). */
function refuse(ctx: ServerContext, event: ActorMessage, round: number, reason: 'stale-round' | 'future-round' | 'not-selected' | 'duplicate' | 'bad-layout'): Partial<ServerContext> {
  ctx.io.reply(event.envelope, FL.updateRejected, { round, currentRound: ctx.round, reason });
  return { rejected: ctx.rejected + 1 };
}

/** 'additive': one peer's sum of shares; with every peer's in, the round's aggregate. */
export function receiveShareSum(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  const { envelope } = event;
  let message;
  try {
    message = parseMessage(AdditiveSumSchema, event.payload, FL_SECURE.additiveSum, envelope.from, where(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  const from = envelope.from;
  if (ctx.aggregation !== 'additive' || ctx.secure) return refuse(ctx, event, message.round, 'stale-round');
  if (message.round < ctx.round) return refuse(ctx, event, message.round, 'stale-round');
  if (message.round > ctx.round) return refuse(ctx, event, message.round, 'future-round');
  if (!ctx.selected.includes(from)) return refuse(ctx, event, message.round, 'not-selected');
  if (ctx.shareSums[from]) return refuse(ctx, event, message.round, 'duplicate');
  if (message.sum.length !== packedLength(ctx.weights.value)) return refuse(ctx, event, message.round, 'bad-layout');
  const shareSums = { ...ctx.shareSums, [from]: hold(message.sum) };
  if (!ctx.selected.every((c) => shareSums[c])) return { shareSums };
  return { shareSums, secure: hold(additiveAggregate(ctx, shareSums)) };
}

/** Σ of the peers' sums (sorted order) = Σ_k encoded x_k, decoded into the weighted average. */
function additiveAggregate(ctx: ServerContext, shareSums: Record<string, Held<BigUint64Array>>): SecureAggregate {
  const peers = [...ctx.selected].sort(compareIds);
  const total = sumVectors(peers.map((p) => shareSums[p].value));
  const decoded = decodeFixedVector(total, ctx.additive);
  const average = unpackWeightedSum(decoded, ctx.weights.value);
  if (!average) return withheld(ctx.round, 'additive aggregation: the clients\' total sample count is 0, so there is no weighted average');
  return { round: ctx.round, weights: average.weights, numSamples: Math.round(average.totalWeight), loss: average.loss, contributors: peers, rejected: 0 };
}

/** 'additive', at the round deadline: without every peer's sum the total cannot be rebuilt. */
export function closeAdditiveRound(ctx: ServerContext): Partial<ServerContext> {
  if (ctx.secure) return {};
  const missing = ctx.selected.filter((c) => !ctx.shareSums[c]);
  return {
    secure: hold(
      withheld(ctx.round,
        `additive aggregation: no sum of shares from [${missing.join(', ')}] before the deadline (a client crashed, was too slow, or lost a share); ` +
          'additive shares have no threshold, so the total cannot be rebuilt and the old model is kept',
      ),
    ),
  };
}

/** 'secagg+': a client finished training for this round. */
export function receiveFitDone(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  const { envelope } = event;
  let message;
  try {
    message = parseMessage(FitDoneSchema, event.payload, FL_SECURE.fitDone, envelope.from, where(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  if (message.round !== ctx.round || !ctx.selected.includes(envelope.from) || ctx.trained.includes(envelope.from)) return {};
  return { trained: [...ctx.trained, envelope.from] };
}

export const allTrained = (ctx: ServerContext) => ctx.aggregation === 'secagg+' && ctx.selected.length > 0 && ctx.selected.every((c) => ctx.trained.includes(c));

/** 'secagg+': starts the SecAgg+ round among the clients that trained (or withholds the round). */
export function startSecAgg(ctx: ServerContext): Partial<ServerContext> {
  if (ctx.secure) return {};
  const participants = [...ctx.trained].sort(compareIds);
  if (participants.length < 2) {
    return { secure: hold(withheld(ctx.round, `SecAgg+: only ${participants.length} client(s) trained before the deadline; a secure sum needs at least 2`)) };
  }
  const { serverId, options } = ctx.secagg!;
  const defaults = defaultSecAggShares(participants.length);
  const numShares = options.numShares ?? defaults.numShares;
  const reconstructionThreshold = options.reconstructionThreshold ?? (options.numShares === undefined ? defaults.reconstructionThreshold : Math.floor(Math.min(numShares, participants.length) / 2) + 1);
  ctx.io.send(serverId, SECAGG.start, {
    round: ctx.round,
    participants,
    vectorLength: packedLength(ctx.weights.value),
    params: { numShares, reconstructionThreshold },
  });
  return {};
}

/** 'secagg+': the SecAgg+ server's answer (result, abort, or an error reply). */
export function receiveSecAggAnswer(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  const { envelope } = event;
  if (ctx.secure || envelope.from !== ctx.secagg?.serverId) return {};
  if (event.type === 'error') {
    const error = event.payload as ErrorPayload;
    return { secure: hold(withheld(ctx.round, `SecAgg+ server '${envelope.from}' refused the round: ${error.name}: ${error.message}`)) };
  }
  if (event.type === SECAGG.aborted) {
    const aborted = event.payload as AbortedPayload;
    if (aborted.round !== ctx.round) return {};
    return { secure: hold(withheld(ctx.round, `SecAgg+ aborted in stage ${aborted.stage}: ${aborted.reason}`)) };
  }
  const result = event.payload as ResultPayload;
  if (result.round !== ctx.round) return {};
  // Dequantise the exact quantised sum in float64 (the result's float32 sum would lose digits).
  const { config, survivors } = result;
  const sum = dequantize(result.quantizedSum, config.clippingRange, quantizationTarget(config), survivors.length);
  const average = unpackWeightedSum(sum, ctx.weights.value);
  if (!average) return { secure: hold(withheld(ctx.round, 'SecAgg+: the survivors\' summed weight is not positive (every update was clipped or empty)')) };
  return {
    secure: hold({
      round: ctx.round,
      weights: average.weights,
      numSamples: Math.round(average.totalWeight * ctx.secagg!.maxWeight),
      loss: average.loss,
      contributors: [...survivors].sort(compareIds),
      rejected: 0,
    }),
  };
}

/** 'secagg+': no answer from the SecAgg+ server in time (it crashed, or a partition cut it off). */
export function secAggTimedOut(ctx: ServerContext): Partial<ServerContext> {
  if (ctx.secure) return {};
  return { secure: hold(withheld(ctx.round, `SecAgg+ server '${ctx.secagg!.serverId}' gave no result in time; the old model is kept`)) };
}

/** How long the server waits for a SecAgg+ answer: four stage timeouts and one more for the messages around them. */
export const secAggWaitMs = (ctx: ServerContext) => 5 * (ctx.secagg?.options.timeout ?? 30_000);
