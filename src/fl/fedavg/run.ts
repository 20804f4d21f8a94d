/**
 * runFederated: a whole FedAvg-family experiment as actors in one simulation.
 *
 * It spawns the clients (each holding its data), the server (and the secure
 * worker), sends `fl/run` to the server and returns a FederatedRun: awaiting it
 * pumps the simulation until the server's final answer, then resolves to the
 * per-round metrics and the final weights. `run.metrics$` emits each round's
 * metrics as the round's report reaches the driver (subscribe before awaiting;
 * it replays past rounds to late subscribers).
 *
 *   const run = runFederated(sim, { model: nn.logistic(60, 10), clients, rounds: 100, … });
 *   run.metrics$.subscribe((m) => console.log(m.round, m.testAccuracy));
 *   const result = await run;
 */
import { ReplaySubject, type Observable, type Subscription, filter, map } from 'rxjs';
import type { Envelope } from '../../runtime/envelope.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import { createModel } from '../models/create.js';
import type { Model } from '../models/model.js';
import { type ModelSpec, parseModelSpec } from '../models/spec.js';
import { type Weights, weightsSha256 } from '../models/weights.js';
import { ByteMeter } from '../metrics/byte-meter.js';
import { type RoundMetrics, pooledEvaluation } from '../metrics/round-metrics.js';
import { createStrategy } from '../strategies/create.js';
import { SamplingStrategy, type Strategy, compareIds } from '../strategies/strategy.js';
import { type Dataset, concatDatasets } from '../training/dataset.js';
import { type Evaluation, evaluateModel } from '../training/evaluate.js';
import { additiveFedAvgClient } from './additive-client.js';
import { fedAvgClient } from './client.js';
import { type FederatedConfig, type FederatedConfigInput, parseFederatedConfig } from './config.js';
import { FL, type RoundEnd, type RoundSummary, type RunResult } from './messages.js';
import { hold } from './held.js';
import { secAggFedAvgClient } from './secagg-client.js';
import { secureWorker } from './secure-worker.js';
import { secAggServerMachine } from '../secure/secagg/server-machine.js';
import { fedAvgServer } from './server.js';
import { ModelWorkspace } from './workspace.js';
import { planTrainerProblem } from './plan-trainer.js';
import { FedProx } from '../strategies/fedavg.js';
import { SecAggOptionsSchema, defaultSecAggShares } from './secure-options.js';
import { parseSecAggParams } from '../secure/secagg/params.js';

/** One client's private data. */
export interface ClientData extends Dataset {
  /** Actor id (default `client-<index>`, zero-padded so ids sort in index order). */
  id?: string;
  /** The client's own test split, for per-client metrics. */
  testX?: Float32Array;
  testY?: Int32Array | Float32Array;
  /** Cost multiplier of this device (default 1; 10 = a straggler ten times slower). */
  slowdown?: number;
}

export interface FederatedOptions extends Omit<FederatedConfigInput, 'model' | 'strategy'> {
  /** A spec (initialised from `sim.rng('model/init')`) or a model whose current weights start the run. */
  model: ModelSpec | Model;
  clients: readonly ClientData[];
  /** The server's central test set. */
  testSet?: Dataset;
  /** A strategy object (used for this run only), or its config (default FedAvg). */
  strategy?: Strategy | FederatedConfigInput['strategy'];
}

export interface FederatedResult {
  rounds: RoundMetrics[];
  weights: Weights;
  /** sha256 of the final weights' bytes (weightsSha256): equal across runs exactly when the models are. */
  weightsSha256: string;
  spec: ModelSpec;
  clientIds: string[];
  /** Virtual time when the server answered. */
  virtualTime: number;
  /** Bytes of model-carrying messages per link `from→to`. */
  bytesByLink: Record<string, number>;
}

export interface FederatedRun extends PromiseLike<FederatedResult> {
  readonly metrics$: Observable<RoundMetrics>;
  readonly serverId: string;
  readonly clientIds: readonly string[];
}

const isModel = (m: ModelSpec | Model): m is Model => typeof (m as Model).getWeights === 'function';
const isStrategy = (s: unknown): s is Strategy => typeof (s as Strategy)?.aggregateFit === 'function';

function clientIds(clients: readonly ClientData[]): string[] {
  const width = String(Math.max(0, clients.length - 1)).length;
  const ids = clients.map((c, i) => c.id ?? `client-${String(i).padStart(width, '0')}`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new RangeError(`runFederated: two clients have the id '${id}'; client ids must be unique`);
    seen.add(id);
  }
  return ids;
}

