/**
 * The FedAvg client under `aggregation: 'additive'`: PySyft's encrypted aggregation
 * among the clients themselves (no trusted aggregator, no crypto provider — sums need
 * none).
 *
 * On `fl/fit` it trains as a plain client does, packs its update weighted by n_k
 * (update-vector.ts), encodes it in fixed point in Z_2^64 and splits it into P − 1
 * additive shares, one for each OTHER peer of the round (its own stream
 * `actor/<id>/additive/shares`). It adds up the shares the other peers send it; when it
 * has its own shares out and one share from every other peer, it sends that sum to the
 * server. Σ over the P sums is Σ_k x_k, and nothing else reaches the server.
 *
 * What each party sees: a peer sees one share of each other client's update — uniform
 * in Z_2^64, independent of the update (it would take all P − 1 other peers together to
 * rebuild it); the server sees P sums of shares, which are uniform except that they add
 * up to the total. A share for a round this client has not started yet (the fit is
 * still on its way) is kept until the fit arrives; a share for a past round is dropped.
 * If any peer is missing, no sum completes at its peers and the server's round deadline
 * aborts the round (the server keeps the old model).
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { encodeFixedVector, splitVector, addInPlace } from '../../actors/smpc/ring-vector.js';
import { type Held, hold } from './held.js';
import { type LocalTrainer, fitLocally } from './local-fit.js';
import { FL, parseMessage } from './messages.js';
import { AdditiveShareSchema, FL_SECURE, SecureFitMessageSchema, ringVectorBytes } from './secure-messages.js';
import { packWeightedUpdate } from './update-vector.js';

/** The client's stream for its shares (under `actor/<id>/`). */
export const ADDITIVE_SHARES_STREAM = 'additive/shares';

export type AdditiveClientInput = LocalTrainer;

interface EarlyShare {
  round: number;
  from: string;
  share: BigUint64Array;
}

interface AdditiveClientContext extends LocalTrainer {
  /** The round this client trained for last (0 before its first fit). */
  round: number;
  server: string | null;
  peers: readonly string[];
  /** Sum of the shares received this round, and from whom (sorted by arrival). */
  sum: Held<BigUint64Array> | null;
  from: readonly string[];
  /** True once this round's sum went to the server. */
  reported: boolean;
  /** Shares for rounds whose fit has not arrived yet. */
  early: Held<readonly EarlyShare[]>;
  fits: number;
}

type Context = AdditiveClientContext;
const who = (ctx: Context) => `additive client '${ctx.io.id}' (round ${ctx.round})`;

/** Adds one peer's share to this round's sum (validated); returns the new fields. */
function addShare(ctx: Context, from: string, share: BigUint64Array): Pick<Context, 'sum' | 'from'> {
  if (!ctx.peers.includes(from) || from === ctx.io.id) {
    throw new Error(`${who(ctx)}: got a share from '${from}', which is not another peer of this round [${ctx.peers.join(', ')}]`);
  }
  const current = ctx.sum?.value;
  if (current && current.length !== share.length) {
    throw new Error(`${who(ctx)}: the share from '${from}' has ${share.length} values, the others ${current.length}; every client must train the same model`);
  }
  const next = current ? addInPlace(BigUint64Array.from(current), share) : BigUint64Array.from(share);
  return { sum: hold(next), from: [...ctx.from, from] };
}

/** Sends the sum to the server once this client's own shares are out and every other peer's share is in. */
function reportIfComplete(ctx: Context): Pick<Context, 'reported'> {
  if (ctx.reported || ctx.server === null || ctx.from.length !== ctx.peers.length - 1) return { reported: ctx.reported };
  const sum = ctx.sum!.value;
  ctx.io.send(ctx.server, FL_SECURE.additiveSum, { round: ctx.round, sum }, { bytes: ringVectorBytes(sum.length) });
  return { reported: true };
}

function onFit(ctx: Context, event: ActorMessage): Partial<Context> {
  const { io } = ctx;
  const { envelope } = event;
  let fit;
  try {
    fit = parseMessage(SecureFitMessageSchema, event.payload, FL.fit, envelope.from, who(ctx));
    if (fit.secure.protocol !== 'additive') throw new Error(`${who(ctx)}: this client takes part in additive aggregation, but the fit asks for '${fit.secure.protocol}'`);
    if (!fit.secure.peers.includes(io.id)) throw new Error(`${who(ctx)}: the fit's peer list [${fit.secure.peers.join(', ')}] does not include this client`);
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  const { peers, base, precisionFractional } = fit.secure;
  let shares: BigUint64Array[];
  try {
    const trained = fitLocally(ctx, fit);
    const vector = packWeightedUpdate(trained.weights, trained.numSamples, trained.loss);
    const encoded = encodeFixedVector(vector, { base, precisionFractional });
    shares = splitVector(encoded, peers.length - 1, io.rng(ADDITIVE_SHARES_STREAM));
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  const others = [...peers].filter((p) => p !== io.id).sort();
  others.forEach((peer, i) => io.send(peer, FL_SECURE.additiveShare, { round: fit.round, share: shares[i] }, { bytes: ringVectorBytes(shares[i].length) }));
  // A new round: whatever was left of an older one is abandoned.
  let next: Context = { ...ctx, round: fit.round, server: envelope.from, peers: [...peers], sum: null, from: [], reported: false, fits: ctx.fits + 1 };
  const early = ctx.early.value;
  for (const share of early.filter((s) => s.round === fit.round)) {
    // A stashed share that does not fit this round (a non-peer's, a wrong length) is dropped: its
    // sender's turn is long over, and a missing share aborts the round at the server anyway.
    try {
      next = { ...next, ...addShare(next, share.from, share.share) };
    } catch {
      continue;
    }
  }
  next.early = hold(early.filter((s) => s.round > fit.round));
  return { ...next, ...reportIfComplete(next) };
}

function onShare(ctx: Context, event: ActorMessage): Partial<Context> {
  const { envelope } = event;
  let message;
  try {
    message = parseMessage(AdditiveShareSchema, event.payload, FL_SECURE.additiveShare, envelope.from, who(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  if (message.round < ctx.round || (message.round === ctx.round && ctx.reported)) return {}; // a past round's, or a duplicate after the sum left
  if (message.round > ctx.round) {
    const early = ctx.early.value;
    if (early.some((s) => s.round === message.round && s.from === envelope.from)) return {}; // a duplicate delivery
    return { early: hold([...early, { round: message.round, from: envelope.from, share: message.share }]) };
  }
  if (ctx.from.includes(envelope.from)) return {}; // a duplicate delivery
  try {
    const next = { ...ctx, ...addShare(ctx, envelope.from, message.share) };
    return { sum: next.sum, from: next.from, ...reportIfComplete(next) };
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
}

export const additiveFedAvgClient = setup({
  types: {} as { context: AdditiveClientContext; input: AdditiveClientInput; events: ActorMessage },
}).createMachine({
  id: 'fedavg-additive-client',
  context: ({ input }) => ({ ...input, round: 0, server: null, peers: [], sum: null, from: [], reported: false, early: hold([]), fits: 0 }),
  on: {
    [FL.fit]: { actions: assign(({ context, event }) => onFit(context, event)) },
    [FL_SECURE.additiveShare]: { actions: assign(({ context, event }) => onShare(context, event)) },
  },
});
