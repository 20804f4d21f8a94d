/**
 * What the round engine's server does in a round, as functions from its context (and an
 * event) to a context patch; the chart (server-machine.ts) decides when each runs.
 *
 *   beginRound   the strategy may end the run here (stopBefore); else it picks the clients
 *                (a stream named after the round) and the FitIns config; the aggregator
 *                opens its session; the fits go out (none when it picked nobody)
 *   dispatch     every message while the round collects: the aggregator's inputs go to its
 *                session, an error reply to a fit records that client's refusal
 *   retryRound   every fitRetryMs: the aggregator re-sends what may be lost, and the fits
 *                of the clients still missing go again (they answer from storage)
 *   closeRound   at the deadline: the aggregator's closing phase
 *   commitRound  aggregate, validate, let the strategy step, and commit — or skip the round
 *                with the reason; the checkpoint is written in the same turn, then the
 *                strategy's notes about the round go to the log as marks
 *
 * Devices and round policies (round-policy.ts): with an availability trace the strategy
 * samples from the clients online at the round's start (devices/available-pool.ts), and a
 * round with too few of them online sends no fit and is skipped at its deadline; under
 * over-selection the strategy's pool selects ⌈f·K⌉ and the round completes with K updates;
 * under minParticipation a round with fewer updates is skipped. Every drop is reported
 * with its kind (drop-reasons.ts).
 */
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { ERROR_REPLY, type ErrorPayload } from '../../runtime/envelope.js';
import { sealedBytesDigest } from '../../runtime/canonical.js';
import { keepsState } from '../algorithms/client-algorithm.js';
import { FlConfigError, FlInvariantError, FlRefusal, MalformedMessageError, errorKindOf } from '../errors.js';
import { hold } from '../fedavg/held.js';
import { type Weights, allFinite, assertSameLayout } from '../models/weights.js';
import type { RoundFailure, RoundNotes, SkippedRound } from '../strategies/strategy.js';
import { compareIds } from '../strategies/strategy.js';
import { evaluateModel } from '../training/evaluate.js';
import type { RoundView } from './aggregator.js';
import { validateAggregate } from './commit-checks.js';
import { type FitConfig, FitResSchema, fitBytes, lossWithheld } from './fit.js';
import { FL, type RoundEnd, type RoundSummary, parseMessage, wireBytes } from './protocol.js';
import { aggregateOfNoOne } from './round-aggregate.js';
import { type ClientPool, hasSortedId, indexOfSortedId } from './client-pool.js';
import { availablePool } from '../devices/available-pool.js';
import { type DroppedClient, classifyDrops, countDrops } from './drop-reasons.js';
import { overSelectingPool } from './round-policy.js';
import { type EngineContext, type OpenRound, saveCheckpoint, where } from './server-context.js';
import { answerRunMessage } from './server-run-steps.js';

export function viewOf(ctx: EngineContext, open: OpenRound = ctx.open!): RoundView {
  return { io: ctx.io, round: open.round, selected: open.selected, weights: ctx.committed.weights.value, refused: open.refused };
}

/**
 * Sends the round's fit to `clients`; returns the fit ids with their clients. A stateful
 * algorithm's fit also tells each client the last round that included it (FitIns.includedRound).
 */
function sendFits(ctx: EngineContext, open: OpenRound, clients: readonly string[]): Record<string, string> {
  const weights = ctx.committed.weights.value;
  // Every fit carries these same arrays, which nothing writes to (a Held's value): hashed once here, not once per
  // fit when the event log digests each message.
  for (const layer of weights) sealedBytesDigest(layer);
  const bytes = fitBytes(weights, open.config);
  const fits = { ...open.fits };
  const confirms = keepsState(ctx.strategy.client);
  const lastIncluded = ctx.committed.lastIncluded.value;
  for (const client of clients) {
    const ins = { round: open.round, weights, config: open.config, ...(open.report ? { report: open.report } : {}), ...(confirms ? { includedRound: lastIncluded[client] ?? 0 } : {}) };
    fits[ctx.io.send(client, FL.fit, ins, { bytes })] = client;
  }
  return fits;
}

const strategyContext = (ctx: EngineContext, purpose: string, round: number, pool: ClientPool = ctx.pool) => ({
  rng: ctx.io.derivedRng(`${purpose}/round-${round}`),
  state: ctx.committed.state.value,
  weights: ctx.committed.weights.value,
  clients: ctx.clients,
  pool,
});

