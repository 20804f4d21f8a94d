/**
 * The FedAvg client under `aggregation: 'secagg+'`: a FedAvg client and a SecAgg+ client
 * in one actor, as Flower's `secaggplus_mod` wraps the client app on the same device.
 *
 *   fl/fit ─▶ train, keep the weighted update here, answer fl/fit-done (no weights)
 *   secagg/setup ─▶ secagg/share-keys ─▶ secagg/collect-masked-input ─▶ secagg/unmask
 *        (the SecAgg+ client steps of src/fl/secure/secagg; the update masked at collect is the one kept)
 *
 * The kept update is Flower's weighted vector: with c = n_k / maxWeight it is
 * [c·w, c, c·loss] (update-vector.ts), so the server learns Σ c_k but no client's n_k.
 * The SecAgg+ stages are the client role of src/fl/secure/secagg/client-role.ts, shared with
 * the standalone client machine: a setup starts a fresh round in any state; other stages out
 * of order are refused (an error reply the SecAgg+ server counts as a dropout); an exact
 * duplicate delivery is ignored. Only the update's source differs: here it is the last fit's.
 */
import { assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { type SecAggClientState, secAggClientChart, secAggClientImplementations } from '../secure/secagg/client-role.js';
import { SecAggProtocolError } from '../secure/secagg/errors.js';
import { type Held, hold } from './held.js';
import { type LocalTrainer, fitLocally } from './local-fit.js';
import { FL, MESSAGE_HEADER_BYTES, parseMessage } from './messages.js';
import { FL_SECURE, SecureFitMessageSchema } from './secure-messages.js';
import { packWeightedUpdate } from './update-vector.js';

export type SecAggFedAvgClientInput = LocalTrainer;

interface SecAggFedAvgClientContext extends LocalTrainer, SecAggClientState {
  /** The weighted update of the last fit, for the SecAgg+ round of the same number. */
  trained: { round: number; vector: Held<Float64Array> } | null;
  fits: number;
}

type Context = SecAggFedAvgClientContext;

/** The update SecAgg+ masks in round `round`: the one trained for that round, or a refusal saying why not. */
function updateFor(context: Context) {
  return (round: number): Float64Array => {
    const trained = context.trained;
    if (trained?.round === round) return trained.vector.value;
    throw new SecAggProtocolError(
      `SecAgg+ client '${context.io.id}': asked to mask its update for round ${round}, but ${trained ? `its last fit was for round ${trained.round}` : 'it has not trained yet'}; it sits this round out.`,
      { actor: context.io.id, round, stage: 'collect-masked-input' },
    );
  };
}

function onFit(ctx: Context, event: ActorMessage): Partial<Context> {
  const { io } = ctx;
  const { envelope } = event;
  const at = `secagg+ client '${io.id}'`;
  try {
    const fit = parseMessage(SecureFitMessageSchema, event.payload, FL.fit, envelope.from, at);
    if (fit.secure.protocol !== 'secagg+') throw new Error(`${at}: this client takes part in SecAgg+ aggregation, but the fit asks for '${fit.secure.protocol}'`);
    const trained = fitLocally(ctx, fit);
    const c = trained.numSamples / fit.secure.maxWeight;
    if (c > 1) {
      throw new RangeError(
        `${at} (round ${fit.round}): its ${trained.numSamples} training samples exceed secagg.maxWeight ${fit.secure.maxWeight}; ` +
          'the weighted update could leave the clipping range. Raise secagg.maxWeight to at least the largest client\'s sample count.',
      );
    }
    const vector = packWeightedUpdate(trained.weights, c, trained.loss);
    io.reply(envelope, FL_SECURE.fitDone, { round: fit.round }, { bytes: MESSAGE_HEADER_BYTES });
    return { trained: { round: fit.round, vector: hold(vector) }, fits: ctx.fits + 1 };
  } catch (error) {
    io.replyError(envelope, error);
    return {};
  }
}

/** The update this client masks comes from its last fit, and is dropped once its round is unmasked. */
const client = secAggClientImplementations<Context>({ read: updateFor, forgetAfterRound: { trained: null } });

export const secAggFedAvgClient = setup({
  types: {} as { context: SecAggFedAvgClientContext; input: SecAggFedAvgClientInput; events: ActorMessage },
  guards: client.guards,
  actions: {
    fit: assign(({ context, event }) => onFit(context, event)),
    ...client.actions,
  },
}).createMachine({
  id: 'fedavg-secagg-client',
  context: ({ input }) => ({ ...input, trained: null, session: null, handled: [], fits: 0 }),
  initial: 'idle',
  on: {
    [FL.fit]: { actions: 'fit' },
    ...secAggClientChart.on,
  },
  states: secAggClientChart.states,
});
