/**
 * The update side of the asynchronous server: a client's fl/fit-result, and the server
 * updates it leads to.
 *
 *   an update for an outstanding dispatch, from its client, well-formed   accepted: its
 *       staleness s = v_now − v_at_dispatch is taken, the slot is freed and filled again;
 *       FedBuff buffers s(τ)·Δ and steps when the buffer holds K updates (fedbuff.ts);
 *       FedAsync mixes the client's model in at once with α·s(τ) (fedasync.ts)
 *   any other update (its dispatch was accepted already — a duplicate —, timed out, or is
 *       unknown)   refused with fl/update-rejected: an update counts once, or not at all
 *   a malformed one, a wrong layout or an impossible sample count   refused, and the
 *       dispatch is given up (that client's answer to it will not change)
 *   an error reply to a dispatch's fit   the dispatch is given up with the client's reason;
 *       a model that does not fit a client's data ends the run (it will not fit later either)
 *
 * Each server update is reported to the run's requester (fl/round-end, round = the new
 * model version) and kept in the history the result repeats.
 */
import { countDrops, dropOf } from '../rounds/drop-reasons.js';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import type { ErrorPayload } from '../../runtime/envelope.js';
import { emptyBook, fileReport } from '../aggregators/report-book.js';
import { errorKindOf } from '../errors.js';
import { type Weights, allFinite } from '../models/weights.js';
import { PLAIN_REPORT, type FitRes, FitResSchema } from '../rounds/fit.js';
import { FL, type RoundEnd, type RoundSummary, parseMessage, wireBytes } from '../rounds/protocol.js';
import { compareIds } from '../strategies/compare-ids.js';
import { evaluateModel } from '../training/evaluate.js';
import type { AsyncContext, AsyncState, Dispatch } from './async-context.js';
import { whereAsync } from './async-context.js';
import { fillSlots, withoutDispatch } from './async-dispatch.js';
import { fedAsyncMix } from './fedasync.js';
import { type BufferedUpdate, deltaOf, fedBuffStep } from './fedbuff.js';
import { stalenessWeight } from './staleness.js';

/** What the report of a server update says about the updates in it (its `notes.async`). */
export interface AsyncUpdateNote {
  algorithm: 'fedbuff' | 'fedasync';
  /** Fits dispatched (clients asked to train, one per dispatch) since the previous server update. */
  dispatched: number;
  /** Per update applied, in arrival order (so their count is the updates applied, FedBuff's bufferSize or FedAsync's 1): */
  clients: string[];
  dispatches: number[];
  staleness: number[];
  stalenessWeights: number[];
  /** FedAsync: α_t = α·s(τ) of the one update. */
  mixing?: number;
}

const dispatchOfFit = (state: AsyncState, fitId: string): Dispatch | undefined => Object.values(state.outstanding).find((d) => d.fitIds.includes(fitId));

function giveUp(state: AsyncState, d: Dispatch, kind: 'refusal' | 'fault' | 'bug', reason: string, rejected = 0): AsyncState {
  const next = withoutDispatch(state, d.number);
  return { ...next, since: { ...next.since, failures: [...next.since.failures, { clientId: d.client, kind, reason }], rejected: next.since.rejected + rejected } };
}

/** An error reply to one of a dispatch's fits. */
export function receiveRefusal(ctx: AsyncContext, state: AsyncState, inReplyTo: string, error: ErrorPayload): AsyncState | undefined {
  const d = dispatchOfFit(state, inReplyTo);
  if (!d) return undefined;
  const next = giveUp(state, d, errorKindOf(error), `dispatch ${d.number}: ${error.name}: ${error.message}`);
  if (error.name === 'IncompatibleModelError') {
    return { ...next, failure: { kind: 'refusal', round: state.version, client: d.client, detail: `client '${d.client}' refused dispatch ${d.number}: ${error.message}` } };
  }
  return fillSlots(ctx, next);
}

