/**
 * What a `kind: fedavg` file gets checked for before the run, beyond its schema:
 * fields that contradict each other and sizes above the kind's limits. Each problem
 * names its field, so the loader points at the file's line:
 *
 *   x.yaml:9:30: at secagg.reconstructionThreshold: expected at most 4 (the shares each
 *   client makes with 4 clients per round), found 6 (a number)
 *
 * Everything here would otherwise show up only during the run (every round skipped,
 * a client refusing its data) or not at all (a slowdown for a client that does not
 * exist, minClients quietly capped at the number of devices). What each aggregation
 * mode needs is its registry entry's check (the same check runFederated makes).
 */
import type { DocumentProblem, LimitSpec, Limits } from '../../scenario/index.js';
import { listActors, raiseHint } from '../../scenario/index.js';
import { AGGREGATOR_ENTRIES, type AggregatorSettings, aggregationProblems, aggregatorEntry } from '../aggregators/registry.js';
import { type StrategyConfig, createStrategy } from '../strategies/create.js';
import { type ModelSpec, inputSize, outputSize } from '../models/spec.js';
import { clientsPerRoundOf, roundSizeProblems, trainingProblems, withRunSampling } from '../rounds/training-rules.js';
import { dpRunProblems, withDp } from '../../dp/fedavg/with-dp.js';
import { distributedPlanFor } from '../../dp/distributed/fedavg.js';
import { DpConfigError } from '../../dp/errors.js';
import { roundPolicyProblems } from '../rounds/round-policy.js';
import { devicePopulationFrom } from '../devices/device-population.js';
import { DeviceTraceError } from '../devices/trace-errors.js';
import { createStream } from '../../runtime/rng.js';
import type { FedAvgExperiment } from './fedavg-experiment.js';
import { asyncRunProblems } from './async-preflight.js';

/** The sizes a fedavg file may ask for without raising a limit (see src/scenario/limits.ts). */
export const FEDAVG_LIMITS = {
  rounds: { default: 10_000, what: 'rounds of a run' },
  clients: { default: 10_000, what: 'clients (devices) of a run' },
  localEpochs: { default: 1_000, what: 'local epochs per round' },
  modelParameters: { default: 10_000_000, what: 'parameters of the model (built-in kinds)' },
  features: { default: 100_000, what: 'features per sample of synthetic data' },
} as const satisfies Record<string, LimitSpec>;

/** Client actor ids for n clients: `client-<i>`, zero-padded so they sort in index order. */
export function experimentClientIds(n: number): string[] {
  const width = String(Math.max(0, n - 1)).length;
  return Array.from({ length: n }, (_, i) => `client-${String(i).padStart(width, '0')}`);
}

/** How many clients the data source makes. */
export function clientCount(config: Pick<FedAvgExperiment, 'data'>): number {
  return config.data.source === 'synthetic' ? config.data.devices : config.data.clients;
}

/**
 * Every actor the run spawns: the server, the clients and the aggregation's helper
 * (mirrors runFederated and src/fl/aggregators/; test/scenario-preflight.test.ts checks
 * this list against the actors of real runs).
 */
export function experimentActors(config: FedAvgExperiment): string[] {
  const helpers = aggregatorEntry(config.aggregation).helperIds(config as unknown as AggregatorSettings);
  return [config.serverId, ...helpers, ...experimentClientIds(clientCount(config))];
}

/** Trainable parameters of a built-in model spec, computed from its shape (no tensor is made). */
export function parameterCount(spec: ModelSpec): number | undefined {
  switch (spec.kind) {
    case 'linear':
      return spec.inputs * spec.outputs + spec.outputs;
    case 'logistic':
      return spec.inputs * spec.classes + spec.classes;
    case 'mlp':
      return spec.layers.slice(1).reduce((sum, width, i) => sum + spec.layers[i] * width + width, 0);
    case 'cnn': {
      const [h, w, c] = spec.inputShape;
      const [f1, f2] = spec.filters;
      const k = spec.kernelSize * spec.kernelSize;
      // 'same' convolutions, each followed by a 2×2 max-pool (see builtin-model.ts).
      const flat = Math.floor(Math.floor(h / 2) / 2) * Math.floor(Math.floor(w / 2) / 2) * f2;
      return k * c * f1 + f1 + k * f1 * f2 + f2 + flat * spec.hidden + spec.hidden + spec.hidden * spec.classes + spec.classes;
    }
    case 'layers':
      return undefined;
  }
}

