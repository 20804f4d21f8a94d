/**
 * runFederated: a whole federated run as actors in one simulation, on the round engine.
 *
 * It checks everything it can before the run (the settings, the strategy against the
 * aggregator, every client's data against the model), spawns the aggregator's helpers,
 * the clients and the server, and starts the run. Awaiting the FederatedRun pumps the
 * simulation until the server's result arrives, then resolves to the per-round metrics
 * and the final weights. `run.metrics$` emits each round's metrics as its report reaches
 * the driver (subscribe before awaiting; it replays past rounds to late subscribers).
 *
 * Under faults: the start is retried until the server accepts it, the result is re-sent
 * by the server until this side acknowledges it, and reports lost on the way are
 * recovered from the result's history. A run that stops early rejects with a
 * FederatedRunError whose `reason.kind` says whose problem it was; `metrics$` completes
 * when the run ends either way (the failure is the awaited run's rejection).
 *
 *   const run = runFederated(sim, { model: nn.logistic(60, 10), clients, rounds: 100, … });
 *   run.metrics$.subscribe((m) => console.log(m.round, m.testAccuracy));
 *   const result = await run;
 */
import { awaitOutcome, runHandle, startRun } from './run-handle.js';
import { ReplaySubject, type Observable, type Subscription, filter } from 'rxjs';
import type { Envelope } from '../../runtime/envelope.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import type { PlacedActorSpec } from '../../runtime/transport/transport.js';
import type { AnyActorLogic } from 'xstate';
import type { OnDemandActor } from '../../runtime/on-demand-actors.js';
import { type AggregatorSettings, aggregationProblems, createAggregator } from '../aggregators/registry.js';
import { FederatedRunError, FlConfigError } from '../errors.js';
import { type FederatedConfig, type FederatedConfigInput, parseFederatedConfig } from '../fedavg/config.js';
import { hold } from '../fedavg/held.js';
import { ModelWorkspace } from '../fedavg/workspace.js';
import { ByteMeter } from '../metrics/byte-meter.js';
import { ClientMeter } from '../metrics/client-meter.js';
import { type ClientRoundRow, syncClientRows } from '../metrics/client-rounds.js';
import { type RoundMetrics, pooledEvaluation } from '../metrics/round-metrics.js';
import { createModel } from '../models/create.js';
import type { Model } from '../models/model.js';
import { type ModelSpec, parseModelSpec } from '../models/spec.js';
import { type Weights, weightsSha256 } from '../models/weights.js';
import { type StrategyConfig, createStrategy } from '../strategies/create.js';
import { SamplingStrategy, type Strategy } from '../strategies/strategy.js';
import { type Dataset, concatDatasets } from '../training/dataset.js';
import { type Evaluation, evaluateModel } from '../training/evaluate.js';
import { dpRunProblems, withDp } from '../../dp/fedavg/with-dp.js';
import { FL, type RoundEnd, type RoundSummary, type RunOutcome, type RunStop } from './protocol.js';
import { roundServer } from './server-machine.js';
import { clientsPerRoundOf, roundSizeProblems, trainConfigOf, trainingProblems, withRunSampling } from './training-rules.js';
import type { DevicePopulation } from '../devices/population.js';
import { clientDevice } from '../devices/client-device.js';
import { indexOfSortedId } from './client-pool.js';
import { roundPolicyProblems } from './round-policy.js';
import { type WorkersOption, parallelTraining } from '../parallel/parallel-training.js';
import { type ClientData, type ClientsOption, type LazyClients, arrayRoster, checkClientData, isLazyClients, lazyClientData, lazyRoster } from './client-source.js';

export type { ClientData, LazyClients } from './client-source.js';
export { lazyClients } from './client-source.js';