/**
 * The clients the round may select from: on devices, those online now (under an availability
 * trace) and not still training a fit an earlier round gave up on; else every client.
 */
function poolAt(ctx: EngineContext, now: number): ClientPool {
  if (!ctx.devices) return ctx.pool;
  const busy = new Set<number>();
  for (const [client, until] of Object.entries(ctx.working.value)) if (until > now) busy.add(indexOfSortedId(ctx.clients, client));
  return availablePool(ctx.clients, ctx.devices.availability, now, busy);
}

/** How long after it was given up on a client still counts as training (an update lost on the way never frees it). */
const WORKING_ROUND_DEADLINES = 10;

/**
 * The `working` map after a round that gave up on `dropped` at `now` (see server-context.ts):
 * over-selected and deadline drops go on training; offline ones lost their work.
 */
function stillWorking(ctx: EngineContext, dropped: readonly DroppedClient[], now: number): EngineContext['working'] {
  if (!ctx.devices) return ctx.working;
  const next: Record<string, number> = {};
  for (const [client, until] of Object.entries(ctx.working.value)) if (until > now) next[client] = until;
  for (const { clientId, drop } of dropped) {
    if (drop !== 'over-selected' && drop !== 'deadline') continue;
    const index = indexOfSortedId(ctx.clients, clientId);
    const offlineAt = ctx.devices.availability?.onlineUntil(index, now) ?? Infinity;
    const until = Math.min(offlineAt, now + WORKING_ROUND_DEADLINES * ctx.timing.roundDeadlineMs);
    if (until > now) next[clientId] = until;
  }
  return hold(next);
}

/** A message from a client the server counted as still working: it is free again. */
function freed(ctx: EngineContext, from: string): Partial<EngineContext> {
  if (ctx.working.value[from] === undefined) return {};
  const { [from]: _done, ...rest } = ctx.working.value;
  return { working: hold(rest) };
}

/** Why a round cannot start with `online` clients online, or undefined when it can. */
function tooFewOnline(ctx: EngineContext, online: number, now: number): string | undefined {
  const needed = ctx.policy?.minParticipation ?? 1;
  if (online >= needed) return undefined;
  const what = online === 0 ? 'no client was online' : `only ${online} client${online === 1 ? ' was' : 's were'} online`;
  return `${what} at the round's start (virtual ${now} ms)${needed > 1 ? `, fewer than roundPolicy.minParticipation ${needed}` : ''}; the round waited its deadline without sending a fit`;
}

export function beginRound(ctx: EngineContext): Partial<EngineContext> {
  const round = ctx.committed.round + 1;
  const now = ctx.io.now();
  let selected: string[];
  let config: FitConfig;
  let target: number | undefined;
  try {
    // The strategy may end the run here (a budget spent): complete, not failed; the stream is never drawn from.
    const stop = ctx.strategy.stopBefore?.(round, strategyContext(ctx, 'stop', round));
    if (stop !== undefined) return { stopped: { beforeRound: round, reason: stop } };
    const available = poolAt(ctx, now);
    const cannotStart = ctx.devices?.availability ? tooFewOnline(ctx, available.size, now) : undefined;
    if (cannotStart) {
      return { open: { round, selected: [], startedAt: now, config: { ...ctx.trainConfig } as FitConfig, session: hold(null), fits: {}, refused: {}, rejected: 0, closeUntil: null, skip: cannotStart, waitOut: true } };
    }
    const factor = ctx.policy?.overSelection ?? 1;
    // Raised to minParticipation only under a trace: without one the check before the run keeps K ≥ minParticipation.
    const minimum = ctx.devices?.availability ? (ctx.policy?.minParticipation ?? 1) : 1;
    const overSelecting = factor > 1 || minimum > 1 ? overSelectingPool(available, factor, minimum) : undefined;
    const plan = ctx.strategy.configure(round, ctx.clients, strategyContext(ctx, 'sampling', round, overSelecting ?? available));
    selected = [...plan.clients].sort(compareIds);
    if (overSelecting && factor > 1) {
      target = overSelecting.requested;
      // A strategy that picks its clients without its pool cannot be over-selected: say so rather than ignore the policy.
      if (target === undefined && selected.length > 0) {
        throw new FlConfigError(`strategy '${ctx.strategy.name}' chose its clients without sampling from the round's pool, so roundPolicy.overSelection ${factor} cannot apply; sample from ctx.pool in configure (as SamplingStrategy does) or drop overSelection`, { field: 'roundPolicy.overSelection', op: `${ctx.strategy.name}.configure` });
      }
    }
    // A plan that breaks configure's contract is a bug in the strategy (fedsim's or a plugged-in one), not bad input.
    const badPlan = (what: string) =>
      new FlInvariantError(`server '${ctx.io.id}' (round ${round}): strategy '${ctx.strategy.name}' ${what}; configure must return one or more distinct clients from those it is given`, {
        actor: ctx.io.id,
        round,
        op: `${ctx.strategy.name}.configure`,
        field: 'clients',
      });
    const unknown = selected.filter((c) => !hasSortedId(ctx.clients, c));
    if (unknown.length > 0) throw badPlan(`selected unknown clients [${unknown.join(', ')}]`);
    if (new Set(selected).size !== selected.length) throw badPlan(`selected a client twice [${selected.join(', ')}]`);
    if (selected.length === 0 && !ctx.strategy.acceptsEmptyRounds) throw badPlan('selected no client');
    config = { ...ctx.trainConfig, ...plan.config } as FitConfig;
  } catch (error) {
    return { failure: { kind: errorKindOf(error), round, detail: `${ctx.strategy.name}.configure failed in round ${round}: ${(error as Error).message}` } };
  }
  const empty: OpenRound = { round, selected, startedAt: now, config, session: hold(null), fits: {}, refused: {}, rejected: 0, closeUntil: null, ...(target !== undefined ? { target } : {}) };
  // Nobody selected (a strategy that accepts it): nothing to collect, so no aggregator round either.
  if (selected.length === 0) return { open: { ...empty, empty: true } };
  const opened = ctx.aggregator.open(viewOf(ctx, empty));
  const open: OpenRound = { ...empty, session: hold(opened.session), ...(opened.report ? { report: opened.report } : {}), ...(opened.skip ? { skip: opened.skip } : {}) };
  if (opened.skip) return { open };
  return { open: { ...open, fits: sendFits(ctx, open, selected) } };
}