const overLimit = (name: keyof typeof FEDAVG_LIMITS, limits: Limits, value: number, path: PropertyKey[]): DocumentProblem | undefined =>
  value > limits[name] ? { path, expected: `at most ${limits[name]} (limit ${name}: ${FEDAVG_LIMITS[name].what}; ${raiseHint(name)})`, ...(path.at(-1) === 'model' ? { found: `a model of ${value} parameters` } : {}) } : undefined;

/**
 * Sizes above the limits, checked first. The only size the other checks expand is the
 * client count (they list client ids and actors): over its limit, the file is refused
 * with the limit problems alone, before any list is built (a typo like `devices: 1e9`
 * must not exhaust the memory first). The other sizes are only compared, so their
 * problems are reported together with the rest.
 */
export function limitProblems(config: FedAvgExperiment, limits: Limits): DocumentProblem[] {
  const problems: Array<DocumentProblem | undefined> = [];
  const dataPath = config.data.source === 'synthetic' ? ['data', 'devices'] : ['data', 'clients'];
  if (config.rounds !== undefined) problems.push(overLimit('rounds', limits, config.rounds, ['rounds']));
  problems.push(overLimit('clients', limits, clientCount(config), dataPath));
  problems.push(overLimit('localEpochs', limits, config.localEpochs, ['localEpochs']));
  const params = parameterCount(config.model);
  if (params !== undefined) problems.push(overLimit('modelParameters', limits, params, ['model']));
  if (config.data.source === 'synthetic') problems.push(overLimit('features', limits, config.data.features, ['data', 'features']));
  return problems.filter((p): p is DocumentProblem => p !== undefined);
}

/** The strategy's `strategy.…` paths are the file's `algorithm.…`. */
const inFile = (problem: DocumentProblem): DocumentProblem => (problem.path[0] === 'strategy' ? { ...problem, path: ['algorithm', ...problem.path.slice(1)] } : problem);

export function fedAvgPreflight(config: FedAvgExperiment, { limits, dir }: { limits: Limits; dir?: string }): DocumentProblem[] {
  const overLimits = limitProblems(config, limits);
  const n = clientCount(config);
  if (n > limits.clients) return overLimits;
  const problems: DocumentProblem[] = [...overLimits];
  const dataPath = config.data.source === 'synthetic' ? ['data', 'devices'] : ['data', 'clients'];
  problems.push(...settingsForOtherModes(config));
  problems.push(...asyncRunProblems(config, n));
  if (config.async) {
    // An async run trains as FedAvg's clients under its own server (async-preflight.ts): the sync strategy's checks do not apply.
    problems.push(...trainingProblems(config, createStrategy({ name: 'fedavg' }), config.model).map(inFile));
    problems.push(...modelDataProblems(config), ...actorIdProblems(config), ...slowdownProblems(config, n));
    return problems;
  }
  const rounds = config.rounds ?? 1; // a missing `rounds` is reported above

  // Sampling: minClients cannot exceed the clients there are (it would be capped silently).
  const sampling = config.algorithm as { fraction?: number; minClients?: number };
  const minClientsPath = sampling.minClients !== undefined ? ['algorithm', 'minClients'] : ['minClients'];
  const minClients = sampling.minClients ?? config.minClients ?? 1;
  if (minClients > n) problems.push({ path: minClientsPath, expected: `at most ${n} (the clients of this run, ${dataPath.join('.')})` });

  // The run's own rules (runFederated refuses by the same functions): clients per round as it samples them,
  // the aggregation for rounds of that size, the training settings, the strategy's round size.
  const algorithm = createStrategy(withRunSampling(config.algorithm as StrategyConfig, config));
  // Under dp the run steps through the DP strategy (its sampling, its client half): the checks below see that one.
  const dpProblems = config.dp ? dpRunProblems(config.dp, algorithm, { ...config, strategy: config.algorithm as StrategyConfig }, n, ['algorithm']) : [];
  problems.push(...dpProblems);
  problems.push(...distributedPlanProblems(config, n));
  const strategy = config.dp && dpProblems.length === 0 ? withDp(algorithm, config.dp, n, rounds) : algorithm;
  const perRound = clientsPerRoundOf(strategy, n);
  problems.push(...aggregationProblems(config.aggregation, config as unknown as AggregatorSettings, { clientsPerRound: perRound, strategy }));
  problems.push(...trainingProblems(config, strategy, config.model).map(inFile));
  problems.push(...roundSizeProblems(strategy, perRound).map(inFile));
  problems.push(...modelDataProblems(config));
  problems.push(...actorIdProblems(config));
  problems.push(...slowdownProblems(config, n));
  problems.push(...roundPolicyProblems(config.roundPolicy, { aggregation: config.aggregation, dp: config.dp, clientsPerRound: perRound }));
  problems.push(...deviceCostProblems(config));
  if (dir !== undefined) problems.push(...deviceTraceProblems(config, n, dir));
  return problems;
}

