/**
 * The FedAvg client actor.
 *
 * It holds its private data and its model spec. On `fl/fit` it loads the global
 * weights, trains E epochs with batch B as ONE turn (local training is atomic in
 * the simulation: the actor is busy for the cost model's virtual time and replies
 * when it is over), and answers `fl/fit-result` — to the server, or to the secure
 * worker when the fit says `reportTo`. Its shuffles come from its own stream
 * `actor/<id>/shuffle`, so a client's training does not depend on what other
 * clients drew.
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { fitCostMs } from './cost-model.js';
import { FL, type FitResult, FitMessageSchema, parseMessage, wireBytes } from './messages.js';
import { type LocalTrainer, trainForFit } from './local-fit.js';

/** A client holds what local training needs: its private data (boxed: see held.ts), the spec, the cost model. */
export type ClientInput = LocalTrainer;

interface ClientContext extends ClientInput {
  /** Fits completed (for inspection). */
  fits: number;
  lastRound: number;
}

export const fedAvgClient = setup({
  types: {} as { context: ClientContext; input: ClientInput; events: ActorMessage },
}).createMachine({
  id: 'fedavg-client',
  context: ({ input }) => ({ ...input, fits: 0, lastRound: 0 }),
  on: {
    [FL.fit]: {
      actions: assign(({ context, event }) => {
        const { io } = context;
        const envelope = event.envelope;
        let fit;
        try {
          fit = parseMessage(FitMessageSchema, event.payload, FL.fit, envelope.from, `client '${io.id}'`);
        } catch (error) {
          io.replyError(envelope, error);
          return {};
        }
        let result: FitResult;
        let samplesSeen: number;
        try {
          const trained = trainForFit(context, fit);
          result = { round: fit.round, weights: trained.weights, numSamples: trained.numSamples, loss: trained.loss };
          samplesSeen = trained.samplesSeen;
        } catch (error) {
          // Bad weights for this spec, data that does not fit the model…: the sender learns why.
          io.replyError(envelope, Object.assign(error as Error, { where: { actor: io.id, round: fit.round, op: 'fit' } }));
          return {};
        }
        io.busy(fitCostMs(context.cost, samplesSeen, context.slowdown ?? 1));
        const bytes = wireBytes(result.weights);
        if (fit.reportTo) io.send(fit.reportTo, FL.fitResult, result, { bytes });
        else io.reply(envelope, FL.fitResult, result, { bytes });
        return { fits: context.fits + 1, lastRound: fit.round };
      }),
    },
  },
});
