/**
 * 'secagg+' aggregation, server side (Bonawitz et al. 2017, Bell et al. 2020, as Flower's
 * SecAggPlusWorkflow): clients answer the fit with fl/fit-done; when all have (or at the
 * deadline) the server starts a SecAgg+ round among those that trained and waits for its
 * result — the unmasked SUM of their packed updates, never one of them. Dropouts within
 * the protocol's threshold are tolerated there; the round commits the survivors' sum.
 *
 * Under faults: a retry re-sends the fits of clients that have not reported fit-done
 * (they answer from storage) and, once SecAgg+ runs, the same start (the SecAgg+ server
 * answers a repeated start of a round from what it did); the closing phase waits for the
 * result at most `secAggWaitMs`. An abort, an error reply or no answer skips the round
 * with the reason; a result whose contributor count does not match its survivors, or
 * whose survivors were not all trained this round, is refused.
 *
 * Under distributed DP (`dp.mode: distributed`, src/dp/distributed/) the clients hand SecAgg+
 * their clipped updates already noised and encoded in Z_{2^bits} (encoding 'ring'; the ring is
 * 2^dp.distributed.bits, secagg.modulusRange is not used): each round the server draws a
 * rotation seed, sends it with the run's plan in the fit's report, decodes the unmasked sum
 * to Σ Δ̃ + noise and hands the DP strategy the mean over the survivors with the round's
 * participant count (how much noise went in). A round skipped after SecAgg+ may have
 * unmasked a sum says so (secureSum), so that the strategy accounts it.
 */
import { z } from 'zod';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { ERROR_REPLY, type ErrorPayload } from '../../runtime/envelope.js';
import { type SecAggOptions, SecAggOptionsSchema, defaultSecAggShares } from '../fedavg/secure-options.js';
import { type Held, hold } from '../fedavg/held.js';
import { dequantize } from '../secure/crypto/quantize.js';
import { parseSecAggParams, quantizationTarget, resolveRoundConfig } from '../secure/secagg/params.js';
import { type AbortedPayload, type ResultPayload, SECAGG } from '../secure/secagg/protocol.js';
import { secAggServerMachine } from '../secure/secagg/server-machine.js';
import { SECAGG_STAGES } from '../secure/secagg/errors.js';
import { type Aggregator, type AggregatorSetup, type RoundView, type RunShape, type SettingProblem, perRoundText } from '../rounds/aggregator.js';
import { parseMessage } from '../rounds/protocol.js';
import { packedLength, unpackSum } from '../rounds/round-aggregate.js';
import { compareIds } from '../strategies/strategy.js';
import { FlInvariantError } from '../errors.js';
import { decodeSum } from '../../dp/distributed/decode.js';
import { distributedPlanFor, drawRotationSeed, meanFromSum, rotationSeedStream } from '../../dp/distributed/fedavg.js';
import type { DistributedDpPlan } from '../../dp/distributed/plan.js';
import type { ClientDistributedDpConfig } from '../../dp/distributed/client-checks.js';
import type { AggregatorSettings } from './registry.js';
import { missingFrom } from './round-helpers.js';
import { FIT_DONE, FitDoneSchema, secAggPlusClient } from './secagg-plus-client.js';

/** A SecAgg+ client's failure as the SecAgg+ server reported it (its own refusal reason, e.g. a distributed-DP plan it would not encode with). */
type ClientFailure = ResultPayload['failures'][number];
type Answer = { kind: 'result'; result: ResultPayload } | { kind: 'aborted'; reason: string; failures?: readonly ClientFailure[] };

interface Session {
  round: number;
  /** Clients that reported fl/fit-done, sorted. */
  trained: readonly string[];
  /** The start sent to the SecAgg+ server (participants and shares), once sent. */
  start: Held<{ round: number; participants: string[]; vectorLength: number; params: { numShares: number; reconstructionThreshold: number } }> | null;
  /** Virtual time the start last went out (it is re-sent at the control-message interval, not at every retry). */
  startSentAt: number;
  answer: Held<Answer> | null;
  /** Why no SecAgg+ round could start (fewer than 2 trained by the deadline). */
  cannotStart: string | null;
  closing: boolean;
  /** Distributed DP: the round's rotation seed (sent in the fits, used to decode). */
  rotationSeed: string | null;
}

/** This mode's fields of a run's settings (merged into the run's config schema by the registry). */
export const secAggPlusSettings = {
  /** Actor id of the SecAgg+ server. */
  secAggServerId: z.string().regex(/^[^\s→]+$/).default('secagg_server'),
  /** SecAgg+ settings (see fedavg/secure-options.ts). */
  secagg: SecAggOptionsSchema.optional(),
};