/** A message while the round collects or closes. */
export function dispatch(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  if (!event.envelope) return {}; // a timer whose transition was guarded off bubbles up here: not a message
  const free = freed(ctx, event.envelope.from);
  return { ...free, ...dispatchMessage({ ...ctx, ...free }, event) };
}

function dispatchMessage(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  const open = ctx.open!;
  const { envelope } = event;
  if (event.type === FL.run || event.type === FL.runAck) return answerRunMessage(ctx, event);
  if (open.skip !== undefined) return answerOther(ctx, event); // a round waiting out its deadline collects nothing
  if (event.type === ERROR_REPLY && envelope.inReplyTo !== undefined && open.fits[envelope.inReplyTo] !== undefined) {
    return refusal(ctx, open, open.fits[envelope.inReplyTo], event.payload as ErrorPayload);
  }
  if (event.type === ERROR_REPLY || ctx.aggregator.serverMessages.includes(event.type)) {
    try {
      const session = ctx.aggregator.receive(open.session.value, event, viewOf(ctx));
      if (session === open.session.value) return {};
      const first = open.firstUpdateAt === undefined && (ctx.aggregator.received?.(session) ?? 0) > 0;
      return { open: { ...open, session: hold(session), ...(first ? { firstUpdateAt: ctx.io.now() } : {}) } };
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      ctx.io.replyError(envelope, error);
      return { open: { ...open, rejected: open.rejected + 1 } };
    }
  }
  return answerOther(ctx, event);
}

/** A message the current phase does not take. */
export function answerOther(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  // A delayed event whose `after` transition was guarded off (the result's retry once acknowledged) bubbles up to
  // the chart's catch-all: it is not a message, and there is nobody to answer.
  if (!event.envelope) return {};
  const free = freed(ctx, event.envelope.from);
  return { ...free, ...answerMessage({ ...ctx, ...free }, event) };
}