export interface FederatedOptions extends Omit<FederatedConfigInput, 'model' | 'strategy'> {
  /** A spec (initialised from `sim.rng('model/init')`) or a model whose current weights start the run. */
  model: ModelSpec | Model;
  /**
   * Every client's data, or a lazy source (client-source.ts: a count and a function, for
   * populations too large to hold; clients are then spawned on their first message).
   */
  clients: ClientsOption;
  /** The server's central test set. */
  testSet?: Dataset;
  /** A strategy object (used for this run only), or its config (default FedAvg). */
  strategy?: Strategy<any> | FederatedConfigInput['strategy'];
  /** Names the run in its messages (default `run-1`); a server takes one run. */
  runId?: string;
  /**
   * The clients' devices, by index in the sorted client ids (devices/population.ts): each
   * client's fit then costs its device's time (devices/fit-duration.ts) instead of `cost` ×
   * `slowdown`, and an availability trace decides who can be selected and who drops out.
   */
  devices?: DevicePopulation;
  /**
   * Threads that train the selected clients' local updates (default 1: the simulation's own
   * thread), or a TrainingPool to share. The run is the same — event log and weights, bit for
   * bit — with any number (src/fl/parallel/).
   */
  workers?: WorkersOption;
  /**
   * Live runs: the clients are hosted by `fedsim worker` processes instead of being spawned
   * here; each is placed with the JSON this returns, from which its worker rebuilds the same
   * actor (src/fl/experiments/placed-clients.ts). The server stays in this process.
   */
  placeClient?: (id: string) => PlacedActorSpec;
}

export interface FederatedResult {
  rounds: RoundMetrics[];
  weights: Weights;
  /** sha256 of the final weights' bytes (weightsSha256): equal across runs exactly when the models are. */
  weightsSha256: string;
  spec: ModelSpec;
  clientIds: string[];
  /** Virtual time when the server's result arrived. */
  virtualTime: number;
  /** Bytes of model-carrying messages per link `from→to`. */
  bytesByLink: Record<string, number>;
  /** Per client and round: participation or drop (why), bytes, reported samples and loss, training time (metrics/client-rounds.ts). */
  clientRounds: ClientRoundRow[];
  /** Set when the strategy ended the run early (e.g. its privacy budget was spent): complete, with fewer rounds. */
  stopped?: RunStop;
}

export interface FederatedRun extends PromiseLike<FederatedResult> {
  readonly metrics$: Observable<RoundMetrics>;
  readonly serverId: string;
  readonly clientIds: readonly string[];
}

const isModel = (m: ModelSpec | Model): m is Model => typeof (m as Model).getWeights === 'function';
const isStrategy = (s: unknown): s is Strategy<any> => typeof (s as Strategy)?.aggregate === 'function' && typeof (s as Strategy)?.configure === 'function';

function resolveStrategy(options: FederatedOptions, config: FederatedConfig, clients: number): Strategy<any> {
  let strategy: Strategy<any>;
  if (isStrategy(options.strategy)) {
    strategy = options.strategy;
    if (strategy instanceof SamplingStrategy && options.fraction !== undefined && options.fraction !== strategy.fraction) {
      throw new FlConfigError(`runFederated: fraction ${options.fraction} differs from the strategy object's ${strategy.fraction}; set it in one place`, { field: 'fraction' });
    }
  } else strategy = createStrategy(withRunSampling(config.strategy as StrategyConfig, config));
  if (!config.dp) return strategy;
  // Under `dp` the run's strategy steps on the privatised average (src/dp/fedavg/): its settings are checked against the run first.
  const problems = dpRunProblems(config.dp, strategy, { ...config, strategy: isStrategy(options.strategy) ? undefined : (config.strategy as StrategyConfig) }, clients, ['strategy']);
  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.path.map(String).join('.')}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`);
    throw new FlConfigError(`runFederated: these dp settings cannot run:\n  ${lines.join('\n  ')}`, { field: problems[0].path.map(String).join('.') });
  }
  return withDp(strategy, config.dp, clients, config.rounds);
}

/**
 * The aggregation's settings against the rounds this run will have and the strategy it
 * serves (aggregators/registry.ts decides per mode): refused here, naming each field,
 * rather than skipping every round.
 */
function refuseAggregation(config: FederatedConfig, strategy: Strategy<any>, clients: number, maxSamplesPerClient: number): void {
  const clientsPerRound = clientsPerRoundOf(strategy, clients);
  const problems = aggregationProblems(config.aggregation, config as unknown as AggregatorSettings, { clientsPerRound, maxSamplesPerClient, strategy });
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.path.map(String).join('.')}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`);
  throw new FlConfigError(`runFederated: aggregation '${config.aggregation}' cannot run these rounds:\n  ${lines.join('\n  ')}`, { field: problems[0].path.map(String).join('.') });
}

