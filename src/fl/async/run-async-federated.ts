/**
 * runAsyncFederated: an asynchronous federated run (FedBuff or FedAsync) as actors in one
 * simulation, with the same clients, fit protocol and run protocol as runFederated.
 *
 * A function of its own rather than an `async:` option of runFederated: the two runs share
 * the clients and messages but not the server, the settings that bound them (rounds versus
 * server/client updates), nor the strategies and aggregation modes they accept — so the
 * async run refuses, in one place, what cannot apply to it, and the sync engine's files stay
 * as they are.
 *
 *   const run = runAsyncFederated(sim, {
 *     model: nn.logistic(60, 10), clients, localEpochs: 1, batchSize: 10, lr: 0.05,
 *     async: { algorithm: 'fedbuff', concurrency: 10, bufferSize: 5, maxServerUpdates: 50 },
 *   });
 *   const result = await run;   // result.rounds: one RoundMetrics per server update (round = model version)
 *
 * Refused: aggregation other than 'plain' (a secure sum needs a fixed cohort per round),
 * `dp` and `dpSgd` (their accountants count synchronous rounds), algorithms other than plain
 * FedAvg local training (FedBuff and FedAsync are the server's strategies here), per-client
 * and train-set evaluations (only the central test set is evaluated, at each server update).
 */
import { awaitOutcome, runHandle, startRun } from '../rounds/run-handle.js';
import { ReplaySubject, filter, type Subscription } from 'rxjs';
import type { Envelope } from '../../runtime/envelope.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import { plainClient } from '../aggregators/plain.js';
import type { DevicePopulation } from '../devices/population.js';
import { FederatedRunError, FlConfigError } from '../errors.js';
import { FederatedConfigSchema } from '../fedavg/config.js';
import { hold } from '../fedavg/held.js';
import { ModelWorkspace } from '../fedavg/workspace.js';
import { ByteMeter } from '../metrics/byte-meter.js';
import { ClientMeter } from '../metrics/client-meter.js';
import { asyncClientRows } from '../metrics/client-rounds.js';
import type { RoundBytes, RoundMetrics } from '../metrics/round-metrics.js';
import { createModel } from '../models/create.js';
import { type ModelSpec, parseModelSpec } from '../models/spec.js';
import { type Weights, weightsSha256 } from '../models/weights.js';
import { FL, type RoundEnd, type RoundSummary, type RunOutcome } from '../rounds/protocol.js';
import { type FederatedOptions, type FederatedResult, type FederatedRun, clientSampleCounts } from '../rounds/run-federated.js';
import { type ClientData, arrayRoster } from '../rounds/client-source.js';
import { clientDevice } from '../devices/client-device.js';
import { indexOfSortedId } from '../rounds/client-pool.js';
import { trainConfigOf, trainingProblems } from '../rounds/training-rules.js';
import { createStrategy } from '../strategies/create.js';
import { compareIds } from '../strategies/strategy.js';
import { type AsyncSettingsInput, asyncPlanOf, parseAsyncSettings } from './async-settings.js';
import { asyncServer } from './async-server-machine.js';
import type { AsyncUpdateNote } from './async-updates.js';
import { parallelTraining } from '../parallel/parallel-training.js';

export interface AsyncFederatedOptions extends Omit<FederatedOptions, 'rounds' | 'strategy'> {
  async: AsyncSettingsInput;
  /** Device profiles and availability of the clients, by index in their sorted ids: only online clients are dispatched to. */
  devices?: DevicePopulation;
  /** Only FedAvg's local training (the default); FedBuff / FedAsync are chosen by `async.algorithm`. */
  strategy?: { name: 'fedavg' };
}

const isModel = (m: unknown): m is { spec: ModelSpec; getWeights(): Weights } => typeof (m as { getWeights?: unknown })?.getWeights === 'function';

/** The settings an async run cannot take, as one refusal naming each field. */
function refuseSyncOnly(options: AsyncFederatedOptions & Record<string, unknown>): void {
  const problems: string[] = [];
  const field = (name: string, why: string) => options[name] !== undefined && problems.push(`${name}: ${why}`);
  field('rounds', 'an async run has no rounds; bound it with async.maxServerUpdates or async.maxClientUpdates');
  field('fraction', 'an async run keeps async.concurrency clients training instead of sampling a fraction per round');
  field('minClients', 'use async.concurrency');
  field('roundPolicy', 'an async run has no rounds to over-select or to skip; async.concurrency and async.bufferSize say how many train and how many make an update');
  field('dp', 'client-level DP accounts synchronous rounds of a fixed sampling; it is not available under async');
  field('dpSgd', 'DP-SGD accounting is per synchronous round; it is not available under async');
  field('secureWorkerId', 'secure aggregation is not available under async');
  field('additive', 'secure aggregation is not available under async');
  field('secagg', 'secure aggregation is not available under async');
  if (options.aggregation !== undefined && options.aggregation !== 'plain') {
    problems.push(`aggregation: '${String(options.aggregation)}' needs a fixed cohort per round; an async run aggregates in the clear ('plain')`);
  }
  const strategy = options.strategy as { name?: unknown } | undefined;
  if (strategy !== undefined && (typeof strategy !== 'object' || strategy.name !== 'fedavg' || Object.keys(strategy).length !== 1)) {
    problems.push(`strategy: under async the server's strategy is async.algorithm (fedbuff or fedasync) and clients train as FedAvg's; found ${JSON.stringify(strategy.name ?? strategy)}`);
  }
  for (const evaluation of ['clientEvaluation', 'trainEvaluation'] as const) {
    if (options[evaluation] !== undefined && options[evaluation] !== 'none') problems.push(`${evaluation}: an async run evaluates the central test set (testSet) at each server update only; set 'none' or leave it out`);
  }
  if (problems.length > 0) throw new FlConfigError(`runAsyncFederated: these settings do not apply to an asynchronous run:\n  ${problems.join('\n  ')}`, { field: problems[0].split(':')[0] });
}