function answerMessage(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  const { envelope } = event;
  if (event.type === FL.run || event.type === FL.runAck) return answerRunMessage(ctx, event);
  if (event.type === ERROR_REPLY) return {};
  const round = ctx.open?.round ?? ctx.committed.round;
  // An update is answered even when it is a reply (plain clients reply to the fit), so a late client learns why it
  // was not counted; other replies and notices need no answer.
  const update = event.type === FL.fitResult || (envelope.inReplyTo === undefined && ctx.aggregator.serverMessages.includes(event.type));
  if (!update && envelope.inReplyTo !== undefined) return {};
  if (update) {
    // A malformed update is an error whenever it comes; a well-formed one outside a collecting round is too late (or too early).
    if (event.type === FL.fitResult) {
      try {
        parseMessage(FitResSchema, event.payload, event.type, envelope.from, where(ctx));
      } catch (error) {
        ctx.io.replyError(envelope, error);
        return {};
      }
    }
    const claimed = (event.payload as { round?: unknown } | null)?.round;
    ctx.io.reply(envelope, FL.updateRejected, { round: typeof claimed === 'number' ? claimed : round, currentRound: round, reason: ctx.open && event.type === FL.fitResult ? 'wrong-receiver' : 'not-collecting' });
    return ctx.open ? { open: { ...ctx.open, rejected: ctx.open.rejected + 1 } } : {};
  }
  ctx.io.replyError(envelope, new MalformedMessageError(`${where(ctx)} does not take '${event.type}' messages (it takes ${FL.run}, ${FL.runAck} and its aggregator's: ${[...ctx.aggregator.serverMessages].join(', ')})`, { type: event.type }));
  return {};
}

function refusal(ctx: EngineContext, open: OpenRound, client: string, error: ErrorPayload): Partial<EngineContext> {
  if (open.refused[client]) return {};
  const failure: RoundFailure = { clientId: client, kind: errorKindOf(error), reason: `${error.name}: ${error.message}` };
  const next: Partial<EngineContext> = { open: { ...open, refused: { ...open.refused, [client]: failure } } };
  // A model that does not fit a client's data will not fit it next round either: stop now, saying who and why.
  if (error.name === 'IncompatibleModelError') {
    next.failure = { kind: 'refusal', round: open.round, client, detail: `client '${client}' refused round ${open.round}: ${error.message}` };
  }
  return next;
}

export function retryRound(ctx: EngineContext): Partial<EngineContext> {
  const open = ctx.open!;
  if (open.skip !== undefined) return {};
  const { session, refit } = ctx.aggregator.retry(open.session.value, viewOf(ctx));
  const next: OpenRound = { ...open, session: hold(session) };
  return { open: refit.length > 0 ? { ...next, fits: sendFits(ctx, next, refit) } : next };
}

export function closeRound(ctx: EngineContext): Partial<EngineContext> {
  const open = ctx.open!;
  if (open.skip !== undefined) return { open: { ...open, closeUntil: ctx.io.now(), deadlineClosed: true } };
  const { session, waitMs } = ctx.aggregator.close(open.session.value, viewOf(ctx));
  return { open: { ...open, session: hold(session), closeUntil: ctx.io.now() + waitMs, deadlineClosed: true } };
}

/** Retries the closing phase's messages (the aggregator's retry) while it waits. */
export function retryClose(ctx: EngineContext): Partial<EngineContext> {
  const open = ctx.open!;
  if (open.skip !== undefined) return {};
  const { session } = ctx.aggregator.retry(open.session.value, viewOf(ctx));
  return { open: { ...open, session: hold(session) } };
}

export const roundComplete = (ctx: EngineContext) => ctx.open !== null && !ctx.open.skip && (targetMet(ctx, ctx.open) || ctx.aggregator.complete(ctx.open.session.value, viewOf(ctx)));

/** An over-selected round has the K updates it wanted (round-policy.ts). */
function targetMet(ctx: EngineContext, open: OpenRound): boolean {
  return open.target !== undefined && ctx.aggregator.received !== undefined && !open.skip && !open.empty && ctx.aggregator.received(open.session.value) >= open.target;
}

/** Whether `client` was online from `from` to `to` by the run's availability trace. */
function onlineThroughout(ctx: EngineContext, client: string, from: number, to: number): boolean {
  const availability = ctx.devices!.availability!;
  const index = indexOfSortedId(ctx.clients, client);
  if (index < 0) return true;
  const until = availability.onlineUntil(index, from);
  return until !== undefined && until >= to;
}
export const closeExpired = (ctx: EngineContext) => ctx.open?.closeUntil !== null && ctx.open?.closeUntil !== undefined && ctx.io.now() >= ctx.open.closeUntil;
// The closing phase is still the round: its messages (a helper's close) are re-sent as often as the round's fits.
export const closeRetryMs = (ctx: EngineContext) => Math.max(0, Math.min(ctx.timing.fitRetryMs, (ctx.open?.closeUntil ?? 0) - ctx.io.now()));

/**
 * A skipped round's reason, with what the clients that refused said: a round every client
 * refused (a learning rate that diverges, data the model cannot take) is not "no update
 * arrived", and the fix is in the clients' reason, not in the deadline.
 */
