/**
 * The trusted secure worker of PySyft's tutorial (seed 002, §1.3 "Average
 * gradients"): clients send their trained models to it instead of to the server;
 * it averages them (sample-weighted, in sorted client order) and forwards only the
 * average, so the server never holds one client's update.
 *
 * Per round it learns from the server which clients to expect (`fl/secure-round`),
 * sends the average as soon as all of them have reported, or on `fl/secure-close`
 * (the server's deadline) with whatever arrived. An average of fewer than
 * `minContributors` updates would be (or nearly be) one client's update, so it is
 * withheld: the aggregate then carries `weights: null`.
 */
import { assign, setup } from 'xstate';
import type { ActorIO, ActorMessage } from '../../runtime/actor-cell.js';
import { averageUpdates, meanLoss, toFloat32 } from '../strategies/aggregate.js';
import { type ClientUpdate, compareIds } from '../strategies/strategy.js';
import {
  FL,
  FitResultSchema,
  type RejectionReason,
  type SecureAggregate,
  SecureCloseSchema,
  SecureRoundSchema,
  parseMessage,
  wireBytes,
} from './messages.js';
import { type Held, hold } from './held.js';

export interface SecureWorkerInput {
  io: ActorIO;
  /** The only actor allowed to open and close rounds. */
  server: string;
  /** Fewest updates whose average may leave (default 2). */
  minContributors?: number;
}

interface SecureWorkerContext extends SecureWorkerInput {
  round: number;
  expected: string[];
  /** This round's updates (boxed: see held.ts). */
  results: Record<string, Held<ClientUpdate>>;
  rejected: number;
  /** True once this round's aggregate was sent. */
  sent: boolean;
}

const who = (ctx: SecureWorkerContext) => `secure worker '${ctx.io.id}' (round ${ctx.round})`;

function fromServer(ctx: SecureWorkerContext, event: ActorMessage): boolean {
  if (event.envelope.from === ctx.server) return true;
  ctx.io.replyError(event.envelope, new Error(`${who(ctx)}: only the server '${ctx.server}' may send '${event.type}', not '${event.envelope.from}'`));
  return false;
}

/** Sends the average of what arrived (or withholds it) and closes the round. */
function sendAggregate(ctx: SecureWorkerContext): Partial<SecureWorkerContext> {
  const updates = Object.values(ctx.results)
    .map((h) => h.value)
    .sort((a, b) => compareIds(a.clientId, b.clientId));
  const enough = updates.length >= (ctx.minContributors ?? 2);
  const weights = enough ? toFloat32(averageUpdates(updates, true, who(ctx))) : null;
  const aggregate: SecureAggregate = {
    round: ctx.round,
    weights,
    numSamples: updates.reduce((n, u) => n + u.numSamples, 0),
    loss: updates.length > 0 ? meanLoss(updates) : NaN,
    contributors: updates.map((u) => u.clientId),
    rejected: ctx.rejected,
  };
  ctx.io.send(ctx.server, FL.secureAggregate, aggregate, { bytes: wireBytes(weights) });
  // The individual updates are not kept past the round.
  return { sent: true, results: {} };
}

function receive(ctx: SecureWorkerContext, event: ActorMessage): Partial<SecureWorkerContext> {
  const { envelope } = event;
  let result;
  try {
    result = parseMessage(FitResultSchema, event.payload, FL.fitResult, envelope.from, who(ctx));
  } catch (error) {
    ctx.io.replyError(envelope, error);
    return {};
  }
  const refuse = (reason: RejectionReason) => {
    ctx.io.reply(envelope, FL.updateRejected, { round: result.round, currentRound: ctx.round, reason });
    return { rejected: ctx.rejected + 1 };
  };
  if (result.round < ctx.round || (result.round === ctx.round && ctx.sent)) return refuse('stale-round');
  if (result.round > ctx.round) return refuse('future-round');
  if (!ctx.expected.includes(envelope.from)) return refuse('not-selected');
  if (ctx.results[envelope.from]) return refuse('duplicate');
  const first = Object.values(ctx.results)[0]?.value;
  if (first && (first.weights.length !== result.weights.length || first.weights.some((w, i) => w.length !== result.weights[i].length))) {
    return refuse('bad-layout');
  }
  const update: ClientUpdate = { clientId: envelope.from, weights: result.weights, numSamples: result.numSamples, loss: result.loss };
  const next = { ...ctx, results: { ...ctx.results, [envelope.from]: hold(update) } };
  const complete = next.expected.every((c) => next.results[c] !== undefined);
  return complete ? { results: next.results, ...sendAggregate(next) } : { results: next.results };
}

export const secureWorker = setup({
  types: {} as { context: SecureWorkerContext; input: SecureWorkerInput; events: ActorMessage },
}).createMachine({
  id: 'secure-worker',
  context: ({ input }) => ({ ...input, round: 0, expected: [], results: {}, rejected: 0, sent: false }),
  on: {
    [FL.secureRound]: {
      actions: assign(({ context, event }) => {
        if (!fromServer(context, event)) return {};
        try {
          const { round, clients } = parseMessage(SecureRoundSchema, event.payload, event.type, event.envelope.from, who(context));
          return { round, expected: [...clients].sort(compareIds), results: {}, rejected: 0, sent: false };
        } catch (error) {
          context.io.replyError(event.envelope, error);
          return {};
        }
      }),
    },
    [FL.fitResult]: { actions: assign(({ context, event }) => receive(context, event)) },
    [FL.secureClose]: {
      actions: assign(({ context, event }) => {
        if (!fromServer(context, event)) return {};
        try {
          const { round } = parseMessage(SecureCloseSchema, event.payload, event.type, event.envelope.from, who(context));
          return round === context.round && !context.sent ? sendAggregate(context) : {};
        } catch (error) {
          context.io.replyError(event.envelope, error);
          return {};
        }
      }),
    },
  },
});