/** Training settings that cannot work together, and rounds too small for the strategy (training-rules.ts: preflight uses the same rules). */
function refuseTraining(config: FederatedConfig, strategy: Strategy<any>, spec: ModelSpec, clientsPerRound: number): void {
  const problems = [...trainingProblems(config, strategy, spec), ...roundSizeProblems(strategy, clientsPerRound)];
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.path.map(String).join('.')}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`);
  throw new FlConfigError(`runFederated: these settings cannot run:\n  ${lines.join('\n  ')}`, { field: problems[0].path.map(String).join('.') });
}

/**
 * A device population must have one device per client, and it replaces the cost model: a
 * `cost` or a client's `slowdown` beside it would be silently ignored, so both are refused
 * (a slowdown of 1 is the neutral default and is let through).
 */
function refuseDevices(devices: DevicePopulation | undefined, config: FederatedConfig, clients: readonly ClientData[], ids: readonly string[]): void {
  if (!devices) return;
  if (devices.size !== ids.length) {
    throw new FlConfigError(`runFederated: devices has ${devices.size} devices for ${ids.length} clients; give one device per client, by index in the sorted client ids`, { field: 'devices' });
  }
  if (config.dp && devices.availability) {
    throw new FlConfigError(
      'runFederated: dp with an availability trace: the accountant assumes every registered client can be sampled each round (Poisson or fixed-size over all of them), but a trace decides who is online; drop devices.availability or dp',
      { field: 'dp' },
    );
  }
  if (config.cost) {
    throw new FlConfigError(`runFederated: cost ${JSON.stringify(config.cost)} and devices both say what a fit costs; with devices a fit costs its device's time (devices/fit-duration.ts): drop cost, or drop devices`, { field: 'cost' });
  }
  const slow = clients.findIndex((c) => c.slowdown !== undefined && c.slowdown !== 1);
  if (slow >= 0) {
    throw new FlConfigError(`runFederated: client '${ids[slow]}' has slowdown ${clients[slow].slowdown}, but devices set every client's speed; give that device a lower samplesPerSecond instead, or drop devices`, { field: `clients[${slow}].slowdown`, actor: ids[slow] });
  }
}

/** Round policies the run cannot have (round-policy.ts), before it starts. */
function refuseRoundPolicy(config: FederatedConfig, clientsPerRound: number): void {
  const problems = roundPolicyProblems(config.roundPolicy, { aggregation: config.aggregation, dp: config.dp, clientsPerRound });
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.path.map(String).join('.')}: expected ${p.expected}${p.found ? `, found ${p.found}` : ''}`);
  throw new FlConfigError(`runFederated: this round policy cannot run:\n  ${lines.join('\n  ')}`, { field: problems[0].path.map(String).join('.') });
}

/** Each client's n_k; refuses, naming the client, a model that does not fit some client's data. */
export function clientSampleCounts(config: FederatedConfig, spec: ModelSpec, clients: readonly ClientData[], ids: readonly string[], workspace: ModelWorkspace): number[] {
  const model = workspace.model(spec);
  const loss = config.loss ?? model.loss;
  return clients.map((c, i) => checkClientData(c, ids[i], `clients[${i}]`, model, loss, spec));
}

/**
 * A lazy source has no client data before a client is messaged: what needs every client's
 * data is refused, and the default per-client evaluation (which evaluates only clients with
 * a test split) does nothing.
 */
function lazySourceConfig(options: FederatedOptions, config: FederatedConfig): FederatedConfig {
  for (const field of ['clientEvaluation', 'trainEvaluation'] as const) {
    const asked = options[field];
    if (asked !== undefined && asked !== 'none') {
      throw new FlConfigError(
        `runFederated: ${field} '${asked}' evaluates the model on every client's data, which a lazy client source (clients: { count, data }) never holds at once; set ${field}: 'none', or give the clients as an array`,
        { field },
      );
    }
  }
  return { ...config, clientEvaluation: 'none', trainEvaluation: 'none' };
}