function resolveStrategy(options: FederatedOptions, config: FederatedConfig): Strategy {
  if (isStrategy(options.strategy)) {
    const s = options.strategy;
    if (s instanceof SamplingStrategy && options.fraction !== undefined && options.fraction !== s.fraction) {
      throw new RangeError(`runFederated: fraction ${options.fraction} differs from the strategy object's ${s.fraction}; set it in one place`);
    }
    return s;
  }
  const c = config.strategy;
  return createStrategy({ ...c, fraction: c.fraction ?? config.fraction, minClients: c.minClients ?? config.minClients });
}

/**
 * What 'secagg+' needs: the SecAgg+ server's parameters (numShares and the threshold are
 * set per round by the FedAvg server, for the clients that trained) and the clients'
 * weight bound — by default the largest training set, so every client's ratio n_k / maxWeight ≤ 1.
 */
function secAggSettings(config: FederatedConfig, clients: readonly ClientData[], serverId: string) {
  const options = config.secagg ?? SecAggOptionsSchema.parse({});
  // y holds one label per sample (n × outputs targets for MSE: still a bound on n).
  const largest = Math.max(...clients.map((c) => c.y.length));
  const maxWeight = options.maxWeight ?? Math.max(1, largest);
  const { maxWeight: _bound, numShares, reconstructionThreshold, ...protocol } = options;
  const placeholder = defaultSecAggShares(2);
  const serverParams = { ...protocol, numShares: numShares ?? placeholder.numShares, reconstructionThreshold: reconstructionThreshold ?? placeholder.reconstructionThreshold };
  // Fail now, naming the field, rather than at every round's start.
  parseSecAggParams(serverParams, 'runFederated: secagg');
  return { serverParams, server: { serverId, maxWeight, options } };
}