export function withRefusals(reason: string, failures: readonly RoundFailure[], selected: number): string {
  const refusals = failures.filter((f) => f.kind === 'refusal');
  if (refusals.length === 0) return reason;
  const [first] = refusals;
  const same = refusals.filter((f) => f.reason.split(first.clientId).join('') === first.reason.split(first.clientId).join('')).length;
  const more = refusals.length - 1;
  const others = more === 0 ? '' : same === refusals.length ? ` (${more} more with the same reason)` : ` (${more} more: ${refusals.slice(1, 4).map((f) => f.clientId).join(', ')}${more > 3 ? ', …' : ''})`;
  const told = `${first.clientId}: ${first.reason}${others}`;
  // When every client refused, that is the whole story (the aggregator's "nothing arrived" would send the user to the deadline).
  if (refusals.length === selected) return `no update to aggregate: every selected client refused (${selected} of ${selected}): ${told}`;
  return `${reason}; ${refusals.length} of ${selected} selected clients refused: ${told}`;
}

/**
 * Aggregates, validates and commits the round (or skips it, saying why), then reports it.
 *
 * What the strategy's own aggregate throws is a skipped round (Krum with too few updates); what
 * throws anywhere else here (a strategy's afterSkip or evaluate, an aggregator) would throw
 * again at every retry of the round, so the round would never end: the run fails instead,
 * saying where, and nothing of the round is committed.
 */
export function commitRound(ctx: EngineContext): Partial<EngineContext> {
  try {
    return commitOrSkip(ctx);
  } catch (error) {
    const round = ctx.open!.round;
    return { open: null, failure: { kind: errorKindOf(error), round, detail: `round ${round} could not be committed or skipped: ${(error as Error).message}` } };
  }
}

