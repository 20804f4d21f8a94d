/**
 * What the FedAvg server does at each step of a round, as functions from its
 * context (and the event) to a context patch. Effects go through `io`, whose sends
 * are delivered only if the turn succeeds. The state machine (server.ts) decides
 * when each step runs.
 */
import type { ActorIO, ActorMessage } from '../../runtime/actor-cell.js';
import type { Envelope } from '../../runtime/envelope.js';
import type { ModelSpec } from '../models/spec.js';
import { type Weights, assertSameLayout, allFinite } from '../models/weights.js';
import { meanLoss } from '../strategies/aggregate.js';
import { type ClientUpdate, type Strategy, compareIds } from '../strategies/strategy.js';
import type { Dataset } from '../training/dataset.js';
import { evaluateModel } from '../training/evaluate.js';
import type { TrainConfig } from '../training/train-local.js';
import {
  FL,
  type FitMessage,
  FitResultSchema,
  type RejectionReason,
  type RoundEnd,
  type RoundSummary,
  type RunResult,
  SecureAggregateSchema,
  type SecureAggregate,
  parseMessage,
  wireBytes,
} from './messages.js';
import { type Held, hold } from './held.js';
import { type SecureRoundsInput, type SecureRoundsState, initialSecureRoundsState, planSecureFit } from './secure-rounds.js';
import type { ModelWorkspace } from './workspace.js';

/** Who sees the updates: the server ('plain'), a trusted secure worker, the clients' additive shares, or SecAgg+. */
export type Aggregation = 'plain' | 'secure-worker' | 'additive' | 'secagg+';

export interface ServerInput extends SecureRoundsInput {
  io: ActorIO;
  /** Ids of the client actors, in any order. */
  clients: string[];
  strategy: Strategy;
  rounds: number;
  spec: ModelSpec;
  initialWeights: Held<Weights>;
  /** Base training settings; the strategy's fit config is laid over them each round. */
  trainConfig: TrainConfig;
  /** Virtual ms after sending the fits at which the round closes without the stragglers. */
  roundDeadlineMs: number;
  aggregation: Aggregation;
  /** Id of the secure worker (aggregation 'secure-worker'). */
  secureWorker?: string;
  /** How long to wait for the secure worker's aggregate after the deadline (default: one deadline). */
  secureCloseTimeoutMs?: number;
  /** Central test set evaluated after each round (unless the strategy evaluates); boxed, see held.ts. */
  testSet?: Held<Dataset>;
  workspace: ModelWorkspace;
}

export interface ServerContext extends ServerInput, SecureRoundsState {
  round: number;
  /** The global model (boxed, like every big value in context: see held.ts). */
  weights: Held<Weights>;
  /** The fl/run request, answered when the run ends. */
  requester: Envelope | null;
  startedAt: number;
  selected: string[];
  /** Accepted updates of the current round, by client id. */
  results: Record<string, Held<ClientUpdate>>;
  secure: Held<SecureAggregate> | null;
  rejected: number;
  outcome: RoundOutcome | null;
  /** The reports of the rounds so far, without their models. */
  history: Held<RoundSummary[]>;
  /** Set when the run cannot go on; the machine then fails the fl/run request. */
  failure: string | null;
}

export function initialContext(input: ServerInput): ServerContext {
  return { ...input, ...initialSecureRoundsState(), round: 0, weights: input.initialWeights, requester: null, startedAt: 0, selected: [], results: {}, secure: null, rejected: 0, outcome: null, history: hold([]), failure: null };
}

const where = (ctx: ServerContext) => `server '${ctx.io.id}' (round ${ctx.round})`;

