/**
 * The dispatch side of the asynchronous server: keep `concurrency` clients training.
 *
 *   fillSlots         while fewer than `concurrency` dispatches are out (and the run is not
 *                     over), give the next dispatch number to an idle, online client and
 *                     send it the current model
 *   tick              every retryMs: give up the dispatches past their deadline (a lost fit,
 *                     a lost update, a crashed or offline client: the slot is re-used), re-send
 *                     the fits of the others (a client answers a repeat from storage, so a lost
 *                     update comes back without retraining), fail a run that made no progress
 *                     for stallTimeoutMs, then fill the free slots
 *
 * Functions from the server's state to its next state; the chart (async-server-machine.ts)
 * decides when each runs, and writes the checkpoint.
 */
import { indexOfSortedId } from '../rounds/client-pool.js';
import { wireBytes, FL } from '../rounds/protocol.js';
import type { FitIns } from '../rounds/fit.js';
import type { FailureSummary } from '../rounds/protocol.js';
import type { AsyncContext, AsyncState, Dispatch } from './async-context.js';
import { chooseIdleClient } from './client-choice.js';

/** True when the run has reached its bound (a FedBuff buffer still filling is finished first). */
export function bounded(ctx: AsyncContext, state: AsyncState): boolean {
  const { plan } = ctx;
  return state.version >= plan.maxServerUpdates || (state.accepted >= plan.maxClientUpdates && state.buffer.length === 0);
}

/** Sends dispatch `d`'s fit (again); returns the dispatch with the new message id. */
function sendFit(ctx: AsyncContext, state: AsyncState, d: Dispatch): Dispatch {
  const weights = state.models[d.version];
  const ins: FitIns = { round: d.number, weights, config: ctx.trainConfig as FitIns['config'] };
  const id = ctx.io.send(d.client, FL.fit, ins, { bytes: wireBytes(weights) });
  return { ...d, fitIds: [...d.fitIds, id] };
}

/** Only the models some outstanding dispatch carries are kept. */
function pruneModels(state: AsyncState): AsyncState['models'] {
  const used = new Set(Object.values(state.outstanding).map((d) => d.version));
  const models: Record<number, AsyncState['weights']> = {};
  for (const v of Object.keys(state.models).map(Number)) if (used.has(v)) models[v] = state.models[v];
  return models;
}

export function withoutDispatch(state: AsyncState, number: number): AsyncState {
  const { [number]: _gone, ...outstanding } = state.outstanding;
  const next = { ...state, outstanding };
  return { ...next, models: pruneModels(next) };
}

export function fillSlots(ctx: AsyncContext, state: AsyncState): AsyncState {
  let next = state;
  const now = ctx.io.now();
  while (next.status === 'running' && next.failure === null && !bounded(ctx, next) && Object.keys(next.outstanding).length < ctx.plan.concurrency) {
    const number = next.lastDispatch + 1;
    const busy = new Set(Object.values(next.outstanding).map((d) => d.client));
    const client = chooseIdleClient({ clients: ctx.clients, busy, devices: ctx.devices, now }, ctx.io.derivedRng(`dispatch/${number}`));
    if (client === undefined) break; // nobody idle and online: the next tick tries again
    const models = next.models[next.version] ? next.models : { ...next.models, [next.version]: next.weights };
    const dispatch = sendFit(ctx, { ...next, models }, { number, client, version: next.version, sentAt: now, deadline: now + ctx.plan.dispatchTimeoutMs, fitIds: [] });
    next = { ...next, models, lastDispatch: number, outstanding: { ...next.outstanding, [number]: dispatch } };
  }
  return next;
}

/** Whether the trace had the dispatch's client offline at some moment between the dispatch and `now` (as a sync round's drop reasons say). */
function wentOffline(ctx: AsyncContext, d: Dispatch, now: number): boolean {
  const availability = ctx.devices?.availability;
  if (!availability) return false;
  const until = availability.onlineUntil(indexOfSortedId(ctx.clients, d.client), d.sentAt);
  return until === undefined || until < now;
}

export function tick(ctx: AsyncContext, state: AsyncState): AsyncState {
  if (state.status !== 'running' || state.failure !== null) return state;
  const now = ctx.io.now();
  let next = state;
  const expired: FailureSummary[] = [];
  for (const d of Object.values(state.outstanding).sort((a, b) => a.number - b.number)) {
    if (now >= d.deadline) {
      const timedOut = `dispatch ${d.number} (model version ${d.version}): no update within dispatchTimeoutMs (${ctx.plan.dispatchTimeoutMs} virtual ms); the slot is given to another client`;
      expired.push(
        wentOffline(ctx, d, now)
          ? { clientId: d.client, kind: 'fault', drop: 'offline', reason: `offline: its availability trace takes it offline before its update could come; ${timedOut}` }
          : { clientId: d.client, kind: 'fault', drop: 'fault', reason: timedOut },
      );
      next = withoutDispatch(next, d.number);
    } else next = { ...next, outstanding: { ...next.outstanding, [d.number]: sendFit(ctx, next, d) } };
  }
  if (expired.length > 0) next = { ...next, since: { ...next.since, failures: [...next.since.failures, ...expired] } };
  if (now - next.lastProgressAt >= ctx.plan.stallTimeoutMs) {
    return {
      ...next,
      failure: {
        kind: 'fault',
        round: next.version,
        detail: `no client update was accepted for ${now - next.lastProgressAt} virtual ms (stallTimeoutMs ${ctx.plan.stallTimeoutMs}) at model version ${next.version}: the clients are down, offline or every update is lost; check the fault plan and the devices' availability, or raise async.stallTimeoutMs`,
      },
    };
  }
  return fillSlots(ctx, next);
}