/**
 * Registers the lazy source's clients to be spawned on their first message. Refuses a
 * server or helper whose id a client would have (the array form's spawn refuses it too).
 */
function spawnOnDemand(sim: SimulationCore, roster: ReturnType<typeof lazyRoster>, others: readonly string[], create: (index: number, id: string) => OnDemandActor): void {
  const clash = others.find((id) => roster.isClient(id));
  if (clash !== undefined) throw new FlConfigError(`runFederated: the actor '${clash}' has the id of client ${roster.indexOf(clash)} of the lazy source (clients are client-<index>); rename it`, { field: 'serverId' });
  // An actor of another run in this simulation with a client's id (spawned, or registered with ids of the same width).
  const taken = sim.actorIds().find((id) => roster.isClient(id)) ?? (sim.hasActor(roster.ids[0]) ? roster.ids[0] : undefined);
  if (taken !== undefined) throw new FlConfigError(`runFederated: an actor '${taken}' already exists in this simulation, with the id of a client of the lazy source; use a new Simulation`, { field: 'clients' });
  sim.spawnOnDemand((id) => roster.isClient(id), (id) => create(roster.indexOf(id), id));
}

/**
 * Everything a run is made of before any actor exists — the checked config, the strategy,
 * the model spec and initial weights, the aggregator, the client roster — checked as
 * runFederated checks it. A worker process hosting some of the clients (placed-clients.ts)
 * prepares the same run from the same experiment and seed, so its clients are the ones the
 * driver would have spawned. The caller owns `workspace` (dispose it).
 */
function prepareRun(sim: SimulationCore, options: FederatedOptions) {
  // Everything but the objects is the run's serialisable config, checked strictly: a mistyped option is refused, not ignored.
  const { clients: _clients, testSet: _testSet, runId: _runId, devices, model, strategy: strategyOption, workers: _workers, placeClient: _placeClient, ...settings } = options;
  const parsed = parseFederatedConfig({
    ...settings,
    model: isModel(model) ? model.spec : model,
    ...(strategyOption === undefined || isStrategy(strategyOption) ? {} : { strategy: strategyOption }),
  });
  const lazy: LazyClients | undefined = isLazyClients(options.clients) ? options.clients : undefined;
  const eager = lazy ? undefined : (options.clients as readonly ClientData[]);
  if (eager?.length === 0) throw new FlConfigError('runFederated: no clients; give at least one client data set', { field: 'clients' });
  const config = lazy ? lazySourceConfig(options, parsed) : parsed;
  const lazyIds = lazy ? lazyRoster(lazy) : undefined;
  const roster = lazyIds ?? arrayRoster(eager!);
  const { ids, sortedIds } = roster;
  const strategy = resolveStrategy(options, config, ids.length);
  const spec = parseModelSpec(config.model, 'runFederated: model');
  const workspace = new ModelWorkspace();
  const runId = options.runId ?? 'run-1';
  const serverId = config.serverId;

  let initialWeights: Weights;
  let aggregator;
  let maxSamplesPerClient: number;
  try {
    refuseTraining(config, strategy, spec, clientsPerRoundOf(strategy, ids.length));
    refuseDevices(devices, config, eager ?? [], ids);
    refuseRoundPolicy(config, clientsPerRoundOf(strategy, ids.length));
    // (Not Math.max(...counts): a spread of a million arguments overflows the stack.)
    maxSamplesPerClient = lazy ? lazy.maxSamplesPerClient : clientSampleCounts(config, spec, eager!, ids, workspace).reduce((a, b) => Math.max(a, b), 1);
    if (isModel(options.model)) initialWeights = options.model.getWeights();
    else {
      const init = createModel(spec, sim.rng('model/init'));
      initialWeights = init.getWeights();
      init.dispose();
    }
    refuseAggregation(config, strategy, ids.length, maxSamplesPerClient);
    const setup = { serverId, clients: sortedIds, layout: initialWeights, reports: strategy.client.reports, maxSamplesPerClient, ...(config.dp ? { dp: config.dp } : {}) };
    aggregator = createAggregator(config.aggregation, setup, config as unknown as AggregatorSettings);
  } catch (error) {
    workspace.dispose();
    throw error;
  }
  const modeInput = aggregator.clientInput?.() ?? {};
  // A client's device is its index in the sorted ids (devices/population.ts); lazy ids are already sorted.
  const deviceInput = (id: string) => (devices ? { device: clientDevice(devices, indexOfSortedId(sortedIds, id)) } : {});
  /** The input of client `id`'s actor (`pretrained`: local updates trained ahead by parallel threads). */
  const clientInput = (c: ClientData, id: string, pretrained?: unknown) => ({
    ...modeInput,
    data: hold({ x: c.x, y: c.y }),
    spec,
    workspace,
    algorithm: strategy.client,
    cost: config.cost,
    slowdown: c.slowdown ?? 1,
    localTrainer: config.localTrainer,
    ...(pretrained ? { pretrained } : {}),
    ...deviceInput(id),
  });
  return { config, lazy, eager, lazyIds, roster, ids, sortedIds, strategy, spec, workspace, runId, serverId, initialWeights, aggregator, maxSamplesPerClient, clientInput };
}

