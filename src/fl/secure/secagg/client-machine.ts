/**
 * The standalone SecAgg+ client as an xstate v5 machine (Flower's `secaggplus_mod`): it plays
 * the client role of client-role.ts — its stages, ordering and duplicate rules — with an
 * update given as input.
 *
 *   idle ──setup──▶ sentPublicKeys ──share-keys──▶ sentShares ──collect──▶ sentMaskedInput
 *        ──consistency-check──▶ sentSignature ──unmask──▶ idle
 */
import { setup } from 'xstate';
import type { ActorIO, ActorMessage } from '../../../runtime/index.js';
import type { UpdateSource } from './client-steps.js';
import { type SecAggClientState, secAggClientChart, secAggClientImplementations } from './client-role.js';

export interface SecAggClientInput {
  io: ActorIO;
  /** The update this client contributes (a vector, or a function of the round). */
  update: UpdateSource;
}

export interface SecAggClientContext extends SecAggClientState {
  update: UpdateSource;
}

// The update is the input's, the same every round: nothing to forget after a round.
const client = secAggClientImplementations<SecAggClientContext>({ read: (context) => context.update });

export const secAggClientMachine = setup({
  types: {} as { context: SecAggClientContext; input: SecAggClientInput; events: ActorMessage },
  guards: client.guards,
  actions: client.actions,
}).createMachine({
  id: 'secAggClient',
  context: ({ input }) => ({ io: input.io, update: input.update, session: null, handled: [] }),
  initial: 'idle',
  on: secAggClientChart.on,
  states: secAggClientChart.states,
});
