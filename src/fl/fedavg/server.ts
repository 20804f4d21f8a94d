/**
 * The FedAvg server as an xstate v5 machine.
 *
 *   idle ─fl/run→ selecting → training → aggregating → evaluating ─┬→ selecting (next round)
 *                                 │ (deadline, secure)              └→ done (last round)
 *                                 ├→ closing → aggregating
 *                                 └→ securing → aggregating   (secagg+)
 *
 * selecting: sample ⌈C·K⌉ clients from the server's stream `actor/<id>/sampling`
 *            and send each the global model;
 * training:  collect updates until every selected client has reported, or until the
 *            round deadline (`after`, virtual time) drops the stragglers;
 * closing:   (secure-worker aggregation) ask the secure worker for the average of
 *            what it has, waiting at most `secureCloseTimeoutMs`;
 * securing:  (secagg+ aggregation) run SecAgg+ among the clients that trained and wait
 *            for its sum (secure-rounds.ts); 'additive' ends in training when every
 *            client's sum of shares is in, and keeps the old model at the deadline;
 * aggregating / evaluating: strategy.aggregateFit over the updates sorted by client
 *            id, central evaluation, report `fl/round-end` to the requester.
 *
 * An update is accepted only in `training`, only for the current round, only from a
 * selected client, once: anything else gets `fl/update-rejected` with the reason,
 * so a straggler's update from round r can never leak into round r + 1.
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { FL } from './messages.js';
import { SECAGG } from '../secure/secagg/protocol.js';
import { FL_SECURE } from './secure-messages.js';
import { allTrained, closeAdditiveRound, receiveFitDone, receiveSecAggAnswer, receiveShareSum, secAggTimedOut, secAggWaitMs, startSecAgg } from './secure-rounds.js';
import {
  type ServerContext,
  type ServerInput,
  aggregateRound,
  allReported,
  answerRun,
  beginRound,
  failRun,
  initialContext,
  receiveSecureAggregate,
  receiveUpdate,
  rejectUpdate,
  reportRound,
} from './server-steps.js';

export const fedAvgServer = setup({
  types: {} as { context: ServerContext; input: ServerInput; events: ActorMessage },
  delays: {
    roundDeadline: ({ context }) => context.roundDeadlineMs,
    secureClose: ({ context }) => context.secureCloseTimeoutMs ?? context.roundDeadlineMs,
    secAggWait: ({ context }) => secAggWaitMs(context),
  },
  guards: {
    failed: ({ context }) => context.failure !== null,
    allReported: ({ context }) => allReported(context),
    secureArrived: ({ context }) => context.secure !== null,
    secure: ({ context }) => context.aggregation === 'secure-worker',
    additive: ({ context }) => context.aggregation === 'additive',
    secagg: ({ context }) => context.aggregation === 'secagg+',
    allTrained: ({ context }) => allTrained(context),
    moreRounds: ({ context }) => context.round < context.rounds,
  },
  actions: {
    beginRound: assign(({ context }) => beginRound(context)),
    receiveUpdate: assign(({ context, event }) => receiveUpdate(context, event)),
    rejectUpdate: assign(({ context, event }) => rejectUpdate(context, event)),
    receiveSecureAggregate: assign(({ context, event }) => receiveSecureAggregate(context, event)),
    closeSecureRound: ({ context }) => context.io.send(context.secureWorker!, FL.secureClose, { round: context.round }),
    receiveShareSum: assign(({ context, event }) => receiveShareSum(context, event)),
    closeAdditiveRound: assign(({ context }) => closeAdditiveRound(context)),
    receiveFitDone: assign(({ context, event }) => receiveFitDone(context, event)),
    startSecAgg: assign(({ context }) => startSecAgg(context)),
    receiveSecAggAnswer: assign(({ context, event }) => receiveSecAggAnswer(context, event)),
    secAggTimedOut: assign(({ context }) => secAggTimedOut(context)),
    aggregate: assign(({ context }) => aggregateRound(context)),
    report: assign(({ context }) => reportRound(context)),
    answerRun: ({ context }) => answerRun(context),
    failRun: ({ context }) => failRun(context),
    refuseRun: ({ context, event }) => {
      const error = new Error(`server '${context.io.id}': a federated run was already started (by ${context.requester?.id}); spawn a new server for another run`);
      context.io.replyError(event.envelope, error);
    },
  },
}).createMachine({
  id: 'fedavg-server',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  on: {
    [FL.fitResult]: { actions: 'rejectUpdate' },
    [FL.run]: { actions: 'refuseRun' },
  },
  states: {
    idle: {
      on: {
        [FL.run]: { target: 'selecting', actions: assign(({ event }) => ({ requester: (event as ActorMessage).envelope })) },
      },
    },
    selecting: {
      entry: 'beginRound',
      always: [{ guard: 'failed', target: 'failed' }, { target: 'training' }],
    },
    training: {
      on: {
        [FL.fitResult]: { actions: 'receiveUpdate' },
        [FL.secureAggregate]: { actions: 'receiveSecureAggregate' },
        [FL_SECURE.additiveSum]: { actions: 'receiveShareSum' },
        [FL_SECURE.fitDone]: { actions: 'receiveFitDone' },
      },
      always: [
        { guard: 'allReported', target: 'aggregating' },
        { guard: 'secureArrived', target: 'aggregating' },
        { guard: 'allTrained', target: 'securing' },
      ],
      after: {
        roundDeadline: [
          { guard: 'secure', target: 'closing' },
          { guard: 'secagg', target: 'securing' },
          { guard: 'additive', target: 'aggregating', actions: 'closeAdditiveRound' },
          { target: 'aggregating' },
        ],
      },
    },
    closing: {
      entry: 'closeSecureRound',
      on: { [FL.secureAggregate]: { actions: 'receiveSecureAggregate' } },
      always: { guard: 'secureArrived', target: 'aggregating' },
      after: { secureClose: { target: 'aggregating' } },
    },
    securing: {
      entry: 'startSecAgg',
      on: {
        [SECAGG.result]: { actions: 'receiveSecAggAnswer' },
        [SECAGG.aborted]: { actions: 'receiveSecAggAnswer' },
        error: { actions: 'receiveSecAggAnswer' },
      },
      always: { guard: 'secureArrived', target: 'aggregating' },
      after: { secAggWait: { target: 'aggregating', actions: 'secAggTimedOut' } },
    },
    aggregating: {
      entry: 'aggregate',
      always: { target: 'evaluating' },
    },
    evaluating: {
      entry: 'report',
      always: [{ guard: 'moreRounds', target: 'selecting' }, { target: 'done' }],
    },
    done: { entry: 'answerRun' },
    failed: { entry: 'failRun' },
  },
});
