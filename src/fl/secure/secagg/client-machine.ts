/**
 * The SecAgg+ client as an xstate v5 machine (Flower's `secaggplus_mod`).
 *
 *   idle ──setup──▶ sentPublicKeys ──share-keys──▶ sentShares ──collect──▶ sentMaskedInput ──unmask──▶ idle
 *
 * A `setup` is accepted in any state and starts a fresh round (an aborted round leaves
 * clients mid-way; the next round must not depend on them finishing). Any other stage
 * message out of order is refused with a SecAggProtocolError — the runtime logs it as an
 * `error` event and answers the server with an error reply — except an exact duplicate of a
 * message already handled (same envelope id, e.g. a fault-plan duplicate), which is ignored.
 *
 * Each step's answer is sent from inside `assign`: `io.send` only queues the message in the
 * current turn's outbox, which the runtime posts if the turn succeeds and discards if it
 * throws, so the answer and the new session stand or fall together.
 */
import { assign, setup } from 'xstate';
import type { ActorIO, ActorMessage } from '../../../runtime/index.js';
import { type ClientSession, type UpdateSource, onCollect, onSetup, onShareKeys, onUnmask } from './client-steps.js';
import { SecAggProtocolError } from './errors.js';
import { payloadBytes } from './message-size.js';
import { SECAGG } from './protocol.js';

export interface SecAggClientInput {
  io: ActorIO;
  /** The update this client contributes (a vector, or a function of the round). */
  update: UpdateSource;
}

export interface SecAggClientContext {
  io: ActorIO;
  update: UpdateSource;
  session: ClientSession | null;
  /** Envelope ids handled in the current round: a duplicated delivery is ignored, not refused. */
  handled: readonly string[];
}

type Context = SecAggClientContext;

function answer(io: ActorIO, to: string, type: string, payload: unknown): void {
  io.send(to, type, payload, { bytes: payloadBytes(type, payload) });
}

/** True when this exact message (same envelope id) was already handled this round. */
export function isDuplicate(context: Pick<Context, 'handled'>, event: ActorMessage): boolean {
  return context.handled.includes(event.envelope.id);
}

/** Later stages must come from the server that opened the round. */
export function session(context: Pick<Context, 'io' | 'session'>, event: ActorMessage): ClientSession {
  const current = context.session;
  const stage = event.type === SECAGG.shareKeys ? 'share-keys' : event.type === SECAGG.collect ? 'collect-masked-input' : 'unmask';
  if (!current) {
    throw new SecAggProtocolError(`SecAgg+ client '${context.io.id}': got '${event.type}' from '${event.envelope.from}' but no round is open (no setup received, or the round already ended).`, { actor: context.io.id, round: null, stage });
  }
  if (event.envelope.from !== current.server) {
    throw new SecAggProtocolError(
      `SecAgg+ client '${context.io.id}', round ${current.round}: got '${event.type}' from '${event.envelope.from}', but this round's server is '${current.server}'.`,
      { actor: context.io.id, round: current.round, stage, from: event.envelope.from },
    );
  }
  return current;
}


/** A stage message that arrived out of order is refused (the runtime turns the throw into an error reply). */
export function refuseOutOfOrder(actor: string, current: { round: number } | null, type: string): never {
  throw new SecAggProtocolError(
    `SecAgg+ client '${actor}', round ${current?.round ?? '?'}: got '${type}' out of order ` +
      `(${current ? 'the round is further along or not there yet' : 'no round is open'}); refusing it.`,
    { actor, round: current?.round ?? null, stage: 'any' },
  );
}

/**
 * The client's stages as a state chart: shared by this machine and by the FedAvg client
 * that runs SecAgg+ as its aggregation (src/fl/fedavg/secagg-client.ts), which adds its
 * own `fit` handling. A message of the next stage arriving early is refused.
 */
export const secAggClientChart = {
  on: {
    [SECAGG.setup]: [{ guard: 'duplicate' }, { target: '.sentPublicKeys', actions: 'setup' }],
    [SECAGG.shareKeys]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
    [SECAGG.collect]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
    [SECAGG.unmask]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
  },
  states: {
    idle: {},
    sentPublicKeys: {
      on: { [SECAGG.shareKeys]: [{ guard: 'duplicate' }, { target: 'sentShares', actions: 'shareKeys' }] },
    },
    sentShares: {
      on: { [SECAGG.collect]: [{ guard: 'duplicate' }, { target: 'sentMaskedInput', actions: 'collect' }] },
    },
    sentMaskedInput: {
      on: { [SECAGG.unmask]: [{ guard: 'duplicate' }, { target: 'idle', actions: 'unmask' }] },
    },
  },
} as const;

export const secAggClientMachine = setup({
  types: {} as { context: Context; input: SecAggClientInput; events: ActorMessage },
  guards: {
    duplicate: ({ context, event }) => isDuplicate(context, event),
  },
  actions: {
    setup: assign(({ context, event }) => {
      const step = onSetup(context.io, event.envelope.from, event.payload);
      answer(context.io, event.envelope.from, SECAGG.publicKeys, step.answer);
      return { session: step.session, handled: [event.envelope.id] };
    }),
    shareKeys: assign(({ context, event }) => {
      const step = onShareKeys(context.io, session(context, event), event.payload);
      answer(context.io, event.envelope.from, SECAGG.shares, step.answer);
      return { session: step.session, handled: [...context.handled, event.envelope.id] };
    }),
    collect: assign(({ context, event }) => {
      const step = onCollect(context.io, session(context, event), event.payload, context.update);
      answer(context.io, event.envelope.from, SECAGG.maskedInput, step.answer);
      return { session: step.session, handled: [...context.handled, event.envelope.id] };
    }),
    unmask: assign(({ context, event }) => {
      const step = onUnmask(context.io, session(context, event), event.payload);
      answer(context.io, event.envelope.from, SECAGG.unmaskShares, step.answer);
      return { session: step.session, handled: [...context.handled, event.envelope.id] };
    }),
    refuseOutOfOrder: ({ context, event }) => refuseOutOfOrder(context.io.id, context.session, event.type),
  },
}).createMachine({
  id: 'secAggClient',
  context: ({ input }) => ({ io: input.io, update: input.update, session: null, handled: [] }),
  initial: 'idle',
  on: secAggClientChart.on,
  states: secAggClientChart.states,
});