/**
 * A device trace file that cannot serve this run (bad lines, clients the run lacks, clients it
 * lacks): refused before the run, at the file's field, with the trace's own file:line list.
 * Built here as the run would build it (the run's seed for what is drawn), files only: a
 * generated trace has nothing to check.
 */
function deviceTraceProblems(config: FedAvgExperiment, n: number, dir: string): DocumentProblem[] {
  const devices = config.devices;
  if (!devices?.profiles?.file && !devices?.availability?.file) return [];
  const seed = config.seed ?? 0;
  try {
    devicePopulationFrom(devices, experimentClientIds(n), { rng: (name) => createStream(seed, name) }, dir);
    return [];
  } catch (error) {
    if (!(error instanceof DeviceTraceError)) throw error;
    const field = devices.profiles?.file && error.file.endsWith(devices.profiles.file) ? 'profiles' : 'availability';
    return [{ path: ['devices', devices[field]?.file ? field : 'profiles', 'file'], expected: 'a device trace that fits this run', found: error.message }];
  }
}

/** A run with devices times its fits by their profiles: the older cost knobs would contradict them (runFederated refuses them too). */
function deviceCostProblems(config: FedAvgExperiment): DocumentProblem[] {
  if (!config.devices) return [];
  const why = 'with devices, a fit takes the time its device profile says (docs/devices.md: a profile field given nowhere costs nothing); remove this field or devices';
  return [
    ...(config.cost ? [{ path: ['cost'], expected: `no cost model: ${why}` }] : []),
    ...(config.slowdown ? [{ path: ['slowdown'], expected: `no slowdown: ${why} (a slow device is a low samplesPerSecond)` }] : []),
  ];
}

/** Client ids are `client-<i>` zero-padded to the width of n − 1: a slowdown key must be one of them. */
function slowdownProblems(config: FedAvgExperiment, n: number): DocumentProblem[] {
  const ids = experimentClientIds(n);
  const known = new Set(ids);
  return Object.keys(config.slowdown ?? {})
    .filter((id) => !known.has(id))
    .map((id) => ({ path: ['slowdown', id], expected: `a client of this run as the key (${listActors(ids)})`, found: `the key '${id}'` }));
}