/** Samples the round's clients and sends them the global model. */
export function beginRound(ctx: ServerContext): Partial<ServerContext> {
  const round = ctx.round + 1;
  let clients: string[];
  let config: TrainConfig;
  try {
    const plan = ctx.strategy.configureFit(round, ctx.clients, ctx.io.rng('sampling'));
    clients = [...plan.clients].sort(compareIds);
    const unknown = clients.filter((c) => !ctx.clients.includes(c));
    if (unknown.length > 0) throw new Error(`the strategy selected unknown clients ${unknown.join(', ')}`);
    config = { ...ctx.trainConfig, ...plan.config };
  } catch (error) {
    return { round, failure: `${ctx.strategy.name}.configureFit failed in round ${round}: ${(error as Error).message}` };
  }
  const fresh = { round, selected: clients, results: {}, secure: null, rejected: 0, startedAt: ctx.io.now(), ...initialSecureRoundsState() };
  // 'additive' and 'secagg+' tell each client how to report (or end the round now if they cannot run).
  const secure = planSecureFit(ctx, round, clients);
  if (secure.skip) return { ...fresh, secure: hold(secure.skip) };
  const reportTo = ctx.aggregation === 'secure-worker' ? ctx.secureWorker : undefined;
  if (reportTo) ctx.io.send(reportTo, FL.secureRound, { round, clients });
  const weights = ctx.weights.value;
  const bytes = wireBytes(weights);
  for (const client of clients) {
    const fit: FitMessage = { round, weights, config, ...(reportTo ? { reportTo } : {}), ...(secure.field ? { secure: secure.field } : {}) };
    ctx.io.send(client, FL.fit, fit, { bytes });
  }
  return fresh;
}

/** Answers an update the round cannot take (as a reply, so a requester awaiting it learns why). */
function reject(ctx: ServerContext, envelope: Envelope, round: number, reason: RejectionReason): Partial<ServerContext> {
  ctx.io.reply(envelope, FL.updateRejected, { round, currentRound: ctx.round, reason });
  return { rejected: ctx.rejected + 1 };
}