const SettingsSchema = z.object(secAggPlusSettings);

/** How many shares, and which threshold, a round of n participants uses. */
function roundShares(options: SecAggOptions, n: number) {
  const defaults = defaultSecAggShares(n);
  const numShares = options.numShares ?? defaults.numShares;
  const reconstructionThreshold = options.reconstructionThreshold ?? (options.numShares === undefined ? defaults.reconstructionThreshold : Math.floor(Math.min(numShares, n) / 2) + 1);
  return { numShares, reconstructionThreshold };
}

/** The run's rounds (the distributed-DP overflow bound is a union over them; the run's config always has them). */
function roundsOf(settings: AggregatorSettings): number {
  const rounds = settings.rounds;
  if (typeof rounds !== 'number' || !Number.isSafeInteger(rounds) || rounds < 1) {
    throw new FlInvariantError(`secagg+ under distributed DP: the run's settings carry no round count (got ${String(rounds)}); the overflow bound needs it`, { field: 'rounds' });
  }
  return rounds;
}

export const secAggPlusHelpers = (settings: AggregatorSettings): string[] => [SettingsSchema.parse({ secAggServerId: settings.secAggServerId, secagg: settings.secagg }).secAggServerId];

/**
 * SecAgg+ settings that would skip every round: fewer than 2 clients a round; a threshold
 * the protocol refuses for this many participants (above the shares, or not a majority —
 * the protocol's own rule, resolveRoundConfig); a clipping range below 1 (the packed
 * vector carries the weight ratio and a count of 1, which clipping would destroy); a
 * maxWeight below some client's sample count (that client would be refused every round).
 */
export function checkSecAggPlus(settings: AggregatorSettings, run: RunShape): SettingProblem[] {
  const options = SettingsSchema.parse({ secAggServerId: settings.secAggServerId, secagg: settings.secagg }).secagg ?? SecAggOptionsSchema.parse({});
  const n = run.clientsPerRound;
  const perRound = perRoundText(n);
  if (n < 2) return [{ path: ['aggregation'], expected: `an aggregation that works with ${perRound}: 'secagg+' needs at least 2 clients per round (raise fraction or minClients)` }];
  const problems: SettingProblem[] = [];
  const { maxWeight: _bound, numShares: _k, reconstructionThreshold: _t, ...protocol } = options;
  // Under distributed DP the clients hand in ring vectors: the quantised encoding's wrap rule does not apply (the DP plan has its own bound).
  const distributed = (settings.dp as { mode?: string } | undefined)?.mode === 'distributed';
  try {
    resolveRoundConfig(parseSecAggParams({ ...protocol, ...(distributed ? { encoding: 'ring' } : {}), ...roundShares(options, n) }, 'secagg'), 1, n);
  } catch (error) {
    const field = options.reconstructionThreshold !== undefined ? ['secagg', 'reconstructionThreshold'] : ['secagg', 'numShares'];
    problems.push({ path: field, expected: `settings SecAgg+ can run with ${perRound}`, found: (error as Error).message.replace(/^SecAgg\+ round 1: /, '') });
  }
  // Nor are the clipping range and maxWeight of the quantised encoding.
  if (!distributed && options.clippingRange < 1) {
    problems.push({ path: ['secagg', 'clippingRange'], expected: 'at least 1: each masked vector carries the client\'s weight ratio n_k / maxWeight ≤ 1 and a count of 1, which a smaller range would clip (every round would then be refused as a mix)' });
  }
  if (!distributed && options.maxWeight !== undefined && run.maxSamplesPerClient !== undefined && options.maxWeight < run.maxSamplesPerClient) {
    problems.push({
      path: ['secagg', 'maxWeight'],
      expected: `at least ${run.maxSamplesPerClient} (the largest client's sample count): a client with more samples than maxWeight refuses every round, since its weighted update could leave the clipping range`,
    });
  }
  return problems;
}