/** Every actor id must be unique: a server or helper id equal to a client's (or each other's) would clash at spawn. */
function actorIdProblems(config: FedAvgExperiment): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const clientIds = new Set(experimentClientIds(clientCount(config)));
  const named: Array<[string, string]> = [['serverId', config.serverId]];
  const entry = aggregatorEntry(config.aggregation);
  const helperField = HELPER_ID_FIELDS[config.aggregation];
  for (const id of entry.helperIds(config as unknown as AggregatorSettings)) named.push([helperField ?? 'aggregation', id]);
  named.forEach(([field, id], i) => {
    const earlier = named.slice(0, i).find(([, other]) => other === id);
    const clash = clientIds.has(id) ? `client id '${id}' (the clients are client-0 … client-N, zero-padded)` : earlier ? `${earlier[0]} '${id}'` : undefined;
    if (clash) problems.push({ path: [field], expected: `an actor id no other actor of the run has`, found: `'${id}', which is also the ${clash}` });
  });
  return problems;
}

/** The field naming each mode's helper actor. */
const HELPER_ID_FIELDS: Record<string, string> = { 'secure-worker': 'secureWorkerId', 'secagg+': 'secAggServerId' };

/**
 * Settings of an aggregation mode this run does not use do nothing: a sign the user
 * meant another mode (or forgot to set `aggregation`), so they are refused. (The
 * experiment schema keeps these fields without their defaults, so a field is set here
 * only when the file set it.)
 */
function settingsForOtherModes(config: FedAvgExperiment): DocumentProblem[] {
  const given = config as unknown as Record<string, unknown>;
  const problems: DocumentProblem[] = [];
  for (const entry of AGGREGATOR_ENTRIES) {
    if (entry.name === config.aggregation) continue;
    for (const field of Object.keys(entry.settings)) {
      if (given[field] !== undefined) {
        problems.push({ path: [field], expected: `no '${field}' field: it applies to aggregation '${entry.name}'; this run uses '${config.aggregation}' (set aggregation: ${entry.name}, or remove ${field})` });
      }
    }
  }
  return problems;
}

/** Synthetic data's shape is known before the run: the model must take its features and cover its classes. */
/** dp.mode distributed: the plan the run would make (its overflow refusal names dp.distributed.bits or .scale), when the model's size is known here. */
function distributedPlanProblems(config: FedAvgExperiment, clients: number): DocumentProblem[] {
  const length = parameterCount(config.model);
  if (config.dp?.mode !== 'distributed' || length === undefined) return [];
  try {
    distributedPlanFor(config.dp, { length, clients, rounds: config.rounds ?? 1 });
    return [];
  } catch (error) {
    if (!(error instanceof DpConfigError)) throw error;
    const field = String(error.where.field ?? 'dp.distributed');
    const why = error.message.replace(/^[^:]*: /, '').replace(/\.$/, '');
    return [{ path: field.split('.'), expected: `settings whose SecAgg+ sums cannot wrap — ${why}`, ...(error.where.value !== undefined ? { found: String(error.where.value) } : {}) }];
  }
}

function modelDataProblems(config: FedAvgExperiment): DocumentProblem[] {
  if (config.data.source !== 'synthetic') return [];
  const { features, classes } = config.data;
  const problems: DocumentProblem[] = [];
  const spec = config.model;
  if (inputSize(spec) !== features) {
    const field = spec.kind === 'mlp' ? ['model', 'layers', 0] : spec.kind === 'cnn' || spec.kind === 'layers' ? ['model', 'inputShape'] : ['model', 'inputs'];
    problems.push({ path: field, expected: `${features} inputs (data.features: each sample of the synthetic data has ${features} features)`, found: `a model of ${inputSize(spec)} inputs` });
  }
  if (spec.kind !== 'layers' && spec.kind !== 'linear' && outputSize(spec) < classes) {
    const field = spec.kind === 'mlp' ? ['model', 'layers', spec.layers.length - 1] : ['model', 'classes'];
    problems.push({ path: field, expected: `at least ${classes} classes (data.classes: the synthetic labels are 0..${classes - 1})`, found: `a model of ${outputSize(spec)} classes` });
  }
  return problems;
}
