/**
 * The FL round engine's server, as one xstate v5 chart for every aggregation mode and
 * algorithm (the mode is the Aggregator in its input, the algorithm the Strategy).
 *
 *   boot ─┬─ (checkpoint: running) ──────────────┐
 *         ├─ (checkpoint: over) ─▶ finished      │
 *         └─▶ idle ──fl/run──▶ running ◀─────────┘
 *                              selecting ─▶ round ───────────────▶ committing ─┬▶ selecting
 *                                           collecting ─(deadline)─▶ closing  ─┘ └▶ finished
 *                                           (retry every fitRetryMs)   (retry; waits at most
 *                                                                       the aggregator's wait)
 *   selecting goes straight to finished when the strategy stops the run before the round
 *   (stopBefore: a privacy budget), and straight to committing when nothing is collected
 *   (the round cannot run, or the strategy selected nobody) — except a round that cannot run
 *   because too few devices are online: it sends no fit but waits out its deadline in
 *   `round`, so virtual time moves on along the availability trace.
 *   finished: sends fl/run-result, again every controlRetryMs until fl/run-ack
 *
 * Every round ends committed or skipped with a reason — never stuck: a lost fit or report
 * is retried while the round collects, the deadline closes it, and the closing phase has a
 * bound of its own. Steps: server-round-steps.ts (rounds) and server-run-steps.ts (the run).
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { type EngineContext, type EngineInput, initialContext } from './server-context.js';
import { answerOther, beginRound, closeExpired, closeRetryMs, closeRound, commitRound, dispatch, retryClose, retryRound, roundComplete } from './server-round-steps.js';
import { acceptRun, awaitingAck, finishRun, isRunRequest, resendResult } from './server-run-steps.js';

export const roundServer = setup({
  types: {} as { context: EngineContext; input: EngineInput; events: ActorMessage },
  delays: {
    roundDeadline: ({ context }) => context.timing.roundDeadlineMs,
    fitRetry: ({ context }) => context.timing.fitRetryMs,
    closeRetry: ({ context }) => closeRetryMs(context),
    resultRetry: ({ context }) => context.timing.controlRetryMs,
  },
  guards: {
    resumeRunning: ({ context }) => context.status === 'running',
    resumeOver: ({ context }) => context.status === 'done' || context.status === 'failed',
    runRequest: ({ context, event }) => isRunRequest(context, event),
    failed: ({ context }) => context.failure !== null,
    stopped: ({ context }) => context.stopped !== null,
    // Nothing to collect: the round cannot run (skip; one that waits out its deadline goes on), or the strategy selected nobody (empty).
    skipNow: ({ context }) => (context.open?.skip !== undefined && context.open.waitOut !== true) || context.open?.empty === true,
    roundComplete: ({ context }) => roundComplete(context),
    closeExpired: ({ context }) => closeExpired(context),
    moreRounds: ({ context }) => context.committed.round < context.rounds,
    awaitingAck: ({ context }) => awaitingAck(context),
  },
  actions: {
    acceptRun: assign(({ context, event }) => acceptRun(context, event)),
    answerOther: assign(({ context, event }) => answerOther(context, event)),
    beginRound: assign(({ context }) => beginRound(context)),
    dispatch: assign(({ context, event }) => dispatch(context, event)),
    retryRound: assign(({ context }) => retryRound(context)),
    closeRound: assign(({ context }) => closeRound(context)),
    retryClose: assign(({ context }) => retryClose(context)),
    commitRound: assign(({ context }) => commitRound(context)),
    finishRun: assign(({ context }) => finishRun(context)),
    resendResult: assign(({ context }) => resendResult(context)),
  },
}).createMachine({
  id: 'fl-server',
  context: ({ input }) => initialContext(input),
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
      initial: 'selecting',
      states: {
        selecting: {
          entry: 'beginRound',
          always: [{ guard: 'failed', target: '#fl-server.finished' }, { guard: 'stopped', target: '#fl-server.finished' }, { guard: 'skipNow', target: 'committing' }, { target: 'round' }],
        },
        round: {
          initial: 'collecting',
          on: { '*': { actions: 'dispatch' } },
          always: [{ guard: 'failed', target: '#fl-server.finished' }, { guard: 'roundComplete', target: 'committing' }],
          after: { roundDeadline: { target: '.closing', actions: 'closeRound' } },
          states: {
            collecting: {
              after: { fitRetry: { target: 'collecting', reenter: true, actions: 'retryRound' } },
            },
            closing: {
              always: { guard: 'closeExpired', target: '#fl-server.running.committing' },
              after: { closeRetry: { target: 'closing', reenter: true, actions: 'retryClose' } },
            },
          },
        },
        committing: {
          entry: 'commitRound',
          always: [{ guard: 'failed', target: '#fl-server.finished' }, { guard: 'moreRounds', target: 'selecting' }, { target: '#fl-server.finished' }],
        },
      },
    },
    finished: {
      entry: 'finishRun',
      initial: 'waiting',
      states: {
        waiting: {
          after: { resultRetry: { guard: 'awaitingAck', target: 'waiting', reenter: true, actions: 'resendResult' } },
        },
      },
    },
  },
});
