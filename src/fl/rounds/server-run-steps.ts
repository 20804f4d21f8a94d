/**
 * The run-level half of the round engine's protocol: starting a run, answering its
 * repeats, and delivering its result reliably.
 *
 *   fl/run {runId}     idle: start the run and answer fl/run-accepted. Later, for the same
 *                      runId (a retry, a duplicate): accepted again while it runs, answered with
 *                      the result (fl/run-result as the reply) once it is over. Another runId:
 *                      a refusal naming the run under way.
 *   fl/run-result      sent when the run ends, then again every controlRetryMs until the
 *                      requester sends fl/run-ack (at most controlAttempts times), so a lost
 *                      last message cannot leave the requester waiting for ever.
 */
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { FlRefusal } from '../errors.js';
import { FL, type RunOutcome, RunAckSchema, RunMessageSchema, parseMessage, wireBytes } from './protocol.js';
import { type EngineContext, saveCheckpoint, where } from './server-context.js';

/** fl/run while idle: the run starts. */
export function acceptRun(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  const { envelope } = event;
  let runId: string;
  try {
    ({ runId } = parseMessage(RunMessageSchema, event.payload, FL.run, envelope.from, where(ctx)));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  const next: EngineContext = { ...ctx, status: 'running', run: { runId, requester: envelope.from } };
  saveCheckpoint(next);
  ctx.io.reply(envelope, FL.runAccepted, { runId });
  return { status: next.status, run: next.run };
}

export const isRunRequest = (ctx: EngineContext, event: ActorMessage) => event.type === FL.run && RunMessageSchema.safeParse(event.payload).success && ctx.status === 'idle';

/** fl/run or fl/run-ack once a run exists. */
export function answerRunMessage(ctx: EngineContext, event: ActorMessage): Partial<EngineContext> {
  const { envelope } = event;
  const schema = event.type === FL.run ? RunMessageSchema : RunAckSchema;
  let runId: string;
  try {
    ({ runId } = parseMessage(schema, event.payload, event.type, envelope.from, where(ctx)));
  } catch (error) {
    if (envelope.inReplyTo === undefined) ctx.io.replyError(envelope, error);
    return {};
  }
  if (!ctx.run || runId !== ctx.run.runId) {
    if (event.type === FL.runAck) return {};
    ctx.io.replyError(
      envelope,
      new FlRefusal(
        `${where(ctx)}: run '${runId}' cannot start: this server ${ctx.run ? `already runs '${ctx.run.runId}' (started by '${ctx.run.requester}')` : 'has no run'}; spawn a new server for another run`,
        { actor: ctx.io.id, op: event.type },
      ),
    );
    return {};
  }
  if (event.type === FL.runAck) {
    if (ctx.acked || (ctx.status !== 'done' && ctx.status !== 'failed')) return {};
    const next = { ...ctx, acked: true };
    saveCheckpoint(next);
    return { acked: true };
  }
  if (ctx.status === 'running') {
    ctx.io.reply(envelope, FL.runAccepted, { runId });
    return {};
  }
  // Over: the requester asks again, so it has not got the result. Answer the request with it (and expect an ack again).
  const outcome = outcomeOf(ctx);
  ctx.io.reply(envelope, FL.runResult, outcome, { bytes: wireBytes(outcome.weights) });
  return { acked: false };
}

export function outcomeOf(ctx: EngineContext): RunOutcome {
  return {
    runId: ctx.run!.runId,
    rounds: ctx.committed.round,
    weights: ctx.committed.weights.value,
    history: ctx.committed.history.value,
    ...(ctx.failure ? { failure: ctx.failure } : {}),
    ...(ctx.stopped ? { stopped: ctx.stopped } : {}),
  };
}

function sendOutcome(ctx: EngineContext): void {
  const outcome = outcomeOf(ctx);
  ctx.io.send(ctx.run!.requester, FL.runResult, outcome, { bytes: wireBytes(outcome.weights) });
}

/** The run is over (all rounds, stopped by the strategy, or by a failure): checkpoint it and send the result. */
export function finishRun(ctx: EngineContext): Partial<EngineContext> {
  const status = ctx.failure ? 'failed' : 'done';
  const next: EngineContext = { ...ctx, status, open: null };
  saveCheckpoint(next);
  if (!ctx.run || ctx.acked) return { status, open: null };
  sendOutcome(next);
  return { status, open: null, resultSends: 1 };
}

/** Retry timer of the result: another copy, unless acknowledged or out of attempts. */
export function resendResult(ctx: EngineContext): Partial<EngineContext> {
  if (!ctx.run || ctx.acked || ctx.resultSends >= ctx.timing.controlAttempts) return {};
  sendOutcome(ctx);
  return { resultSends: ctx.resultSends + 1 };
}

export const awaitingAck = (ctx: EngineContext) => ctx.run !== null && !ctx.acked && ctx.resultSends < ctx.timing.controlAttempts;