/**
 * The run `options` describes, prepared in `sim` as runFederated prepares it, for building
 * its client actors one by one: `actor(id)` is client `id`'s actor exactly as runFederated
 * spawns it (same data, model, algorithm and aggregation mode). What a worker process
 * hosting some of the clients does (src/fl/experiments/placed-clients.ts), once per run.
 */
export function prepareClients(sim: SimulationCore, options: FederatedOptions): { actor(id: string): { logic: AnyActorLogic; input: Record<string, unknown> }; dispose(): void } {
  if (isLazyClients(options.clients)) throw new FlConfigError('prepareClients: clients on worker processes need the clients as an array, not a lazy source', { field: 'clients' });
  const run = prepareRun(sim, options);
  const logic = run.aggregator.clientLogic();
  return {
    actor(id) {
      const index = run.ids.indexOf(id);
      if (index < 0) throw new FlConfigError(`the run has no client '${id}' (its clients are ${run.ids[0]} … ${run.ids.at(-1)})`, { field: 'clients', actor: id });
      return { logic, input: run.clientInput(run.eager![index], id) };
    },
    dispose: () => run.workspace.dispose(),
  };
}

export function runFederated(sim: SimulationCore, options: FederatedOptions): FederatedRun {
  const { config, lazy, eager, lazyIds, roster, ids, sortedIds, strategy, spec, workspace, runId, serverId, initialWeights, aggregator, maxSamplesPerClient, clientInput } = prepareRun(sim, options);
  const { devices, placeClient } = options;
  if (placeClient && lazy) {
    workspace.dispose();
    throw new FlConfigError('runFederated: placeClient (clients on worker processes) needs the clients as an array, not a lazy source', { field: 'placeClient' });
  }
  let parallel: ReturnType<typeof parallelTraining>;
  try {
    // Last: nothing after it can fail before cleanup owns it.
    parallel = parallelTraining(sim, options.workers, roster.isClient, 'runFederated');
  } catch (error) {
    workspace.dispose();
    throw error;
  }
  const helpers = aggregator.helpers();

  // The run's actors, told apart without a set of a million ids: the server and helpers, then the roster.
  const nonClients = new Set([serverId, ...helpers.map((h) => h.id)]);
  const meter = new ByteMeter({ [FL.fit]: 'bytesDown', [FL.fitResult]: 'bytesUp', ...aggregator.byteKinds }).attach(sim, (id) => nonClients.has(id) || roster.isClient(id));
  const clientMeter = new ClientMeter({ [FL.fit]: 'bytesDown', [FL.fitResult]: 'bytesUp', ...aggregator.byteKinds }).attach(sim, roster.isClient);
  const rounds: RoundMetrics[] = [];
  const metrics$ = new ReplaySubject<RoundMetrics>();
  const evaluateClients = (weights: Weights, final: boolean): Record<string, Evaluation> | undefined => {
    const when = config.clientEvaluation;
    if (when === 'none' || (when === 'final' && !final)) return undefined;
    const out: Record<string, Evaluation> = {};
    const model = workspace.withWeights(spec, weights);
    eager!.forEach((c, i) => {
      if (c.testX && c.testY) out[ids[i]] = evaluateModel(model, { x: c.testX, y: c.testY });
    });
    return Object.keys(out).length > 0 ? out : undefined;
  };
  let trainUnion: Dataset | undefined;
  const evaluateTrain = (weights: Weights, final: boolean): Evaluation | undefined => {
    const when = config.trainEvaluation;
    if (when === 'none' || (when === 'final' && !final)) return undefined;
    trainUnion ??= concatDatasets(eager!.map((c) => ({ x: c.x, y: c.y })));
    return evaluateModel(workspace.withWeights(spec, weights), trainUnion);
  };
  /** Metrics from a report; `weights` is absent for a report recovered from the final answer. */
  const toMetrics = (report: RoundSummary & { weights?: Weights }): RoundMetrics => {
    const m: RoundMetrics = {
      round: report.round,
      startedAt: report.startedAt,
      endedAt: report.endedAt,
      selected: report.selected,
      participants: report.participants,
      finished: report.finished,
      dropped: report.dropped,
      drops: report.drops,
      failures: report.failures,
      rejectedUpdates: report.rejectedUpdates,
      trainLoss: report.trainLoss,
      numSamples: report.numSamples,
      durationMs: report.endedAt - report.startedAt,
      ...(report.stragglerWaitMs !== undefined ? { stragglerWaitMs: report.stragglerWaitMs } : {}),
      ...meter.round(report.round),
    };
    if (report.central) {
      m.testLoss = report.central.loss;
      if (report.central.accuracy !== undefined) m.testAccuracy = report.central.accuracy;
    }
    if (report.skipped) m.skipped = report.skipped;
    if (report.notes) m.notes = report.notes;
    if (!report.weights) {
      m.reportLost = true;
      return m;
    }
    evaluateInto(m, report.weights, report.round === config.rounds);
    return m;
  };
  /** The evaluations of `weights` on the clients' data that `clientEvaluation` / `trainEvaluation` ask for, written into m. */
  const evaluateInto = (m: RoundMetrics, weights: Weights, final: boolean) => {
    const onTrain = evaluateTrain(weights, final);
    if (onTrain) {
      m.globalTrainLoss = onTrain.loss;
      if (onTrain.accuracy !== undefined) m.globalTrainAccuracy = onTrain.accuracy;
    }
    const perClient = evaluateClients(weights, final);
    if (perClient) {
      m.clients = perClient;
      const pooled = pooledEvaluation(Object.values(perClient));
      m.clientTestLoss = pooled.loss;
      if (pooled.accuracy !== undefined) m.clientTestAccuracy = pooled.accuracy;
    }
  };
  const reported = new Set<number>();
  const emit = (report: RoundSummary & { weights?: Weights }) => {
    if (reported.has(report.round)) return; // a report duplicated by a fault plan (or re-sent) counts once
    reported.add(report.round);
    const m = toMetrics(report);
    rounds.push(m);
    metrics$.next(m);
  };
  // Reports and the result arrive as unsolicited messages to the driver, inside a simulation step: only record here.
  let outcome: RunOutcome | null = null;
  const fromServer = (e: Envelope) => e.from === serverId;
  const subscriptions: Subscription[] = [
    sim.driver.unsolicited$.pipe(filter((e) => fromServer(e) && e.type === FL.roundEnd)).subscribe((e) => emit(e.payload as RoundEnd)),
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

  const timing = {
    roundDeadlineMs: config.roundDeadlineMs,
    fitRetryMs: config.fitRetryMs ?? config.roundDeadlineMs / 4,
    controlRetryMs: config.controlRetryMs,
    controlAttempts: config.controlAttempts,
  };
  const start = () => sim.request(serverId, FL.run, { runId }, { timeout: timing.controlRetryMs });
  let firstStart;
  try {
    for (const helper of helpers) sim.spawn(helper.logic, helper.id, { input: helper.input });
    const clientLogic = aggregator.clientLogic();
    if (lazy) {
      // The client's data is loaded and checked when it is spawned, at its first message (client-source.ts).
      const model = workspace.model(spec);
      const loss = config.loss ?? model.loss;
      spawnOnDemand(sim, lazyIds!, [...nonClients], (index, id) => ({ logic: clientLogic, input: clientInput(lazyClientData(lazy, index, id, model, loss, spec), id, parallel.pretrained) }));
    } else if (!placeClient) eager!.forEach((c, i) => sim.spawn(clientLogic, ids[i], { input: clientInput(c, ids[i], parallel.pretrained) }));
    sim.spawn(roundServer, serverId, {
      input: {
        clients: sortedIds,
        strategy,
        aggregator,
        rounds: config.rounds,
        spec,
        initialWeights: hold(initialWeights),
        trainConfig: trainConfigOf(config),
        timing,
        maxSamplesPerClient,
        testSet: options.testSet ? hold(options.testSet) : undefined,
        workspace,
        ...(devices ? { devices } : {}),
        ...(config.roundPolicy ? { policy: config.roundPolicy } : {}),
      },
    });
    // Clients on worker processes are placed after the server is spawned, so each placement's
    // roster names it (the clients answer it across the transport). Losing a worker process
    // loses its clients as a crash would: the round engine drops them at the deadline.
    if (placeClient) for (const id of ids) sim.placeRemote(id, placeClient(id), 'lose-messages');
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
      label: 'federated run',
      // fl/run until the server accepts it (a lost request or answer is retried).
      started: () => startRun(firstStart, start, timing.controlAttempts, (early) => (outcome ??= early)),
      outcome: () => outcome,
      crashed: () => [serverId, ...helpers.map((h) => h.id)].filter((id) => sim.actor(id).crashed),
      reported: () => rounds.length,
    });
    for (const summary of answer.history) emit(summary);
    rounds.sort((a, b) => a.round - b.round);
    if (answer.failure) {
      const f = answer.failure;
      throw new FederatedRunError(`server '${serverId}' (round ${f.round}): the federated run stopped (${f.kind}): ${f.detail}`, f);
    }
    // A run the strategy stopped early (a privacy budget) never reached its last round, where 'final'
    // evaluations run: run them now on the model the run ends with, in the last round's metrics.
    const last = rounds.at(-1);
    if (answer.stopped && last && last.round < config.rounds) evaluateInto(last, answer.weights, true);
    // Bytes of a round can grow after its report (a straggler's late update): the result has the final counts.
    const final = rounds.map((r) => ({ ...r, ...meter.round(r.round) }));
    return {
      rounds: final,
      weights: answer.weights,
      weightsSha256: weightsSha256(answer.weights),
      spec,
      clientIds: ids,
      virtualTime: sim.now(),
      bytesByLink: meter.byLink(),
      clientRounds: syncClientRows(final, clientMeter),
      ...(answer.stopped ? { stopped: answer.stopped } : {}),
    };
  };

  return runHandle({ finish, cleanup, metrics$, serverId, clientIds: ids });
}
