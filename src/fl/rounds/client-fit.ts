/**
 * The generic client's answer to `fl/fit`, shared by every aggregation mode: train each
 * round at most once, and answer a repeat from what was done.
 *
 *   fit for a round it has answered    the stored answer is reported again (no training, no
 *                                      cost); a fit for that round with OTHER weights or config
 *                                      is refused — two different fits for one round must not mix
 *   fit for an older round             ignored (the server has moved on)
 *   fit for a newer round              first the pending state of the last answer is settled
 *                                      (below), then the local update (local-update.ts); the
 *                                      answer and the algorithm's new state, PENDING, are written
 *                                      to durable storage in the same turn as the report leaves,
 *                                      so a crash can never keep one without the other
 *
 * Pending state (algorithms with client state, see algorithms/client-algorithm.ts): a new
 * state is adopted only once the server says the report it came with was aggregated. Every
 * fit carries `includedRound`, the last round whose committed aggregate included this client;
 * a fit for round r comes only after the server committed (or skipped) every round before r,
 * so at that fit the last answer's round is settled for good: adopted when it is
 * `includedRound`, dropped otherwise (the state stays what it was before that round). Settling
 * again is harmless (the same value is adopted again), so a lost, repeated or re-sent fit
 * needs no care: only the round number travels, and it never changes for a settled round.
 *
 * How the answer is reported is the mode's `report` (plain: a reply to the server; secure
 * worker: a message to it; additive: shares to the peers; SecAgg+: a fit-done notice).
 *
 * On a device (`ctx.device`, devices/client-device.ts) a fit costs fitDurationMs (download,
 * training, upload; devices/fit-duration.ts) instead of the cost model, and the trace rules:
 *   offline when the fit arrives     the fit never reaches it: no answer, no work (as if lost)
 *   offline before it would finish   it trains until it goes offline, but the answer never
 *                                    leaves and nothing is stored, so a retry that finds it
 *                                    back online trains afresh (the same update: the shuffle
 *                                    stream is the round's) and answers if it can finish
 *   a repeat of an answered fit      costs the transfers (no training), under the same rule
 */
import { digestOf } from '../../runtime/canonical.js';
import { canonicalLayer } from '../parallel/content-keys.js';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import type { Envelope } from '../../runtime/envelope.js';
import { keepsState } from '../algorithms/client-algorithm.js';
import { FlRefusal, MalformedMessageError } from '../errors.js';
import { fitCostMs } from '../fedavg/cost-model.js';
import { type ClientDevice, deviceOfflineAt, isDeviceOnline } from '../devices/client-device.js';
import { fitDurationMs } from '../devices/fit-duration.js';
import { type FitIns, FitInsSchema, type FitRes, fitBytes, fitResBytes } from './fit.js';
import { type LocalTrainer, localUpdate } from './local-update.js';
import { FL, parseMessage } from './protocol.js';

