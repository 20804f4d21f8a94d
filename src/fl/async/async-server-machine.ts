/**
 * The asynchronous FL server (FedBuff or FedAsync) as one xstate v5 chart.
 *
 *   boot ─┬─ (checkpoint: running) ─────────────┐
 *         ├─ (checkpoint: over) ─▶ finished     │
 *         └─▶ idle ──fl/run──▶ running ◀────────┘
 *                              entry: fill the slots (concurrency clients training)
 *                              every message: an update (accepted → maybe a server update,
 *                                the slot filled again), an error reply, a run message
 *                              every retryMs: give up dispatches past their deadline,
 *                                re-send the others' fits, fill the slots
 *                              ─(the bound reached, or a failure)─▶ finished
 *   finished: sends fl/run-result, again every controlRetryMs until fl/run-ack
 *
 * Every turn that changes the server's state writes it as the checkpoint in the same turn
 * (async-context.ts), so a crash that loses the server's memory resumes where it was.
 * Steps: async-dispatch.ts, async-updates.ts, async-run-steps.ts.
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { ERROR_REPLY, type ErrorPayload } from '../../runtime/envelope.js';
import { hold } from '../fedavg/held.js';
import { FL, wireBytes } from '../rounds/protocol.js';
import { ASYNC_CHECKPOINT_KEY, type AsyncContext, type AsyncServerInput, type AsyncState, initialAsyncState, saveAsyncCheckpoint } from './async-context.js';
import { bounded, fillSlots, tick } from './async-dispatch.js';
import { acceptAsyncRun, answerOtherAsync, asyncOutcome, isAsyncRunRequest } from './async-run-steps.js';
import { receiveRefusal, receiveUpdate } from './async-updates.js';

/** The context patch of a step: the new state, checkpointed when it changed. */
function commit(ctx: AsyncContext, next: AsyncState): Partial<AsyncContext> {
  if (next === ctx.state.value) return {};
  saveAsyncCheckpoint(ctx.io, next);
  return { state: hold(next) };
}

function onMessage(ctx: AsyncContext, event: ActorMessage): AsyncState {
  const state = ctx.state.value;
  const { envelope } = event;
  if (!envelope) return state;
  if (event.type === FL.fitResult) return receiveUpdate(ctx, state, event);
  if (event.type === ERROR_REPLY && envelope.inReplyTo !== undefined) return receiveRefusal(ctx, state, envelope.inReplyTo, event.payload as ErrorPayload) ?? state;
  return answerOtherAsync(ctx, state, event);
}

function sendResult(ctx: AsyncContext, state: AsyncState): void {
  const outcome = asyncOutcome(state);
  ctx.io.send(state.run!.requester, FL.runResult, outcome, { bytes: wireBytes(outcome.weights) });
}

export const asyncServer = setup({
  types: {} as { context: AsyncContext; input: AsyncServerInput; events: ActorMessage },
  delays: {
    tick: ({ context }) => context.plan.retryMs,
    resultRetry: ({ context }) => context.controlRetryMs,
  },
  guards: {
    resumeRunning: ({ context }) => context.state.value.status === 'running',
    resumeOver: ({ context }) => context.state.value.status === 'done' || context.state.value.status === 'failed',
    runRequest: ({ context, event }) => isAsyncRunRequest(context.state.value, event),
    over: ({ context }) => context.state.value.failure !== null || bounded(context, context.state.value),
    awaitingAck: ({ context }) => context.state.value.run !== null && !context.state.value.acked && context.resultSends < context.controlAttempts,
  },
  actions: {
    acceptRun: assign(({ context, event }) => commit(context, acceptAsyncRun(context, context.state.value, event))),
    answerOther: assign(({ context, event }) => commit(context, answerOtherAsync(context, context.state.value, event))),
    fill: assign(({ context }) => commit(context, fillSlots(context, context.state.value))),
    receive: assign(({ context, event }) => commit(context, onMessage(context, event))),
    tick: assign(({ context }) => commit(context, tick(context, context.state.value))),
    finishRun: assign(({ context }) => {
      const state = context.state.value;
      const over: AsyncState = { ...state, status: state.failure ? 'failed' : 'done' };
      const patch = commit(context, over);
      if (!over.run || over.acked) return patch;
      sendResult(context, over);
      return { ...patch, resultSends: 1 };
    }),
    resendResult: assign(({ context }) => {
      sendResult(context, context.state.value);
      return { resultSends: context.resultSends + 1 };
    }),
  },
}).createMachine({
  id: 'fl-async-server',
  context: ({ input }) => ({ ...input, state: hold(input.io.storage.get<AsyncState>(ASYNC_CHECKPOINT_KEY) ?? initialAsyncState(input)), resultSends: 0 }),
  initial: 'boot',
  on: { '*': { actions: 'answerOther' } },
  states: {
    boot: {
      always: [{ guard: 'resumeRunning', target: 'running' }, { guard: 'resumeOver', target: 'finished' }, { target: 'idle' }],
    },
    idle: {
      on: { '*': [{ guard: 'runRequest', target: 'running', actions: 'acceptRun' }, { actions: 'answerOther' }] },
    },
    running: {
      entry: 'fill',
      on: { '*': { actions: 'receive' } },
      always: { guard: 'over', target: 'finished' },
      initial: 'waiting',
      states: {
        waiting: { after: { tick: { target: 'waiting', reenter: true, actions: 'tick' } } },
      },
    },
    finished: {
      entry: 'finishRun',
      initial: 'waiting',
      states: {
        waiting: { after: { resultRetry: { guard: 'awaitingAck', target: 'waiting', reenter: true, actions: 'resendResult' } } },
      },
    },
  },
});
