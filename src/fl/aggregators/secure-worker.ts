/**
 * 'secure-worker' aggregation: clients report to a trusted secure worker (PySyft's
 * tutorial), which hands the server only the weighted average (secure-worker-actor.ts).
 *
 * Server side: the round opens with fl/secure-round to the worker (the fits tell clients
 * to report there); the round completes when the worker's aggregate arrives. While
 * collecting, a retry re-sends the secure-round and every selected client's fit (the
 * worker ignores repeats; the clients answer from storage); at the deadline the server
 * sends fl/secure-close and waits for the aggregate at most secureCloseTimeoutMs,
 * re-sending the close meanwhile.
 */
import { z } from 'zod';
import type { AnyActorLogic } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { FlRefusal } from '../errors.js';
import { type Held, hold } from '../fedavg/held.js';
import { type Aggregator, type AggregatorSetup, type RoundView, type RunShape, type SettingProblem, clientCountText, perRoundText } from '../rounds/aggregator.js';
import { simpleClientLogic } from '../rounds/client-logic.js';
import { FL, parseMessage, wireBytes } from '../rounds/protocol.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { compareIds } from '../strategies/strategy.js';
import type { AggregatorSettings } from './registry.js';
import { missingFrom } from './round-helpers.js';
import { SECURE_WORKER, type SecureAggregate, SecureAggregateSchema, secureWorkerActor } from './secure-worker-actor.js';

const ReportToSchema = z.object({ to: z.string().min(1) }).strict();

/** The secure-worker client: its answer goes to the worker the fit names. */
export const secureWorkerClient: AnyActorLogic = simpleClientLogic('fl-secure-worker-client', (ctx, { ins, res, envelope }) => {
  const report = ReportToSchema.safeParse(ins.report);
  if (!report.success) {
    ctx.io.replyError(envelope, new FlRefusal(`client '${ctx.io.id}' (round ${ins.round}): under secure-worker aggregation a fit must name the secure worker (report: { to }), got ${JSON.stringify(ins.report)}`, { actor: ctx.io.id, round: ins.round }));
    return {};
  }
  ctx.io.send(report.data.to, FL.fitResult, res, { bytes: wireBytes(res.weights, ...Object.values(res.extras)) });
  return {};
});

interface Session {
  round: number;
  aggregate: Held<SecureAggregate> | null;
  /** The close went out (the deadline passed). */
  closing: boolean;
  /** Why the round cannot be committed (two different aggregates for it), if so. */
  inconsistent: string | null;
}

/** This mode's fields of a run's settings (merged into the run's config schema by the registry). */
export const secureWorkerSettings = {
  /** Actor id of the secure worker. */
  secureWorkerId: z.string().regex(/^[^\s→]+$/).default('secure_worker'),
  /** Fewest updates the secure worker averages before it lets an average out (default 2). */
  secureMinContributors: z.number().int().min(1).default(2),
  /** How long after the deadline the server waits for the worker's aggregate (default: one round deadline). */
  secureCloseTimeoutMs: z.number().positive().finite().optional(),
};

const SettingsSchema = z.object({ ...secureWorkerSettings, roundDeadlineMs: z.number().positive().default(60_000) });

export const secureWorkerHelpers = (settings: AggregatorSettings): string[] => [SettingsSchema.parse(settings).secureWorkerId];

/**
 * A worker that needs more updates than a round has would withhold every average. The
 * fix is more clients per round; lowering secureMinContributors is the unsafe one (at 1
 * the "average" is a single client's update), so the message leads with the first.
 */
export function checkSecureWorker(settings: AggregatorSettings, run: RunShape): SettingProblem[] {
  const { secureMinContributors: min } = SettingsSchema.parse(settings);
  const n = run.clientsPerRound;
  if (min <= n) return [];
  const given = settings.secureMinContributors !== undefined;
  const lower =
    n === 1
      ? "lowering secureMinContributors to 1 would instead make the secure worker hand the server a single client's update as the average"
      : `lowering secureMinContributors to ${n} would make each average hide fewer updates`;
  return [
    {
      path: given ? ['secureMinContributors'] : ['aggregation'],
      expected: `at least ${clientCountText(min)} per round for 'secure-worker' with ${given ? '' : 'the default '}secureMinContributors ${min} (else the secure worker withholds every round's average): raise fraction or minClients; ${lower}`,
      found: perRoundText(n),
    },
  ];
}

