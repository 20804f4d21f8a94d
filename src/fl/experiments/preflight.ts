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
import { type AggregatorSettings, aggregationProblems, aggregatorEntry } from '../aggregators/registry.js';
import { type StrategyConfig, createStrategy } from '../strategies/create.js';
import { type ModelSpec, inputSize, outputSize } from '../models/spec.js';
import { clientsToSample } from '../strategies/strategy.js';
import type { FedAvgExperiment } from './fedavg-experiment.js';

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

export function fedAvgPreflight(config: FedAvgExperiment, { limits }: { limits: Limits }): DocumentProblem[] {
  const problems: Array<DocumentProblem | undefined> = [];
  const n = clientCount(config);
  const dataPath = config.data.source === 'synthetic' ? ['data', 'devices'] : ['data', 'clients'];
  problems.push(overLimit('rounds', limits, config.rounds, ['rounds']));
  problems.push(overLimit('clients', limits, n, dataPath));
  problems.push(overLimit('localEpochs', limits, config.localEpochs, ['localEpochs']));
  const params = parameterCount(config.model);
  if (params !== undefined) problems.push(overLimit('modelParameters', limits, params, ['model']));
  if (config.data.source === 'synthetic') problems.push(overLimit('features', limits, config.data.features, ['data', 'features']));

  // Sampling: minClients cannot exceed the clients there are (it would be capped silently).
  const sampling = config.algorithm as { fraction?: number; minClients?: number };
  const minClientsPath = sampling.minClients !== undefined ? ['algorithm', 'minClients'] : ['minClients'];
  const minClients = sampling.minClients ?? config.minClients ?? 1;
  if (minClients > n) problems.push({ path: minClientsPath, expected: `at most ${n} (the clients of this run, ${dataPath.join('.')})` });
  const fraction = sampling.fraction ?? config.fraction ?? 1;
  const perRound = clientsToSample(fraction, n, Math.min(minClients, n));

  // The aggregation's own rules for rounds of this size, and the strategy it must serve (aggregators/registry.ts decides per mode).
  const strategy = createStrategy(config.algorithm as StrategyConfig);
  problems.push(...aggregationProblems(config.aggregation, config as unknown as AggregatorSettings, { clientsPerRound: perRound, strategy }));
  problems.push(...modelDataProblems(config));
  const ids = new Set(experimentClientIds(n));
  for (const id of Object.keys(config.slowdown ?? {})) {
    if (!ids.has(id)) problems.push({ path: ['slowdown', id], expected: `a client of this run as the key (${listActors([...ids])})`, found: `the key '${id}'` });
  }
  return problems.filter((p): p is DocumentProblem => p !== undefined);
}

/** Synthetic data's shape is known before the run: the model must take its features and cover its classes. */
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
