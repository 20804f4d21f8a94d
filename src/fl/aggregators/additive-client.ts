/**
 * The client under 'additive' aggregation: it packs its FitRes weighted by its report
 * weight c_k (n_k, or 1 under uniform weighting: round-aggregate.ts), encodes it in fixed point in Z_2^64 and splits it into P − 1
 * additive shares, one for each OTHER peer of the round; it adds up the shares the other
 * peers send it, and once it has one from each, sends that sum to the server. Σ over the
 * P sums is Σ_k x_k, and nothing else reaches the server.
 *
 * What each party sees: a peer sees one share of each other client's update — uniform in
 * Z_2^64, independent of the update; the server sees P sums of shares, uniform except that
 * they add up to the total.
 *
 * Idempotent: the shares are drawn from a stream named after the round, so a retried fit
 * (answered from storage) sends the very same shares again, and the sum again once it is
 * complete. A peer ignores a repeated share; a DIFFERENT share from the same peer for the
 * same round means two splits would mix, so it tells the server (fl/additive-abort) and the
 * round is aborted — never summed. A share for a round whose fit has not arrived yet is
 * kept until it does; a share for a past round is dropped.
 */
import type { AnyActorLogic } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { addInPlace, encodeFixedVector, splitVector } from '../../actors/smpc/ring-vector.js';
import { FlRefusal } from '../errors.js';
import { type Held, hold } from '../fedavg/held.js';
import type { Answer } from '../rounds/client-fit.js';
import { simpleClientLogic } from '../rounds/client-logic.js';
import type { LocalTrainer } from '../rounds/local-update.js';
import { parseMessage } from '../rounds/protocol.js';
import { packReport, packedLength, reportWeight } from '../rounds/round-aggregate.js';
import { compareIds } from '../strategies/strategy.js';
import { ADDITIVE, type AdditiveReport, AdditiveReportSchema, AdditiveShareSchema, ringVectorBytes, sameVector, sharesStreamName } from './additive-messages.js';

interface AdditiveClientState {
  /** The round this client shares for (0 before its first fit). */
  round: number;
  server: string | null;
  peers: readonly string[];
  /** Shares received this round, by peer. */
  received: Held<Readonly<Record<string, BigUint64Array>>>;
  /** True once this round's sum went to the server (then it is kept, to answer a retry). */
  sum: Held<BigUint64Array> | null;
  /** Why this round cannot be summed (told to the server), if so. */
  inconsistent: string | null;
  /** Shares for rounds whose fit has not arrived yet. */
  early: Held<readonly { round: number; from: string; share: BigUint64Array }[]>;
  vectorLength: number;
}

type Context = LocalTrainer & AdditiveClientState;
const who = (ctx: Context) => `additive client '${ctx.io.id}' (round ${ctx.round})`;

/** This client's shares of its round-`answer` update, one per other peer in sorted order (the same on every call). */
function sharesOf(ctx: Context, answer: Answer, report: AdditiveReport): { peer: string; share: BigUint64Array }[] {
  const vector = packReport(answer.res, reportWeight(answer.res, ctx.algorithm.reports), ctx.algorithm.reports);
  let encoded: BigUint64Array;
  try {
    encoded = encodeFixedVector(vector, { base: report.base, precisionFractional: report.precisionFractional });
  } catch (error) {
    // Values too large (or not finite) for the ring: a setting to change, not a bug.
    const largest = vector.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    throw new FlRefusal(
      `${who(ctx)}: its weighted update (values up to ${largest.toPrecision(3)} = c_k × weight) does not fit the fixed-point ring at precisionFractional ${report.precisionFractional} ` +
        `(|value| × ${report.base}^${report.precisionFractional} must stay below 2^63); lower additive.precisionFractional, or the learning rate if training diverged`,
      { actor: ctx.io.id, round: answer.ins.round, op: 'share' },
      { cause: error },
    );
  }
  const others = report.peers.filter((p) => p !== ctx.io.id).sort(compareIds);
  const shares = splitVector(encoded, others.length, ctx.io.derivedRng(sharesStreamName(answer.ins.round)));
  return others.map((peer, i) => ({ peer, share: shares[i] }));
}