/** A client's fit result while the round is open (plain aggregation). */
export function receiveUpdate(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  const { envelope } = event;
  let result;
  try {
    result = parseMessage(FitResultSchema, event.payload, FL.fitResult, envelope.from, where(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  const from = envelope.from;
  if (ctx.aggregation === 'secure-worker') return reject(ctx, envelope, result.round, 'use-secure-worker');
  if (ctx.aggregation !== 'plain') return reject(ctx, envelope, result.round, 'use-secure-aggregation');
  if (result.round < ctx.round) return reject(ctx, envelope, result.round, 'stale-round');
  if (result.round > ctx.round) return reject(ctx, envelope, result.round, 'future-round');
  if (!ctx.selected.includes(from)) return reject(ctx, envelope, result.round, 'not-selected');
  if (ctx.results[from]) return reject(ctx, envelope, result.round, 'duplicate');
  try {
    assertSameLayout(ctx.weights.value, result.weights, `${where(ctx)}: the update from '${from}'`);
  } catch {
    return reject(ctx, envelope, result.round, 'bad-layout');
  }
  const update: ClientUpdate = { clientId: from, weights: result.weights, numSamples: result.numSamples, loss: result.loss };
  return { results: { ...ctx.results, [from]: hold(update) } };
}

/** A fit result outside a training phase: always too late (or too early). */
export function rejectUpdate(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  let result;
  try {
    result = parseMessage(FitResultSchema, event.payload, FL.fitResult, event.envelope.from, where(ctx));
  } catch (error) {
    ctx.io.replyError(event.envelope, error);
    return {};
  }
  return reject(ctx, event.envelope, result.round, 'not-training');
}

/** The secure worker's aggregate for the current round (true when accepted). */
export function receiveSecureAggregate(ctx: ServerContext, event: ActorMessage): Partial<ServerContext> {
  const { envelope } = event;
  if (envelope.from !== ctx.secureWorker) {
    ctx.io.replyError(envelope, new Error(`${where(ctx)}: only the secure worker '${ctx.secureWorker}' may send '${FL.secureAggregate}', not '${envelope.from}'`));
    return {};
  }
  let aggregate: SecureAggregate;
  try {
    aggregate = parseMessage(SecureAggregateSchema, event.payload, FL.secureAggregate, envelope.from, where(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  if (aggregate.round !== ctx.round || ctx.secure) return {};
  return { secure: hold(aggregate) };
}

export const allReported = (ctx: ServerContext) => ctx.selected.length > 0 && ctx.selected.every((c) => ctx.results[c] !== undefined);

/** The round's updates: the clients' own, or the secure worker's average standing in for them. */
function roundUpdates(ctx: ServerContext): { updates: ClientUpdate[]; participants: string[]; rejected: number; skipped?: string } {
  if (ctx.aggregation === 'plain') {
    const updates = Object.values(ctx.results)
      .map((h) => h.value)
      .sort((a, b) => compareIds(a.clientId, b.clientId));
    return { updates, participants: updates.map((u) => u.clientId), rejected: 0 };
  }
  const s = ctx.secure?.value;
  if (!s) return { updates: [], participants: [], rejected: 0, skipped: `no aggregate from the secure worker '${ctx.secureWorker}'` };
  const participants = [...s.contributors].sort(compareIds);
  if (!s.weights) return { updates: [], participants: [], rejected: s.rejected, skipped: s.skipped ?? `the secure worker withheld the average of ${participants.length} update(s): too few to hide each one` };
  return { updates: [{ clientId: ctx.secureWorker ?? `${ctx.aggregation} aggregate`, weights: s.weights, numSamples: s.numSamples, loss: s.loss }], participants, rejected: s.rejected };
}

/** The aggregation's outcome, kept between the aggregating and evaluating states. */
export interface RoundOutcome {
  participants: string[];
  rejected: number;
  trainLoss: number;
  numSamples: number;
  skipped?: string;
}

/** Aggregates the round's updates into the next global model (or keeps the old one, saying why). */
export function aggregateRound(ctx: ServerContext): Partial<ServerContext> {
  const { updates, participants, rejected, skipped: noUpdates } = roundUpdates(ctx);
  let weights = ctx.weights.value;
  let skipped = noUpdates ?? (updates.length === 0 ? 'no client update arrived before the deadline' : undefined);
  if (!skipped) {
    try {
      const next = ctx.strategy.aggregateFit(ctx.round, updates, weights);
      assertSameLayout(weights, next, `${ctx.strategy.name}.aggregateFit`);
      if (!allFinite(next)) throw new Error('the aggregate contains NaN or Infinity (diverged: lower the learning rate)');
      weights = next;
    } catch (error) {
      // A round that cannot be aggregated (e.g. Krum with too few updates) keeps the old model; the run goes on.
      skipped = `${ctx.strategy.name}.aggregateFit failed: ${(error as Error).message}`;
    }
  }
  const outcome: RoundOutcome = {
    participants,
    rejected: ctx.rejected + rejected,
    trainLoss: updates.length > 0 ? meanLoss(updates) : NaN,
    numSamples: updates.reduce((n, u) => n + u.numSamples, 0),
    ...(skipped ? { skipped } : {}),
  };
  return { weights: weights === ctx.weights.value ? ctx.weights : hold(weights), outcome, results: {}, secure: null };
}

/** Evaluates the new global model and reports the round to whoever started the run. */
export function reportRound(ctx: ServerContext): Partial<ServerContext> {
  const outcome = ctx.outcome!;
  const report: RoundEnd = {
    round: ctx.round,
    startedAt: ctx.startedAt,
    endedAt: ctx.io.now(),
    selected: ctx.selected,
    participants: outcome.participants,
    dropped: ctx.selected.filter((c) => !outcome.participants.includes(c)),
    rejectedUpdates: outcome.rejected,
    trainLoss: outcome.trainLoss,
    numSamples: outcome.numSamples,
    weights: ctx.weights.value,
    ...(outcome.skipped ? { skipped: outcome.skipped } : {}),
  };
  const central = evaluateCentrally(ctx, ctx.weights.value);
  if (central) report.central = central;
  if (ctx.requester) ctx.io.send(ctx.requester.from, FL.roundEnd, report);
  const { weights: _model, ...summary } = report;
  return { outcome: null, history: hold([...ctx.history.value, summary]) };
}

function evaluateCentrally(ctx: ServerContext, weights: Weights): RoundEnd['central'] {
  const byStrategy = ctx.strategy.evaluate?.(ctx.round, weights);
  if (byStrategy) return byStrategy;
  if (!ctx.testSet) return undefined;
  const result = evaluateModel(ctx.workspace.withWeights(ctx.spec, weights), ctx.testSet.value);
  return result.accuracy === undefined ? { loss: result.loss } : { loss: result.loss, accuracy: result.accuracy };
}

export function answerRun(ctx: ServerContext): void {
  if (!ctx.requester) return;
  const result: RunResult = { rounds: ctx.round, weights: ctx.weights.value, history: ctx.history.value };
  ctx.io.reply(ctx.requester, FL.runResult, result, { bytes: wireBytes(result.weights) });
}

export function failRun(ctx: ServerContext): void {
  if (!ctx.requester) return;
  const error = new Error(`${where(ctx)}: the federated run stopped: ${ctx.failure}`);
  error.name = 'FederatedRunError';
  ctx.io.replyError(ctx.requester, error);
}
