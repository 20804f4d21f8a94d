/**
 * The run-level protocol of the asynchronous server, the same messages as the round
 * engine's (rounds/server-run-steps.ts) over the async server's own state:
 *
 *   fl/run {runId}   idle: the run starts (fl/run-accepted). Later, the same runId: accepted
 *                    again while it runs, answered with the result once it is over; another
 *                    runId: refused, naming the run under way
 *   fl/run-result    sent when the run ends, again every controlRetryMs until fl/run-ack
 *                    (at most controlAttempts times)
 *   any other message the current phase does not take: an update is refused with
 *                    fl/update-rejected (not-collecting), anything else gets an error reply
 */
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { ERROR_REPLY } from '../../runtime/envelope.js';
import { FlRefusal, MalformedMessageError } from '../errors.js';
import { FitResSchema } from '../rounds/fit.js';
import { FL, type RunOutcome, RunAckSchema, RunMessageSchema, parseMessage, wireBytes } from '../rounds/protocol.js';
import { type AsyncContext, type AsyncState, whereAsync } from './async-context.js';

export const isAsyncRunRequest = (state: AsyncState, event: ActorMessage) => event.type === FL.run && state.status === 'idle' && RunMessageSchema.safeParse(event.payload).success;

export function acceptAsyncRun(ctx: AsyncContext, state: AsyncState, event: ActorMessage): AsyncState {
  const { runId } = RunMessageSchema.parse(event.payload);
  const now = ctx.io.now();
  ctx.io.reply(event.envelope, FL.runAccepted, { runId });
  return { ...state, status: 'running', run: { runId, requester: event.envelope.from }, lastProgressAt: now, since: { ...state.since, startedAt: now } };
}

export function asyncOutcome(state: AsyncState): RunOutcome {
  return { runId: state.run!.runId, rounds: state.version, weights: state.weights, history: state.history, ...(state.failure ? { failure: state.failure } : {}) };
}

/** fl/run or fl/run-ack once a run exists; returns the next state. */
function answerRunMessage(ctx: AsyncContext, state: AsyncState, event: ActorMessage): AsyncState {
  const { envelope } = event;
  let runId: string;
  try {
    ({ runId } = parseMessage(event.type === FL.run ? RunMessageSchema : RunAckSchema, event.payload, event.type, envelope.from, whereAsync(ctx)));
  } catch (error) {
    if (envelope.inReplyTo === undefined) ctx.io.replyError(envelope, error);
    return state;
  }
  if (!state.run || runId !== state.run.runId) {
    if (event.type === FL.run) {
      const why = state.run ? `already runs '${state.run.runId}' (started by '${state.run.requester}')` : 'has no run';
      ctx.io.replyError(envelope, new FlRefusal(`${whereAsync(ctx)}: run '${runId}' cannot start: this server ${why}; spawn a new server for another run`, { actor: ctx.io.id, op: event.type }));
    }
    return state;
  }
  if (event.type === FL.runAck) return state.status === 'done' || state.status === 'failed' ? { ...state, acked: true } : state;
  if (state.status === 'running') {
    ctx.io.reply(envelope, FL.runAccepted, { runId });
    return state;
  }
  const outcome = asyncOutcome(state);
  ctx.io.reply(envelope, FL.runResult, outcome, { bytes: wireBytes(outcome.weights) });
  return { ...state, acked: false };
}

/** A message the current phase does not take (or a run message). */
export function answerOtherAsync(ctx: AsyncContext, state: AsyncState, event: ActorMessage): AsyncState {
  const { envelope } = event;
  if (!envelope) return state; // a guarded-off timer, not a message
  if (event.type === FL.run || event.type === FL.runAck) return answerRunMessage(ctx, state, event);
  if (event.type === ERROR_REPLY || event.type === FL.updateRejected) return state;
  if (event.type === FL.fitResult) {
    try {
      parseMessage(FitResSchema, event.payload, event.type, envelope.from, whereAsync(ctx));
    } catch (error) {
      ctx.io.replyError(envelope, error);
      return state;
    }
    const claimed = (event.payload as { round: number }).round;
    ctx.io.reply(envelope, FL.updateRejected, { round: claimed, currentRound: state.version, reason: 'not-collecting' });
    return state;
  }
  if (envelope.inReplyTo !== undefined) return state;
  ctx.io.replyError(envelope, new MalformedMessageError(`${whereAsync(ctx)} does not take '${event.type}' messages (it takes ${FL.run}, ${FL.runAck} and ${FL.fitResult})`, { type: event.type }));
  return state;
}
