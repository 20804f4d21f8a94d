/**
 * The generic client's answer to `fl/fit`, shared by every aggregation mode: train each
 * round at most once, and answer a repeat from what was done.
 *
 *   fit for a round it has answered    the stored answer is reported again (no training, no
 *                                      cost); a fit for that round with OTHER weights or config
 *                                      is refused — two different fits for one round must not mix
 *   fit for an older round             ignored (the server has moved on)
 *   fit for a newer round              local update (local-update.ts); the answer and the
 *                                      algorithm's new state are written to durable storage in
 *                                      the same turn as the report leaves, so a crash can never
 *                                      keep one without the other
 *
 * How the answer is reported is the mode's `report` (plain: a reply to the server; secure
 * worker: a message to it; additive: shares to the peers; SecAgg+: a fit-done notice).
 */
import { digestOf } from '../../runtime/canonical.js';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import type { Envelope } from '../../runtime/envelope.js';
import { FlRefusal } from '../errors.js';
import { fitCostMs } from '../fedavg/cost-model.js';
import { type FitIns, FitInsSchema, type FitRes } from './fit.js';
import { type LocalTrainer, localUpdate } from './local-update.js';
import { FL, parseMessage } from './protocol.js';

/** A client's stored answer for its last round. */
export interface StoredAnswer {
  round: number;
  /** Digest of the FitIns it answered (weights and config), to tell a repeat from a different fit. */
  fit: string;
  res: FitRes;
}

export const ANSWER_KEY = 'fl/answer';
export const stateKey = (algorithm: string) => `fl/state/${algorithm}`;

export interface Answer {
  ins: FitIns;
  res: FitRes;
  /** The fl/fit being answered. */
  envelope: Envelope;
  /** True when the answer comes from storage (a repeated fit). */
  replay: boolean;
}

/** How a mode reports an answer; returns the context patch (the mode's own per-round fields). */
export type ReportAnswer<C> = (ctx: C, answer: Answer) => Partial<C>;

const where = (ctx: LocalTrainer) => `client '${ctx.io.id}'`;

/** The client's stored answer (for inspection and for the modes that read it later, like SecAgg+). */
export function storedAnswer(ctx: LocalTrainer): StoredAnswer | undefined {
  return ctx.io.storage.get<StoredAnswer>(ANSWER_KEY);
}

export function handleFit<C extends LocalTrainer>(ctx: C, event: ActorMessage, report: ReportAnswer<C>): Partial<C> {
  const { io } = ctx;
  const { envelope } = event;
  let ins: FitIns;
  try {
    ins = parseMessage(FitInsSchema, event.payload, FL.fit, envelope.from, where(ctx)) as FitIns;
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  const last = storedAnswer(ctx);
  if (last && ins.round < last.round) return {};
  const fit = digestOf({ weights: ins.weights, config: ins.config, report: ins.report ?? null });
  if (last && ins.round === last.round) {
    if (last.fit !== fit) {
      io.replyError(
        envelope,
        new FlRefusal(`${where(ctx)}: a second, different fit for round ${ins.round} (other weights or config than the one it answered); one round has one fit, so it keeps its first answer`, { actor: io.id, round: ins.round, op: 'fit' }),
      );
      return {};
    }
    return report(ctx, { ins, res: last.res, envelope, replay: true });
  }
  const key = stateKey(ctx.algorithm.name);
  const state = io.storage.has(key) ? io.storage.get(key) : ctx.algorithm.initialState?.(ins.weights);
  let update;
  try {
    update = localUpdate(ctx, ins, state);
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  io.busy(fitCostMs(ctx.cost, update.samplesSeen, ctx.slowdown ?? 1));
  const answer: StoredAnswer = { round: ins.round, fit, res: update.res };
  io.storage.set(ANSWER_KEY, answer);
  if (update.state !== undefined) io.storage.set(key, update.state);
  return report(ctx, { ins, res: update.res, envelope, replay: false });
}