export function runFederated(sim: SimulationCore, options: FederatedOptions): FederatedRun {
  const config = parseFederatedConfig({
    ...options,
    model: isModel(options.model) ? options.model.spec : options.model,
    strategy: isStrategy(options.strategy) ? undefined : options.strategy,
    clients: undefined,
    testSet: undefined,
  });
  if (options.clients.length === 0) throw new RangeError('runFederated: no clients');
  const strategy = resolveStrategy(options, config);
  const secure = config.aggregation === 'secure-worker';
  if (config.aggregation !== 'plain' && strategy.needsIndividualUpdates) {
    throw new TypeError(
      `runFederated: strategy '${strategy.name}' must see each client's update, but aggregation '${config.aggregation}' shows the server only their average; use aggregation 'plain' or a FedAvg-family strategy`,
    );
  }
  const spec = parseModelSpec(config.model, 'runFederated: model');
  if (config.localTrainer === 'plan') {
    const proxMu = strategy instanceof FedProx ? strategy.mu : undefined;
    const problem = planTrainerProblem(spec, { optimizer: config.optimizer, loss: config.loss, proxMu });
    if (problem) throw new TypeError(`runFederated: localTrainer 'plan': ${problem}`);
  }
  let initialWeights: Weights;
  if (isModel(options.model)) initialWeights = options.model.getWeights();
  else {
    const init = createModel(spec, sim.rng('model/init'));
    initialWeights = init.getWeights();
    init.dispose();
  }
  const ids = clientIds(options.clients);
  const serverId = config.serverId;
  const secureId = config.secureWorkerId;
  const secAggId = config.secAggServerId;
  const secAgg = config.aggregation === 'secagg+' ? secAggSettings(config, options.clients, secAggId) : undefined;
  const workspace = new ModelWorkspace();

  const meter = new ByteMeter().attach(sim, new Set([serverId, secureId, secAggId, ...ids]));
  const rounds: RoundMetrics[] = [];
  const metrics$ = new ReplaySubject<RoundMetrics>();
  const evaluateClients = (weights: Weights, final: boolean): Record<string, Evaluation> | undefined => {
    const when = config.clientEvaluation;
    if (when === 'none' || (when === 'final' && !final)) return undefined;
    const out: Record<string, Evaluation> = {};
    const model = workspace.withWeights(spec, weights);
    options.clients.forEach((c, i) => {
      if (c.testX && c.testY) out[ids[i]] = evaluateModel(model, { x: c.testX, y: c.testY });
    });
    return Object.keys(out).length > 0 ? out : undefined;
  };
  let trainUnion: Dataset | undefined;
  const evaluateTrain = (weights: Weights, final: boolean): Evaluation | undefined => {
    const when = config.trainEvaluation;
    if (when === 'none' || (when === 'final' && !final)) return undefined;
    trainUnion ??= concatDatasets(options.clients.map((c) => ({ x: c.x, y: c.y })));
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
      dropped: report.dropped,
      rejectedUpdates: report.rejectedUpdates,
      trainLoss: report.trainLoss,
      numSamples: report.numSamples,
      ...meter.round(report.round),
    };
    if (report.central) {
      m.testLoss = report.central.loss;
      if (report.central.accuracy !== undefined) m.testAccuracy = report.central.accuracy;
    }
    if (report.skipped) m.skipped = report.skipped;
    if (!report.weights) {
      m.reportLost = true;
      return m;
    }
    const onTrain = evaluateTrain(report.weights, report.round === config.rounds);
    if (onTrain) {
      m.globalTrainLoss = onTrain.loss;
      if (onTrain.accuracy !== undefined) m.globalTrainAccuracy = onTrain.accuracy;
    }
    const perClient = evaluateClients(report.weights, report.round === config.rounds);
    if (perClient) {
      m.clients = perClient;
      const pooled = pooledEvaluation(Object.values(perClient));
      m.clientTestLoss = pooled.loss;
      if (pooled.accuracy !== undefined) m.clientTestAccuracy = pooled.accuracy;
    }
    return m;
  };
  // Reports arrive as unsolicited messages to the driver, inside a simulation step: only compute and emit here.
  // A report duplicated by a fault plan is counted once.
  const reported = new Set<number>();
  const reports: Subscription = sim.driver.unsolicited$
    .pipe(
      filter((e: Envelope) => e.type === FL.roundEnd && e.from === serverId),
      map((e) => e.payload as RoundEnd),
      filter((report) => !reported.has(report.round)),
      map((report) => {
        reported.add(report.round);
        return toMetrics(report);
      }),
    )
    .subscribe((m) => {
      rounds.push(m);
      metrics$.next(m);
    });

  const cleanup = () => {
    reports.unsubscribe();
    meter.detach();
    workspace.dispose();
  };
  let reply;
  try {
    if (secure) sim.spawn(secureWorker, secureId, { input: { server: serverId, minContributors: config.secureMinContributors } });
    if (secAgg) sim.spawn(secAggServerMachine, secAggId, { input: { params: secAgg.serverParams } });
    const clientLogic = config.aggregation === 'additive' ? additiveFedAvgClient : config.aggregation === 'secagg+' ? secAggFedAvgClient : fedAvgClient;
    options.clients.forEach((c, i) => {
      sim.spawn(clientLogic, ids[i], { input: { data: hold({ x: c.x, y: c.y }), spec, workspace, cost: config.cost, slowdown: c.slowdown ?? 1, localTrainer: config.localTrainer } });
    });
    sim.spawn(fedAvgServer, serverId, {
      input: {
        clients: [...ids].sort(compareIds),
        strategy,
        rounds: config.rounds,
        spec,
        initialWeights: hold(initialWeights),
        trainConfig: {
          epochs: config.localEpochs,
          batchSize: config.batchSize,
          lr: config.lr,
          ...(config.optimizer !== undefined ? { optimizer: config.optimizer } : {}),
          ...(config.dropLast !== undefined ? { dropLast: config.dropLast } : {}),
          ...(config.loss !== undefined ? { loss: config.loss } : {}),
        },
        roundDeadlineMs: config.roundDeadlineMs,
        aggregation: config.aggregation,
        secureWorker: secure ? secureId : undefined,
        secureCloseTimeoutMs: config.secureCloseTimeoutMs,
        ...(config.aggregation === 'additive' ? { additive: config.additive } : {}),
        ...(secAgg ? { secagg: secAgg.server } : {}),
        testSet: options.testSet ? hold(options.testSet) : undefined,
        workspace,
      },
    });
    reply = sim.request<RunResult>(serverId, FL.run, {});
  } catch (error) {
    cleanup();
    metrics$.error(error);
    throw error;
  }

  let settled: Promise<FederatedResult> | undefined;
  const result = () =>
    (settled ??= reply.then(
      (answer) => {
        // Rounds whose report a fault plan dropped are recovered from the answer's history.
        for (const summary of answer.history) {
          if (reported.has(summary.round)) continue;
          reported.add(summary.round);
          const m = toMetrics(summary);
          rounds.push(m);
          metrics$.next(m);
        }
        rounds.sort((a, b) => a.round - b.round);
        // Bytes of a round can grow after its report (a straggler's late update): the result has the final counts.
        const final = rounds.map((r) => ({ ...r, ...meter.round(r.round) }));
        cleanup();
        metrics$.complete();
        return {
          rounds: final,
          weights: answer.weights,
          weightsSha256: weightsSha256(answer.weights),
          spec,
          clientIds: ids,
          virtualTime: sim.now(),
          bytesByLink: meter.byLink(),
        };
      },
      (error: unknown) => {
        cleanup();
        metrics$.error(error);
        throw error;
      },
    ));
  return {
    metrics$: metrics$.asObservable(),
    serverId,
    clientIds: ids,
    then: (onFulfilled, onRejected) => result().then(onFulfilled, onRejected),
  };
}
