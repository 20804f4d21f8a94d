/**
 * The SecAgg+ client role, for any xstate machine that plays it: the stage chart and the
 * guard and actions the chart names. Two machines play it — the standalone client
 * (client-machine.ts), whose update is given as input, and the FedAvg client under
 * `aggregation: 'secagg+'` (src/fl/fedavg/secagg-client.ts), whose update comes from local
 * training — and they differ only in where the update comes from (a `ClientUpdate`).
 *
 *   idle ──setup──▶ sentPublicKeys ──share-keys──▶ sentShares ──collect──▶ sentMaskedInput
 *        ──consistency-check──▶ sentSignature ──unmask──▶ idle
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
import { assign } from 'xstate';
import type { ActorIO, ActorMessage } from '../../../runtime/actor-cell.js';
import { FlInvariantError } from '../../errors.js';
import { type ClientSession, type UpdateSource, onCollect, onConsistency, onSetup, onShareKeys, onUnmask } from './client-steps.js';
import { type SecAggStage, SecAggProtocolError } from './errors.js';
import { payloadBytes } from './message-size.js';
import { SECAGG } from './protocol.js';

/** What a machine playing the SecAgg+ client keeps in its context for the role. */
export interface SecAggClientState {
  io: ActorIO;
  session: ClientSession | null;
  /** Envelope ids handled in the current round: a duplicated delivery is ignored, not refused. */
  handled: readonly string[];
}

/** Where a client's update comes from, for a machine whose context is `C`. */
export interface ClientUpdate<C> {
  /** The update masked at collect (a vector, or a function of the round). */
  read(context: C): UpdateSource;
  /** Context to reset once the unmask shares are sent, for a client that must not keep its update past the round. */
  forgetAfterRound?: Partial<C>;
}

/**
 * The client's stages as a state chart; the machine supplies the guard and actions it names
 * with `secAggClientImplementations` (and may add its own transitions beside these).
 * A message of the next stage arriving early is refused.
 */
export const secAggClientChart = {
  on: {
    [SECAGG.setup]: [{ guard: 'duplicate' }, { target: '.sentPublicKeys', actions: 'setup' }],
    [SECAGG.shareKeys]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
    [SECAGG.collect]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
    [SECAGG.consistency]: [{ guard: 'duplicate' }, { actions: 'refuseOutOfOrder' }],
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
      on: { [SECAGG.consistency]: [{ guard: 'duplicate' }, { target: 'sentSignature', actions: 'consistency' }] },
    },
    // Signed once: a second survivor set in the same round is refused (it would let a server collect two stories).
    sentSignature: {
      on: { [SECAGG.unmask]: [{ guard: 'duplicate' }, { target: 'idle', actions: 'unmask' }] },
    },
  },
} as const;

/** The guard and actions `secAggClientChart` names, for a machine with context `C` reading its update from `update`. */
export function secAggClientImplementations<C extends SecAggClientState>(update: ClientUpdate<C>) {
  // Every step writes back only the role's own fields. TypeScript cannot see that such a patch
  // is a Partial<C> for a generic C (a subtype could in principle narrow `session` or
  // `handled`); the machines playing the role don't, so the patch is cast here, once.
  const patch = (fields: Pick<SecAggClientState, 'session' | 'handled'>) => fields as Partial<C>;
  // Stated once so each `assign` below is typed for the playing machine's context and events.
  const step = assign<C, ActorMessage, undefined, ActorMessage, never>;
  return {
    guards: {
      duplicate: ({ context, event }: { context: C; event: ActorMessage }) => isDuplicate(context, event),
    },
    actions: {
      setup: step(({ context, event }) => {
        const result = onSetup(context.io, event.envelope.from, event.payload);
        answer(context.io, event.envelope.from, SECAGG.publicKeys, result.answer);
        return patch({ session: result.session, handled: [event.envelope.id] });
      }),
      shareKeys: step(({ context, event }) => {
        const result = onShareKeys(context.io, session(context, event), event.payload);
        answer(context.io, event.envelope.from, SECAGG.shares, result.answer);
        return patch({ session: result.session, handled: [...context.handled, event.envelope.id] });
      }),
      collect: step(({ context, event }) => {
        const result = onCollect(context.io, session(context, event), event.payload, update.read(context));
        answer(context.io, event.envelope.from, SECAGG.maskedInput, result.answer);
        return patch({ session: result.session, handled: [...context.handled, event.envelope.id] });
      }),
      consistency: step(({ context, event }) => {
        const result = onConsistency(context.io, session(context, event), event.payload);
        answer(context.io, event.envelope.from, SECAGG.signature, result.answer);
        return patch({ session: result.session, handled: [...context.handled, event.envelope.id] });
      }),
      unmask: step(({ context, event }) => {
        const result = onUnmask(context.io, session(context, event), event.payload);
        answer(context.io, event.envelope.from, SECAGG.unmaskShares, result.answer);
        return { ...patch({ session: result.session, handled: [...context.handled, event.envelope.id] }), ...update.forgetAfterRound };
      }),
      refuseOutOfOrder: ({ context, event }: { context: C; event: ActorMessage }) => refuseOutOfOrder(context.io.id, context.session, event.type),
    },
  };
}

function answer(io: ActorIO, to: string, type: string, payload: unknown): void {
  io.send(to, type, payload, { bytes: payloadBytes(type, payload) });
}

/** True when this exact message (same envelope id) was already handled this round. */
function isDuplicate(context: Pick<SecAggClientState, 'handled'>, event: ActorMessage): boolean {
  return context.handled.includes(event.envelope.id);
}

/** The open round's session; later stages must come from the server that opened the round. */
function session(context: Pick<SecAggClientState, 'io' | 'session'>, event: ActorMessage): ClientSession {
  const current = context.session;
  const stage = stageOf(event.type);
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
function refuseOutOfOrder(actor: string, current: { round: number } | null, type: string): never {
  throw new SecAggProtocolError(
    `SecAgg+ client '${actor}', round ${current?.round ?? '?'}: got '${type}' out of order ` +
      `(${current ? 'the round is further along or not there yet' : 'no round is open'}); refusing it.`,
    { actor, round: current?.round ?? null, stage: stageOf(type) },
  );
}

/** The stage a client-bound message belongs to. */
function stageOf(type: string): SecAggStage {
  switch (type) {
    case SECAGG.setup:
      return 'setup';
    case SECAGG.shareKeys:
      return 'share-keys';
    case SECAGG.collect:
      return 'collect-masked-input';
    case SECAGG.consistency:
      return 'consistency-check';
    case SECAGG.unmask:
      return 'unmask';
    default:
      // Only the client's own handlers call this, each with a message type the chart routes to it.
      throw new FlInvariantError(`stageOf: '${type}' is not a SecAgg+ message a client receives`, { op: 'stageOf', type });
  }
}