export function secAggPlusAggregator(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator<Session> {
  const parsed = SettingsSchema.parse({ secAggServerId: settings.secAggServerId, secagg: settings.secagg });
  const options = parsed.secagg ?? SecAggOptionsSchema.parse({});
  const serverId = parsed.secAggServerId;
  const maxWeight = options.maxWeight ?? setup.maxSamplesPerClient;
  const { maxWeight: _bound, numShares: _n, reconstructionThreshold: _t, ...protocol } = options;
  const placeholder = defaultSecAggShares(2);
  // Distributed DP: the run's plan (refused here, naming the dp field, if its sums could overflow).
  const plan: DistributedDpPlan | null =
    setup.dp?.mode === 'distributed'
      ? distributedPlanFor(setup.dp, { length: setup.layout.reduce((n, w) => n + w.length, 0), clients: setup.clients.length, rounds: roundsOf(settings) })
      : null;
  const serverParams = {
    ...protocol,
    ...(plan ? { encoding: 'ring' as const, modulusRange: plan.modulus } : {}),
    numShares: options.numShares ?? placeholder.numShares,
    reconstructionThreshold: options.reconstructionThreshold ?? placeholder.reconstructionThreshold,
  };
  // Fail now, naming the field, rather than at every round's start.
  parseSecAggParams(serverParams, 'runFederated: secagg');
  const vectorLength = plan ? plan.dimension : packedLength(setup.layout, setup.reports);
  const startRetryMs = typeof settings.controlRetryMs === 'number' ? settings.controlRetryMs : 5_000;
  // The stage timeouts of setup, share-keys, collect-masked-input, consistency-check and unmask, and one more for the messages around them.
  const waitMs = (SECAGG_STAGES.length + 1) * options.timeout;
  const who = (view: RoundView) => `server '${view.io.id}' (round ${view.round}, secagg+)`;

  const startIfReady = (session: Session, view: RoundView, force: boolean): Session => {
    if (session.start || session.cannotStart) return session;
    const waiting = view.selected.filter((c) => !session.trained.includes(c) && !view.refused[c]);
    if (waiting.length > 0 && !force) return session;
    const participants = [...session.trained].sort(compareIds);
    if (participants.length < 2) return { ...session, cannotStart: `SecAgg+: only ${participants.length} client(s) trained before the deadline; a secure sum needs at least 2` };
    const start = { round: session.round, participants, vectorLength, params: roundShares(options, participants.length) };
    view.io.send(serverId, SECAGG.start, start);
    return { ...session, start: hold(start), startSentAt: view.io.now() };
  };

  return {
    name: 'secagg+',
    reveals: 'sum',
    serverMessages: [FIT_DONE, SECAGG.result, SECAGG.aborted],
    byteKinds: { [SECAGG.maskedInput]: 'bytesUp', [SECAGG.result]: 'bytesAggregate' },
    helpers: () => [{ id: serverId, logic: secAggServerMachine, input: { params: serverParams } }],
    clientLogic: () => secAggPlusClient,
    // Distributed DP: each client's own copy of the run's dp settings and shape, from which it derives its plan (never from the fit).
    clientInput: () =>
      plan && setup.dp
        ? {
            distributedDp: {
              settings: { clip: setup.dp.clip, noiseMultiplier: setup.dp.noiseMultiplier, distributed: setup.dp.distributed },
              run: { length: setup.layout.reduce((n, w) => n + w.length, 0), clients: setup.clients.length, rounds: roundsOf(settings) },
              ...(options.numShares !== undefined ? { numShares: options.numShares } : {}),
            } satisfies ClientDistributedDpConfig,
          }
        : {},
    open(view) {
      const rotationSeed = plan ? drawRotationSeed(view.io.derivedRng(rotationSeedStream(view.round))) : null;
      const session: Session = { round: view.round, trained: [], start: null, startSentAt: 0, answer: null, cannotStart: null, closing: false, rotationSeed };
      if (view.selected.length < 2) return { session, skip: `SecAgg+ needs at least 2 clients in a round, ${view.selected.length} selected` };
      return { session, report: { protocol: 'secagg+', maxWeight, ...(plan ? { dp: { rotationSeed, plan } } : {}) } };
    },
    receive(session, message: ActorMessage, view) {
      const { envelope } = message;
      if (message.type === FIT_DONE) {
        const done = parseMessage(FitDoneSchema, message.payload, FIT_DONE, envelope.from, who(view));
        if (done.round !== session.round || !view.selected.includes(envelope.from) || session.trained.includes(envelope.from) || session.start) return session;
        return startIfReady({ ...session, trained: [...session.trained, envelope.from].sort(compareIds) }, view, false);
      }
      if (envelope.from !== serverId || session.answer || !session.start) return session;
      if (message.type === ERROR_REPLY) {
        const error = message.payload as ErrorPayload;
        return { ...session, answer: hold({ kind: 'aborted', reason: `SecAgg+ server '${serverId}' refused the round: ${error.name}: ${error.message}` }) };
      }
      if (message.type === SECAGG.aborted) {
        const aborted = message.payload as AbortedPayload;
        if (aborted.round !== session.round) return session;
        return { ...session, answer: hold({ kind: 'aborted', reason: `SecAgg+ aborted in stage ${aborted.stage}: ${aborted.reason}`, failures: aborted.failures }) };
      }
      const result = message.payload as ResultPayload;
      if (result.round !== session.round) return session;
      return { ...session, answer: hold({ kind: 'result', result }) };
    },
    complete: (session, view) => session.answer !== null || session.cannotStart !== null || (session.start === null && view.selected.every((c) => view.refused[c]) ),
    retry(session, view) {
      if (session.start) {
        // A SecAgg+ round takes up to five stage timeouts and its server ignores repeats of the start it runs:
        // re-send it only as often as a control message, so a lost start is recovered without flooding the log.
        if (session.answer || view.io.now() - session.startSentAt < startRetryMs) return { session, refit: [] };
        view.io.send(serverId, SECAGG.start, session.start.value);
        return { session: { ...session, startSentAt: view.io.now() }, refit: [] };
      }
      if (session.closing) return { session, refit: [] };
      return { session, refit: view.selected.filter((c) => !session.trained.includes(c) && !view.refused[c]) };
    },
    close(session, view) {
      const started = startIfReady({ ...session, closing: true }, view, true);
      return { session: started, waitMs: started.start ? waitMs : 0 };
    },
    aggregate(round, session, _failures, ctx) {
      if (session.cannotStart) return { skip: session.cannotStart };
      const answer = session.answer?.value;
      const start = session.start?.value;
      // Distributed DP: a sum of at least `threshold` noised inputs may have been unmasked by the SecAgg+ server though its answer never came.
      const mayHaveReleased = (minSurvivors: number) => (plan && start ? { secureSum: { participants: start.participants.length, minSurvivors } } : {});
      if (!answer) {
        return start
          ? { skip: `SecAgg+ server '${serverId}' gave no result in time; the old model is kept`, ...mayHaveReleased(start.params.reconstructionThreshold) }
          : { skip: 'SecAgg+ never started: no client finished training' };
      }
      if (answer.kind === 'aborted') return { skip: answer.reason };
      const { result } = answer;
      const survivors = [...result.survivors].sort(compareIds);
      const strangers = survivors.filter((s) => !session.start!.value.participants.includes(s));
      if (strangers.length > 0) return { skip: `SecAgg+: the result names survivors [${strangers.join(', ')}] that were not this round's participants`, ...mayHaveReleased(survivors.length) };
      if (plan) {
        // Σ Δ̃ + noise over the survivors, as the mean the DP strategy reads (w + sum/m; it takes m·(mean − w) back).
        const sum = decodeSum(result.quantizedSum, plan, session.rotationSeed!);
        return {
          aggregate: {
            round,
            contributors: survivors,
            numSamples: 0,
            loss: 0,
            weights: meanFromSum(ctx.view.weights, sum, survivors.length),
            extras: {},
            metrics: {},
            secureSum: { participants: session.start!.value.participants.length },
          },
        };
      }
      // Dequantise the exact quantised sum in float64 (the result's float32 sum would lose digits).
      const sum = dequantize(result.quantizedSum, result.config.clippingRange, quantizationTarget(result.config), survivors.length);
      const unpacked = unpackSum(round, sum, survivors, setup.layout, setup.reports, maxWeight);
      if (!unpacked) return { skip: "SecAgg+: the survivors' summed weight is not positive (every update was clipped or empty)" };
      if (Math.abs(unpacked.count - survivors.length) > 0.01) {
        return { skip: `SecAgg+: the unmasked sum holds ${unpacked.count.toFixed(3)} vectors, not one per survivor (${survivors.length}); the old model is kept` };
      }
      return { aggregate: unpacked.aggregate };
    },
    missing: (session, view) => {
      const answer = session.answer?.value;
      const survivors = answer?.kind === 'result' ? new Set(answer.result.survivors) : new Set<string>();
      const fallback = session.trained.length === view.selected.length ? 'it dropped out of the SecAgg+ round' : 'it did not finish training before the deadline, or dropped out of SecAgg+';
      // A client that refused a stage says why (the SecAgg+ server relays it): that reason, not a generic dropout.
      const failures = (answer?.kind === 'result' ? answer.result.failures : answer?.failures) ?? [];
      const why = new Map(failures.map((f) => [f.client, `it refused SecAgg+ at ${f.stage}: ${f.error}`]));
      return missingFrom(view, (c) => survivors.has(c), fallback).map((f) => (view.refused[f.clientId] || !why.has(f.clientId) ? f : { ...f, reason: why.get(f.clientId)! }));
    },
    rejected: () => 0,
  };
}