export function secureWorkerAggregator(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator<Session> {
  const options = SettingsSchema.parse({
    secureWorkerId: settings.secureWorkerId,
    secureMinContributors: settings.secureMinContributors,
    secureCloseTimeoutMs: settings.secureCloseTimeoutMs,
    roundDeadlineMs: settings.roundDeadlineMs,
  });
  const workerId = options.secureWorkerId;
  const openRound = (view: RoundView) => view.io.send(workerId, SECURE_WORKER.round, { round: view.round, clients: [...view.selected] });
  return {
    name: 'secure-worker',
    reveals: 'sum',
    serverMessages: [SECURE_WORKER.aggregate],
    byteKinds: { [SECURE_WORKER.aggregate]: 'bytesAggregate' },
    helpers: () => [
      {
        id: workerId,
        logic: secureWorkerActor,
        input: { server: setup.serverId, minContributors: options.secureMinContributors, layout: setup.layout, reports: setup.reports, maxSamplesPerClient: setup.maxSamplesPerClient },
      },
    ],
    clientLogic: () => secureWorkerClient,
    open(view) {
      openRound(view);
      return { session: { round: view.round, aggregate: null, closing: false, inconsistent: null }, report: { to: workerId } };
    },
    receive(session, message: ActorMessage, view) {
      if (message.type !== SECURE_WORKER.aggregate) return session;
      if (message.envelope.from !== workerId) {
        view.io.replyError(message.envelope, new FlRefusal(`server '${view.io.id}': only the secure worker '${workerId}' may send '${SECURE_WORKER.aggregate}', not '${message.envelope.from}'`, { op: message.type }));
        return session;
      }
      const aggregate = parseMessage(SecureAggregateSchema, message.payload, message.type, message.envelope.from, `server '${view.io.id}' (round ${view.round})`);
      if (aggregate.round !== session.round) return session;
      if (session.aggregate) {
        // The worker answers a repeated close with the same aggregate; anything else is a second, different one.
        if (sameAggregate(session.aggregate.value, aggregate)) return session;
        return { ...session, inconsistent: session.inconsistent ?? `the secure worker sent two different aggregates for round ${session.round}` };
      }
      return { ...session, aggregate: hold(aggregate) };
    },
    complete: (session) => session.aggregate !== null || session.inconsistent !== null,
    retry(session, view) {
      if (session.closing) {
        view.io.send(workerId, SECURE_WORKER.close, { round: session.round });
        return { session, refit: [] };
      }
      openRound(view);
      return { session, refit: view.selected.filter((c) => !view.refused[c]) };
    },
    close(session, view) {
      view.io.send(workerId, SECURE_WORKER.close, { round: session.round });
      return { session: { ...session, closing: true }, waitMs: options.secureCloseTimeoutMs ?? options.roundDeadlineMs };
    },
    aggregate(round, session) {
      if (session.inconsistent) return { skip: `the round's inputs are inconsistent: ${session.inconsistent}` };
      const s = session.aggregate?.value;
      if (!s) return { skip: `no aggregate from the secure worker '${workerId}' in time` };
      if (!s.mean) return { skip: s.withheld ?? 'the secure worker withheld the average' };
      const aggregate: RoundAggregate = {
        round,
        contributors: [...s.contributors].sort(compareIds),
        numSamples: s.mean.numSamples,
        loss: s.mean.loss,
        weights: s.mean.weights,
        extras: s.mean.extras,
        metrics: s.mean.metrics,
      };
      return { aggregate };
    },
    missing: (session, view) => {
      const contributors = new Set(session.aggregate?.value.contributors ?? []);
      return missingFrom(view, (c) => contributors.has(c), session.aggregate ? 'its update did not reach the secure worker in time' : 'no aggregate from the secure worker');
    },
    rejected: (session) => session.aggregate?.value.rejected ?? 0,
  };
}

function sameAggregate(a: SecureAggregate, b: SecureAggregate): boolean {
  if (a === b) return true;
  if (a.round !== b.round || a.withheld !== b.withheld || a.contributors.join('\u0000') !== b.contributors.join('\u0000')) return false;
  if (!a.mean || !b.mean) return a.mean === b.mean;
  const same = (x: readonly Float64Array[], y: readonly Float64Array[]) => x.length === y.length && x.every((w, l) => w.length === y[l].length && w.every((v, j) => Object.is(v, y[l][j])));
  return (
    Object.is(a.mean.loss, b.mean.loss) &&
    a.mean.numSamples === b.mean.numSamples &&
    same(a.mean.weights, b.mean.weights) &&
    Object.keys(a.mean.extras).every((k) => b.mean!.extras[k] && same(a.mean!.extras[k], b.mean!.extras[k])) &&
    Object.keys(a.mean.metrics).every((k) => Object.is(a.mean!.metrics[k], b.mean!.metrics[k]))
  );
}