/** A client's stored answer for its last round. */
export interface StoredAnswer {
  round: number;
  /** Digest of the FitIns it answered (weights and config), to tell a repeat from a different fit. */
  fit: string;
  res: FitRes;
  /** The algorithm state this round's training led to, pending until a later fit settles it (stateful algorithms only). */
  state?: unknown;
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

/** Why a fit cannot be settled against (a stateful algorithm needs `includedRound` before its round), or undefined. */
export function includedRoundProblem(ctx: LocalTrainer, ins: FitIns): string | undefined {
  if (!keepsState(ctx.algorithm)) return undefined;
  if (ins.includedRound === undefined) return `algorithm '${ctx.algorithm.name}' keeps client state, so its fits must carry includedRound (the last round whose aggregate included this client); the server must run fedsim's round engine`;
  if (ins.includedRound >= ins.round) return `includedRound ${ins.includedRound} is not before the fit's round ${ins.round}; a fit can only confirm rounds already committed`;
  return undefined;
}

/**
 * The state round `ins.round` trains from: the last answer's pending state if the server
 * confirms that round, else the state kept so far. Reads only (settledState adopts it;
 * the worker-thread prefetcher, src/fl/parallel/, asks before the fit is delivered).
 */
export function fitState(ctx: Pick<LocalTrainer, 'io' | 'algorithm'>, ins: FitIns, last: StoredAnswer | undefined): unknown {
  const { io, algorithm } = ctx;
  if (!keepsState(algorithm)) return undefined;
  if (last?.state !== undefined && ins.includedRound === last.round) return last.state;
  const key = stateKey(algorithm.name);
  return io.storage.has(key) ? io.storage.get(key) : algorithm.initialState!(ins.weights);
}

/** fitState, adopted: a confirmed pending state is written as the client's state. */
function settledState(ctx: LocalTrainer, ins: FitIns, last: StoredAnswer | undefined): unknown {
  if (keepsState(ctx.algorithm) && last?.state !== undefined && ins.includedRound === last.round) ctx.io.storage.set(stateKey(ctx.algorithm.name), last.state);
  return fitState(ctx, ins, last);
}

/** The client's stored answer (for inspection and for the modes that read it later, like SecAgg+). */
export function storedAnswer(ctx: LocalTrainer): StoredAnswer | undefined {
  return ctx.io.storage.get<StoredAnswer>(ANSWER_KEY);
}

/**
 * On a device: charges the fit's duration and returns true when the device finishes it
 * before going offline; else keeps it busy until it goes offline (its work is lost with
 * it, and messages meanwhile wait until then, when it is gone) and returns false.
 */
function chargeDevice(io: LocalTrainer['io'], device: ClientDevice, ins: FitIns, res: FitRes, samplesSeen: number): boolean {
  const now = io.now();
  const duration = fitDurationMs(device.profile, { bytesDown: fitBytes(ins.weights, ins.config), samplesSeen, bytesUp: fitResBytes(res) });
  const offlineAt = deviceOfflineAt(device, now);
  if (now + duration > offlineAt) {
    io.busy(offlineAt - now);
    return false;
  }
  io.busy(duration);
  return true;
}

export function handleFit<C extends LocalTrainer>(ctx: C, event: ActorMessage, report: ReportAnswer<C>): Partial<C> {
  const { io, device } = ctx;
  const { envelope } = event;
  // An offline device never sees the fit: it is lost to it, like a message dropped on the way.
  if (device && !isDeviceOnline(device, io.now())) return {};
  let ins: FitIns;
  try {
    ins = parseMessage(FitInsSchema, event.payload, FL.fit, envelope.from, where(ctx)) as FitIns;
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  const problem = includedRoundProblem(ctx, ins);
  if (problem) {
    io.replyError(envelope, new MalformedMessageError(`${where(ctx)}: fit for round ${ins.round}: ${problem}`, { from: envelope.from, type: FL.fit, field: 'includedRound' }));
    return {};
  }
  const last = storedAnswer(ctx);
  if (last && ins.round < last.round) return {};
  // includedRound is left out: it speaks of earlier rounds, and every copy of one round's fit carries the same value.
  // The weights' layers enter by memoised digests (the same text canonicalJson writes): a round's clients share them.
  const fit = digestOf({ weights: ins.weights.map(canonicalLayer), config: ins.config, report: ins.report ?? null });
  if (last && ins.round === last.round) {
    if (last.fit !== fit) {
      io.replyError(
        envelope,
        new FlRefusal(`${where(ctx)}: a second, different fit for round ${ins.round} (other weights or config than the one it answered); one round has one fit, so it keeps its first answer`, { actor: io.id, round: ins.round, op: 'fit' }),
      );
      return {};
    }
    if (device && !chargeDevice(io, device, ins, last.res, 0)) return {};
    return report(ctx, { ins, res: last.res, envelope, replay: true });
  }
  const state = settledState(ctx, ins, last);
  let update;
  try {
    update = localUpdate(ctx, ins, state);
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
  if (device) {
    if (!chargeDevice(io, device, ins, update.res, update.samplesSeen)) return {};
  } else io.busy(fitCostMs(ctx.cost, update.samplesSeen, ctx.slowdown ?? 1));
  const answer: StoredAnswer = { round: ins.round, fit, res: update.res, ...(keepsState(ctx.algorithm) ? { state: update.state } : {}) };
  io.storage.set(ANSWER_KEY, answer);
  return report(ctx, { ins, res: update.res, envelope, replay: false });
}