/** An fl/fit-result while the run is running. */
export function receiveUpdate(ctx: AsyncContext, state: AsyncState, event: ActorMessage): AsyncState {
  const { envelope } = event;
  const from = envelope.from;
  const claimed = (event.payload as { round?: unknown } | null)?.round;
  const d = typeof claimed === 'number' ? state.outstanding[claimed] : undefined;
  if (!d || d.client !== from) {
    try {
      parseMessage(FitResSchema, event.payload, FL.fitResult, from, whereAsync(ctx));
    } catch (error) {
      ctx.io.replyError(envelope, error);
      return state;
    }
    const number = claimed as number;
    // Another client's dispatch, one never given, or one closed already (accepted — a duplicate — or given up).
    const reason = d ? 'not-selected' : number > state.lastDispatch ? 'future-round' : 'stale-round';
    ctx.io.reply(envelope, FL.updateRejected, { round: number, currentRound: state.version, reason });
    return { ...state, since: { ...state.since, rejected: state.since.rejected + 1 } };
  }
  let filing;
  try {
    filing = fileReport(emptyBook(d.number), from, event.payload, {
      selected: [d.client],
      layout: state.weights,
      reports: PLAIN_REPORT,
      maxSamplesPerClient: ctx.maxSamplesPerClient,
      who: whereAsync(ctx),
    });
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return fillSlots(ctx, giveUp(state, d, 'refusal', `dispatch ${d.number}: a malformed update: ${(error as Error).message}`, 1));
  }
  if (filing.refused) {
    ctx.io.reply(envelope, FL.updateRejected, { round: d.number, currentRound: state.version, reason: filing.refused });
    return fillSlots(ctx, giveUp(state, d, 'refusal', `dispatch ${d.number}: update refused (${filing.refused}): ${filing.detail}`, 1));
  }
  const res = filing.book.reports[from].value;
  if (!allFinite(res.weights)) {
    ctx.io.reply(envelope, FL.updateRejected, { round: d.number, currentRound: state.version, reason: 'out-of-range' });
    return fillSlots(ctx, giveUp(state, d, 'refusal', `dispatch ${d.number}: the update holds NaN or Infinity`, 1));
  }
  return fillSlots(ctx, accept(ctx, state, d, res));
}

function accept(ctx: AsyncContext, state: AsyncState, d: Dispatch, res: FitRes): AsyncState {
  const { plan } = ctx;
  const staleness = state.version - d.version;
  const weight = stalenessWeight(plan.staleness, staleness);
  const entry: BufferedUpdate = { client: d.client, dispatch: d.number, staleness, weight, delta: [], numSamples: res.numSamples, loss: res.loss };
  let next: AsyncState = { ...withoutDispatch(state, d.number), accepted: state.accepted + 1, lastProgressAt: ctx.io.now() };
  if (plan.algorithm === 'fedasync') {
    const mixing = plan.mixing * weight;
    return serverUpdate(ctx, next, [entry], fedAsyncMix(state.weights, res.weights, mixing), mixing);
  }
  const buffered = [...next.buffer, { ...entry, delta: deltaOf(res.weights, state.models[d.version]) }];
  if (buffered.length < plan.bufferSize) return { ...next, buffer: buffered };
  next = { ...next, buffer: [] };
  return serverUpdate(ctx, next, buffered, fedBuffStep(state.weights, buffered, plan.serverLr));
}

function serverUpdate(ctx: AsyncContext, state: AsyncState, entries: readonly BufferedUpdate[], weights: Weights, mixing?: number): AsyncState {
  const version = state.version + 1;
  const now = ctx.io.now();
  if (!allFinite(weights)) {
    return { ...state, failure: { kind: 'refusal', round: version, detail: `${whereAsync(ctx)}: the new model contains NaN or Infinity (training diverged: lower lr or async.serverLr)` } };
  }
  const numSamples = entries.reduce((n, e) => n + e.numSamples, 0);
  const clients = [...new Set(entries.map((e) => e.client))].sort(compareIds);
  const note: AsyncUpdateNote = {
    algorithm: ctx.plan.algorithm,
    dispatched: state.lastDispatch - state.since.lastDispatchBefore,
    clients: entries.map((e) => e.client),
    dispatches: entries.map((e) => e.dispatch),
    staleness: entries.map((e) => e.staleness),
    stalenessWeights: entries.map((e) => e.weight),
    ...(mixing !== undefined ? { mixing } : {}),
  };
  const report: RoundEnd = {
    round: version,
    startedAt: state.since.startedAt,
    endedAt: now,
    selected: clients,
    participants: clients,
    // As in a sync round: the clients whose input reached the aggregation (a client may bring two updates to one buffer).
    finished: clients.length,
    // Dispatches given up since the last server update (a client given up twice is listed twice): a refusal, a bug,
    // or lost on the way (a fault: timed out), counted by why in `drops` — each once.
    dropped: state.since.failures.map((f) => f.clientId),
    drops: countDrops(state.since.failures.map((f) => ({ drop: dropOf(f) }))),
    failures: state.since.failures,
    rejectedUpdates: state.since.rejected,
    trainLoss: numSamples === 0 ? NaN : entries.reduce((s, e) => s + e.numSamples * e.loss, 0) / numSamples,
    numSamples,
    notes: { async: note as unknown as Record<string, unknown> },
    weights,
  };
  if (ctx.testSet) {
    const e = evaluateModel(ctx.workspace.withWeights(ctx.spec, weights), ctx.testSet.value);
    report.central = e.accuracy === undefined ? { loss: e.loss } : { loss: e.loss, accuracy: e.accuracy };
  }
  const { weights: _model, ...summary } = report;
  if (state.run) ctx.io.send(state.run.requester, FL.roundEnd, report, { bytes: wireBytes(weights) });
  return { ...state, version, weights, history: [...state.history, summary as RoundSummary], since: { startedAt: now, failures: [], rejected: 0, lastDispatchBefore: state.lastDispatch } };
}