/** Adds one peer's share (or notes that it conflicts); then sends the sum if this was the last one. */
function receiveShare(ctx: Context, from: string, share: BigUint64Array): Partial<Context> {
  if (!ctx.peers.includes(from) || from === ctx.io.id) {
    throw new FlRefusal(`${who(ctx)}: got a share from '${from}', which is not another peer of this round [${ctx.peers.join(', ')}]`, { actor: ctx.io.id, round: ctx.round });
  }
  if (share.length !== ctx.vectorLength) {
    throw new FlRefusal(`${who(ctx)}: the share from '${from}' has ${share.length} values, the round's vectors ${ctx.vectorLength}; every client must train the same model`, { actor: ctx.io.id, round: ctx.round });
  }
  const received = ctx.received.value;
  const known = received[from];
  if (known) {
    if (sameVector(known, share) || ctx.inconsistent) return {};
    const reason = `client '${ctx.io.id}' got two different shares from '${from}' for round ${ctx.round}`;
    if (ctx.server) ctx.io.send(ctx.server, ADDITIVE.abort, { round: ctx.round, reason });
    return { inconsistent: reason };
  }
  const next = { ...ctx, received: hold({ ...received, [from]: share }) };
  return { received: next.received, ...sendSumIfComplete(next) };
}

function sendSumIfComplete(ctx: Context): Partial<Context> {
  if (ctx.sum || ctx.inconsistent || ctx.server === null) return {};
  const received = ctx.received.value;
  const others = ctx.peers.filter((p) => p !== ctx.io.id).sort(compareIds);
  if (!others.every((p) => received[p])) return {};
  // Sum in sorted peer order: the same bits whatever order the shares came in.
  const sum = others.reduce<BigUint64Array>((acc, p) => addInPlace(acc, received[p]), new BigUint64Array(ctx.vectorLength));
  ctx.io.send(ctx.server, ADDITIVE.sum, { round: ctx.round, sum }, { bytes: ringVectorBytes(sum.length) });
  return { sum: hold(sum) };
}

function report(ctx: Context, answer: Answer): Partial<Context> {
  const parsed = AdditiveReportSchema.safeParse(answer.ins.report);
  if (!parsed.success || !parsed.data.peers.includes(ctx.io.id)) {
    ctx.io.replyError(answer.envelope, new FlRefusal(`${who(ctx)}: under additive aggregation a fit must name the round's peers, this client among them (report: {protocol: 'additive', peers, base, precisionFractional}); got ${JSON.stringify(answer.ins.report)}`, { actor: ctx.io.id, round: answer.ins.round }));
    return {};
  }
  const spec = parsed.data;
  const round = answer.ins.round;
  for (const { peer, share } of sharesOf(ctx, answer, spec)) ctx.io.send(peer, ADDITIVE.share, { round, share }, { bytes: ringVectorBytes(share.length) });
  if (round === ctx.round) {
    // A retried fit: the shares went again (identical); so does the sum, if it is complete.
    if (ctx.sum && ctx.server) ctx.io.send(ctx.server, ADDITIVE.sum, { round, sum: ctx.sum.value }, { bytes: ringVectorBytes(ctx.sum.value.length) });
    return {};
  }
  // A new round: whatever was left of an older one is abandoned.
  let next: Context = {
    ...ctx,
    round,
    server: answer.envelope.from,
    peers: [...spec.peers].sort(compareIds),
    received: hold({}),
    sum: null,
    inconsistent: null,
    vectorLength: packedLength(answer.res.weights, ctx.algorithm.reports),
  };
  for (const early of ctx.early.value.filter((s) => s.round === round)) {
    try {
      next = { ...next, ...receiveShare(next, early.from, early.share) };
    } catch {
      // A stashed share that does not fit this round is dropped: a missing share aborts the round at the server anyway.
    }
  }
  next = { ...next, early: hold(ctx.early.value.filter((s) => s.round > round)) };
  return { ...next, ...sendSumIfComplete(next) };
}

function onShare(ctx: Context, event: ActorMessage): Partial<Context> {
  const { envelope } = event;
  const message = parseMessage(AdditiveShareSchema, event.payload, ADDITIVE.share, envelope.from, who(ctx));
  if (message.round < ctx.round) return {};
  if (message.round > ctx.round) {
    const early = ctx.early.value;
    const kept = early.find((s) => s.round === message.round && s.from === envelope.from);
    if (kept) return {}; // the first one is kept; a conflicting one is caught when the fit arrives and it is compared again
    return { early: hold([...early, { round: message.round, from: envelope.from, share: message.share }]) };
  }
  return receiveShare(ctx, envelope.from, message.share);
}

export const additiveClient: AnyActorLogic = simpleClientLogic<Context>('fl-additive-client', report, {
  context: () => ({ round: 0, server: null, peers: [], received: hold({}), sum: null, inconsistent: null, early: hold([]), vectorLength: 0 }),
  on: { [ADDITIVE.share]: onShare },
});
