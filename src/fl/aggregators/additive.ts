/**
 * 'additive' aggregation, server side: the fits name the round's peers; each client sends
 * the sum of the shares it received (additive-client.ts); with all P sums in,
 * Σ sums = Σ_k x_k (mod 2^64) is decoded into the round's weighted means.
 *
 * Additive shares have no threshold: one missing sum and the total cannot be rebuilt, so
 * the round is aborted at the deadline (keeping the model). A retry re-sends every
 * selected client's fit: each answers from storage with the very same shares, so a lost
 * share or sum is sent again without any split being redone. Inconsistent inputs — two
 * different sums from one peer, a peer's abort (two different shares), or a total whose
 * contributor count is not P — abort the round instead of committing a mix.
 */
import { AdditiveOptionsSchema } from '../fedavg/secure-options.js';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { decodeFixedVector, sumVectors } from '../../actors/smpc/ring-vector.js';
import { type Held, hold } from '../fedavg/held.js';
import { type Aggregator, type AggregatorSetup, type RoundView, type RunShape, type SettingProblem, perRoundText } from '../rounds/aggregator.js';
import { parseMessage } from '../rounds/protocol.js';
import { packedLength, unpackSum } from '../rounds/round-aggregate.js';
import { compareIds } from '../strategies/strategy.js';
import { additiveClient } from './additive-client.js';
import { ADDITIVE, AdditiveAbortSchema, AdditiveSumSchema, sameVector } from './additive-messages.js';
import type { AggregatorSettings } from './registry.js';
import { answerRejection, missingFrom } from './round-helpers.js';

interface Session {
  round: number;
  sums: Readonly<Record<string, Held<BigUint64Array>>>;
  inconsistent: string | null;
  rejected: number;
}

/** This mode's fields of a run's settings (merged into the run's config schema by the registry). */
export const additiveSettings = {
  /** Fixed-point settings (see fedavg/secure-options.ts). */
  additive: AdditiveOptionsSchema.default({ base: 10, precisionFractional: 6 }),
};

/** Each update is shared among the OTHER clients of its round: with fewer than 3, one client would hold another's update. */
export function checkAdditive(_settings: AggregatorSettings, run: RunShape): SettingProblem[] {
  if (run.clientsPerRound >= 3) return [];
  return [
    {
      path: ['aggregation'],
      expected: `an aggregation that works with ${perRoundText(run.clientsPerRound)}: 'additive' needs at least 3 clients per round, since each update is shared among the other clients of its round (raise fraction or minClients)`,
    },
  ];
}

export function additiveAggregator(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator<Session> {
  const fixed = AdditiveOptionsSchema.parse(settings.additive ?? {});
  const length = packedLength(setup.layout, setup.reports);
  const who = (view: RoundView) => `server '${view.io.id}' (round ${view.round}, additive)`;
  return {
    name: 'additive',
    reveals: 'sum',
    serverMessages: [ADDITIVE.sum, ADDITIVE.abort],
    byteKinds: { [ADDITIVE.share]: 'bytesUp', [ADDITIVE.sum]: 'bytesAggregate' },
    helpers: () => [],
    clientLogic: () => additiveClient,
    open(view) {
      const session: Session = { round: view.round, sums: {}, inconsistent: null, rejected: 0 };
      if (view.selected.length < 3) {
        return {
          session,
          skip: `additive aggregation needs at least 3 clients in a round (each update is shared among the OTHER clients, so with ${view.selected.length} one client would hold another's whole update); raise fraction or minClients`,
        };
      }
      return { session, report: { protocol: 'additive', peers: [...view.selected], base: fixed.base, precisionFractional: fixed.precisionFractional } };
    },
    receive(session, message: ActorMessage, view) {
      const from = message.envelope.from;
      if (message.type === ADDITIVE.abort) {
        const abort = parseMessage(AdditiveAbortSchema, message.payload, message.type, from, who(view));
        if (abort.round !== session.round || !view.selected.includes(from)) return session;
        return { ...session, inconsistent: session.inconsistent ?? abort.reason };
      }
      if (message.type !== ADDITIVE.sum) return session;
      const { round, sum } = parseMessage(AdditiveSumSchema, message.payload, message.type, from, who(view));
      const refuse = (reason: Parameters<typeof answerRejection>[2]) => {
        answerRejection(view, message, reason);
        return { ...session, rejected: session.rejected + 1 };
      };
      if (round < session.round) return refuse('stale-round');
      if (round > session.round) return refuse('future-round');
      if (!view.selected.includes(from)) return refuse('not-selected');
      if (sum.length !== length) return refuse('bad-layout');
      const known = session.sums[from];
      if (known) {
        if (sameVector(known.value, sum)) return session;
        return { ...refuse('inconsistent'), inconsistent: session.inconsistent ?? `client '${from}' sent two different sums of shares for round ${session.round}` };
      }
      return { ...session, sums: { ...session.sums, [from]: hold(sum) } };
    },
    // A refused peer never shares: without its shares no total can be rebuilt, so stop waiting.
    complete: (session, view) => session.inconsistent !== null || Object.keys(view.refused).length > 0 || view.selected.every((c) => session.sums[c] !== undefined),
    retry: (session, view) => ({ session, refit: view.selected.filter((c) => !view.refused[c]) }),
    close: (session) => ({ session, waitMs: 0 }),
    aggregate(round, session, _failures, { view }) {
      if (session.inconsistent) return { skip: `additive aggregation: the round's inputs are inconsistent (${session.inconsistent}); the old model is kept` };
      const refused = Object.keys(view.refused).sort(compareIds);
      if (refused.length > 0) return { skip: `additive aggregation: [${refused.join(', ')}] refused the fit, so their shares never came and the total cannot be rebuilt; the old model is kept` };
      const missing = view.selected.filter((c) => !session.sums[c]);
      if (missing.length > 0) {
        return {
          skip:
            `additive aggregation: no sum of shares from [${missing.join(', ')}] before the deadline (a client crashed, was too slow, or a share was lost); ` +
            'additive shares have no threshold, so the total cannot be rebuilt and the old model is kept',
        };
      }
      const peers = [...view.selected].sort(compareIds);
      const total = sumVectors(peers.map((p) => session.sums[p].value));
      const unpacked = unpackSum(round, decodeFixedVector(total, fixed), peers, setup.layout, setup.reports, 1);
      if (!unpacked) return { skip: "additive aggregation: the clients' total sample count is 0, so there is no weighted average" };
      // Each packed vector carries a 1: a total made of anything but one vector per peer shows here.
      if (Math.abs(unpacked.count - peers.length) > 1e-3) {
        return { skip: `additive aggregation: the decoded total holds ${unpacked.count} vectors, not ${peers.length} (shares of different splits were mixed); the old model is kept` };
      }
      return { aggregate: unpacked.aggregate };
    },
    missing: (session, view) => {
      // One refusal ends an additive round at once (no total without the refused client's shares): say so for the others.
      const refused = Object.keys(view.refused).sort(compareIds);
      const reason = refused.length > 0 ? `the round ended when [${refused.join(', ')}] refused the fit, before this client's sum of shares arrived` : 'no sum of shares from it before the deadline';
      return missingFrom(view, (c) => session.sums[c] !== undefined, reason);
    },
    rejected: (session) => session.rejected,
  };
}