function commitOrSkip(ctx: EngineContext): Partial<EngineContext> {
  const open = ctx.open!;
  const view = viewOf(ctx);
  const current = ctx.committed.weights.value;
  const collected = !open.skip && !open.empty;
  const endedAt = ctx.io.now();
  const missing = collected ? ctx.aggregator.missing(open.session.value, view) : [];
  const failures: DroppedClient[] = classifyDrops(missing, {
    targetMet: targetMet(ctx, open),
    deadlineClosed: open.deadlineClosed === true,
    ...(ctx.devices?.availability ? { onlineThroughout: (client: string) => onlineThroughout(ctx, client, open.startedAt, endedAt) } : {}),
    ...(open.target !== undefined ? { target: open.target } : {}),
  });
  const minParticipation = ctx.policy?.minParticipation;
  let skipped = open.skip;
  let weights: Weights = current;
  let state = ctx.committed.state;
  let notes: RoundNotes | undefined;
  let participants: string[] = [];
  let trainLoss = NaN;
  let numSamples = 0;
  // A secure sum of self-noised inputs that may have been unmasked even though the round is skipped (distributed DP accounts it).
  let secureSum: SkippedRound['secureSum'];
  if (!skipped) {
    const outcome = open.empty
      ? { aggregate: aggregateOfNoOne(open.round, current, ctx.strategy.client.reports) }
      : ctx.aggregator.aggregate(open.round, open.session.value, failures, { rng: ctx.io.derivedRng(`aggregator/round-${open.round}`), view });
    if ('skip' in outcome) {
      skipped = outcome.skip;
      secureSum = outcome.secureSum;
    } else {
      if (outcome.aggregate.secureSum) secureSum = { participants: outcome.aggregate.secureSum.participants, minSurvivors: outcome.aggregate.contributors.length };
      // The aggregate of nobody is the engine's own (validation would refuse it for having no contributor).
      const problem = open.empty
        ? undefined
        : validateAggregate(outcome.aggregate, { selected: open.selected, layout: current, maxSamplesPerClient: ctx.maxSamplesPerClient, revealsIndividuals: ctx.aggregator.reveals === 'individual' });
      if (problem) skipped = `the aggregate failed validation, so the round was not committed: ${problem}`;
      else if (!open.empty && minParticipation !== undefined && outcome.aggregate.contributors.length < minParticipation) {
        const n = outcome.aggregate.contributors.length;
        skipped = `only ${n} update${n === 1 ? '' : 's'} of ${open.selected.length} selected clients arrived, fewer than roundPolicy.minParticipation ${minParticipation}`;
      } else {
        participants = outcome.aggregate.contributors;
        // Clients that withhold their training loss report 0: the round's loss is not known.
        trainLoss = lossWithheld(ctx.strategy.client.reports, ctx.trainConfig) ? NaN : outcome.aggregate.loss;
        numSamples = outcome.aggregate.numSamples;
        try {
          const step = ctx.strategy.aggregate(open.round, outcome.aggregate, failures, strategyContext(ctx, 'aggregate', open.round));
          assertSameLayout(current, step.weights, `${ctx.strategy.name}.aggregate`);
          if (!allFinite(step.weights)) {
            throw new FlRefusal(`${where(ctx)}: the new model contains NaN or Infinity (training diverged: lower the learning rate)`, { actor: ctx.io.id, round: open.round, op: `${ctx.strategy.name}.aggregate` });
          }
          weights = step.weights;
          state = hold(step.state);
          notes = step.notes;
        } catch (error) {
          // A round that cannot be aggregated (Krum with too few updates, a diverged model) keeps the old model and state.
          skipped = `${ctx.strategy.name}.aggregate failed: ${(error as Error).message}`;
        }
      }
    }
    if (skipped) {
      participants = [];
      trainLoss = NaN;
      numSamples = 0;
      skipped = withRefusals(skipped, failures, open.selected.length);
    }
  }
  if (skipped) ({ state, notes } = afterSkip(ctx, open, skipped, secureSum));
  const report: RoundEnd = {
    round: open.round,
    startedAt: open.startedAt,
    endedAt,
    selected: open.selected,
    participants,
    dropped: open.selected.filter((c) => !participants.includes(c)),
    failures,
    finished: collected ? open.selected.length - missing.length : 0,
    drops: countDrops(failures),
    ...(collected && ctx.aggregator.received ? { stragglerWaitMs: endedAt - (open.firstUpdateAt ?? open.startedAt) } : {}),
    rejectedUpdates: open.rejected + (collected ? ctx.aggregator.rejected(open.session.value) : 0),
    trainLoss,
    numSamples,
    weights,
    ...(skipped ? { skipped } : {}),
    ...(notes ? { notes } : {}),
  };
  const central = evaluateCentrally(ctx, weights, open.round);
  if (central) report.central = central;
  const { weights: _model, ...summary } = report;
  const committed = {
    round: open.round,
    weights: weights === current ? ctx.committed.weights : hold(weights),
    state,
    history: hold<RoundSummary[]>([...ctx.committed.history.value, summary]),
    // Exactly the clients whose report the strategy stepped on (none for a skipped round): their new client state counts.
    // Kept only for an algorithm with client state (only its fits carry includedRound): the copy grows with every client
    // ever included, which in a population of a million would make each round cost more than the last.
    lastIncluded:
      participants.length === 0 || !keepsState(ctx.strategy.client)
        ? ctx.committed.lastIncluded
        : hold({ ...ctx.committed.lastIncluded.value, ...Object.fromEntries(participants.map((c) => [c, open.round])) }),
  };
  const next = { ...ctx, committed, open: null };
  saveCheckpoint(next);
  // Marks are written at once and never taken back: only now that the round is checkpointed (sorted labels: a fixed order).
  for (const label of Object.keys(notes ?? {}).sort()) ctx.io.mark?.(label, { round: open.round, ...notes![label] });
  if (ctx.run) ctx.io.send(ctx.run.requester, FL.roundEnd, report, { bytes: wireBytes(weights) });
  return { committed, open: null, working: stillWorking(ctx, failures, endedAt) };
}

/** The state and notes a skipped round leaves: the strategy's afterSkip, else the state as it was. */
function afterSkip(ctx: EngineContext, open: OpenRound, reason: string, secureSum?: SkippedRound['secureSum']): { state: EngineContext['committed']['state']; notes?: RoundNotes } {
  if (!ctx.strategy.afterSkip) return { state: ctx.committed.state };
  const after = ctx.strategy.afterSkip(open.round, { selected: open.selected, reason, ...(secureSum ? { secureSum } : {}) }, strategyContext(ctx, 'skip', open.round));
  return { state: hold(after.state), ...(after.notes ? { notes: after.notes } : {}) };
}

function evaluateCentrally(ctx: EngineContext, weights: Weights, round: number): RoundEnd['central'] {
  const byStrategy = ctx.strategy.evaluate?.(round, weights);
  if (byStrategy) return byStrategy;
  if (!ctx.testSet) return undefined;
  const result = evaluateModel(ctx.workspace.withWeights(ctx.spec, weights), ctx.testSet.value);
  return result.accuracy === undefined ? { loss: result.loss } : { loss: result.loss, accuracy: result.accuracy };
}