/** An async run's settings: the sync ones but the rounds and strategy. Made once (zod compiles a schema on its first parse). */
const AsyncSettingsSchema = FederatedConfigSchema.omit({ rounds: true, strategy: true }).strict();

export function runAsyncFederated(sim: SimulationCore, options: AsyncFederatedOptions): FederatedRun {
  refuseSyncOnly(options as AsyncFederatedOptions & Record<string, unknown>);
  const { clients: _clients, testSet: _testSet, runId: _runId, model, strategy: _strategy, async: asyncOption, devices, clientEvaluation: _ce, trainEvaluation: _te, workers, ...settings } = options;
  const parsed = AsyncSettingsSchema.safeParse({ ...settings, model: isModel(model) ? model.spec : model });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlConfigError(`runAsyncFederated: ${issue.path.join('.') || '(options)'}: ${issue.message}`, { field: issue.path.join('.') });
  }
  const config = parsed.data;
  const plan = asyncPlanOf(parseAsyncSettings(asyncOption), config, devices !== undefined);
  const n = (options.clients as readonly ClientData[]).length;
  if (typeof n !== 'number') throw new FlConfigError('runAsyncFederated: clients must be an array of client data sets (the lazy source { count, data } is for synchronous runs)', { field: 'clients' });
  if (n === 0) throw new FlConfigError('runAsyncFederated: no clients; give at least one client data set', { field: 'clients' });
  if (plan.concurrency > n) throw new FlConfigError(`runAsyncFederated: async.concurrency ${plan.concurrency} is more than the ${n} clients; at most ${n} can train at once`, { field: 'async.concurrency' });
  if (devices && devices.size !== n) throw new FlConfigError(`runAsyncFederated: devices has ${devices.size} devices for ${n} clients; give one device per client (by index in the sorted client ids)`, { field: 'devices' });
  const strategy = createStrategy({ name: 'fedavg' });
  const spec = parseModelSpec(config.model, 'runAsyncFederated: model');
  const clients = options.clients as readonly ClientData[];
  const { ids, sortedIds } = arrayRoster(clients);
  const workspace = new ModelWorkspace();
  const runId = options.runId ?? 'run-1';
  const serverId = config.serverId;

  let initialWeights: Weights;
  let maxSamplesPerClient: number;
  let parallel: ReturnType<typeof parallelTraining>;
  try {
    const problems = trainingProblems(config, strategy, spec);
    if (problems.length > 0) {
      const lines = problems.map((p) => `${p.path.map(String).join('.')}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`);
      throw new FlConfigError(`runAsyncFederated: these settings cannot run:\n  ${lines.join('\n  ')}`, { field: problems[0].path.map(String).join('.') });
    }
    maxSamplesPerClient = clientSampleCounts(config as never, spec, clients, ids, workspace).reduce((a, b) => Math.max(a, b), 1);
    if (isModel(model)) initialWeights = model.getWeights();
    else {
      const init = createModel(spec, sim.rng('model/init'));
      initialWeights = init.getWeights();
      init.dispose();
    }
    // Last: nothing after it can fail before cleanup owns it.
    parallel = parallelTraining(sim, workers, ((set) => (id: string) => set.has(id))(new Set(ids)), 'runAsyncFederated');
  } catch (error) {
    workspace.dispose();
    throw error;
  }

  // Bytes are counted per dispatch (the fit's and the update's `round` is the dispatch number); a server update's bytes are its updates' dispatches'.
  const meter = new ByteMeter({ [FL.fit]: 'bytesDown', [FL.fitResult]: 'bytesUp' }).attach(sim, new Set([serverId, ...ids]));
  const clientIdSet = new Set(ids);
  const clientMeter = new ClientMeter({ [FL.fit]: 'bytesDown', [FL.fitResult]: 'bytesUp' }).attach(sim, (id) => clientIdSet.has(id));
  const bytesOf = (report: RoundSummary): RoundBytes => {
    const total: RoundBytes = { bytesUp: 0, bytesDown: 0, bytesAggregate: 0 };
    for (const d of (report.notes?.async as unknown as AsyncUpdateNote | undefined)?.dispatches ?? []) {
      const b = meter.round(d);
      total.bytesUp += b.bytesUp;
      total.bytesDown += b.bytesDown;
    }
    return total;
  };
  const toMetrics = (report: RoundSummary, lost: boolean): RoundMetrics => ({
    round: report.round,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
    selected: report.selected,
    participants: report.participants,
    finished: report.finished,
    dropped: report.dropped,
    drops: report.drops,
    durationMs: report.endedAt - report.startedAt,
    failures: report.failures,
    rejectedUpdates: report.rejectedUpdates,
    trainLoss: report.trainLoss,
    numSamples: report.numSamples,
    ...bytesOf(report),
    ...(report.central ? { testLoss: report.central.loss, ...(report.central.accuracy !== undefined ? { testAccuracy: report.central.accuracy } : {}) } : {}),
    ...(report.notes ? { notes: report.notes } : {}),
    ...(lost ? { reportLost: true as const } : {}),
  });
  const updates: RoundMetrics[] = [];
  const metrics$ = new ReplaySubject<RoundMetrics>();
  const reported = new Set<number>();
  const emit = (report: RoundSummary, lost: boolean) => {
    if (reported.has(report.round)) return; // a duplicated report counts once
    reported.add(report.round);
    const m = toMetrics(report, lost);
    updates.push(m);
    metrics$.next(m);
  };
  let outcome: RunOutcome | null = null;
  const fromServer = (e: Envelope) => e.from === serverId;
  const subscriptions: Subscription[] = [
    sim.driver.unsolicited$.pipe(filter((e) => fromServer(e) && e.type === FL.roundEnd)).subscribe((e) => emit(e.payload as RoundEnd, false)),
    sim.driver.unsolicited$.pipe(filter((e) => fromServer(e) && e.type === FL.runResult && (e.payload as RunOutcome)?.runId === runId)).subscribe((e) => {
      outcome ??= e.payload as RunOutcome;
    }),
  ];
  const cleanup = () => {
    for (const s of subscriptions) s.unsubscribe();
    meter.detach();
    clientMeter.detach();
    workspace.dispose();
    parallel.close();
  };

  const start = () => sim.request(serverId, FL.run, { runId }, { timeout: config.controlRetryMs });
  let firstStart: ReturnType<typeof start>;
  try {
    clients.forEach((c, i) => {
      // A client's device is its index in the sorted ids (devices/population.ts): its fits then cost its device's time.
      const device = devices ? { device: clientDevice(devices, indexOfSortedId(sortedIds, ids[i])) } : {};
      sim.spawn(plainClient, ids[i], {
        input: { data: hold({ x: c.x, y: c.y }), spec, workspace, algorithm: strategy.client, cost: config.cost, slowdown: c.slowdown ?? 1, localTrainer: config.localTrainer, ...device, ...(parallel.pretrained ? { pretrained: parallel.pretrained } : {}) },
      });
    });
    sim.spawn(asyncServer, serverId, {
      input: {
        clients: sortedIds,
        plan,
        spec,
        initialWeights: hold(initialWeights),
        trainConfig: trainConfigOf(config),
        maxSamplesPerClient,
        testSet: options.testSet ? hold(options.testSet) : undefined,
        workspace,
        ...(devices ? { devices } : {}),
        controlRetryMs: config.controlRetryMs,
        controlAttempts: config.controlAttempts,
      },
    });
    firstStart = start();
  } catch (error) {
    cleanup();
    metrics$.complete();
    throw error;
  }

  const finish = async (): Promise<FederatedResult> => {
    await parallel.ready();
    const answer = await awaitOutcome(sim, {
      runId,
      serverId,
      label: 'async federated run',
      // fl/run until the server accepts it (a lost request or answer is retried).
      started: () => startRun(firstStart, start, config.controlAttempts, (early) => (outcome ??= early)),
      outcome: () => outcome,
      crashed: () => (sim.actor(serverId).crashed ? [serverId] : []),
      reported: () => updates.length,
    });
    for (const summary of answer.history) emit(summary, true);
    updates.sort((a, b) => a.round - b.round);
    if (answer.failure) {
      const f = answer.failure;
      throw new FederatedRunError(`server '${serverId}' (model version ${f.round}): the async federated run stopped (${f.kind}): ${f.detail}`, f);
    }
    // Bytes of an update's dispatches may have grown after its report (a duplicated message): the final counts.
    const rounds = updates.map((m) => ({ ...m, ...bytesOf(m as RoundSummary) }));
    return {
      rounds,
      weights: answer.weights,
      weightsSha256: weightsSha256(answer.weights),
      spec,
      clientIds: ids,
      virtualTime: sim.now(),
      bytesByLink: meter.byLink(),
      clientRounds: asyncClientRows(rounds, clientMeter),
    };
  };
  return runHandle({ finish, cleanup, metrics$, serverId, clientIds: ids });
}
