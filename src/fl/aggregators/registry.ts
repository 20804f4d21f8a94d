/**
 * The aggregation modes, by name: the one place that decides what `aggregation: …` means.
 * A new mode is one file in this folder plus one line here.
 */
import { z } from 'zod';
import { FlConfigError } from '../errors.js';
import type { Aggregator, AggregatorSetup, RunShape, SettingProblem } from '../rounds/aggregator.js';
import { plainAggregator } from './plain.js';
import { checkSecureWorker, secureWorkerAggregator, secureWorkerHelpers, secureWorkerSettings } from './secure-worker.js';
import { additiveAggregator, additiveSettings, checkAdditive } from './additive.js';
import { checkSecAggPlus, secAggPlusAggregator, secAggPlusHelpers, secAggPlusSettings } from './secagg-plus.js';

/** The run's settings an aggregator may read (its own fields: `secagg`, `additive`, `secureWorkerId` …). */
export type AggregatorSettings = Record<string, unknown>;

export interface AggregatorEntry<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  /** One line for `--help` and error texts. */
  description: string;
  /** The mode's own fields of a run's settings; the run's config schema (fedavg/config.ts) includes every mode's. */
  settings: S;
  /** 'individual': the server sees each client's update; 'sum': only their sum (strategies that need each update cannot run). */
  reveals: 'individual' | 'sum';
  /** The ids of the actors the mode spawns besides the server and the clients (fault plans may name them). */
  helperIds(settings: AggregatorSettings): string[];
  /** Settings that cannot work for rounds of this shape, each naming its field; checked before any run. */
  check?(settings: AggregatorSettings, run: RunShape): SettingProblem[];
  create(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator;
}

const entry = <S extends z.ZodRawShape>(e: AggregatorEntry<S>) => e;

const ENTRIES = [
  entry({
    name: 'plain',
    description: 'the server sees each update and averages them in the clear',
    settings: {},
    reveals: 'individual',
    helperIds: () => [],
    create: (setup) => plainAggregator(setup),
  }),
  entry({
    name: 'secure-worker',
    description: 'a trusted secure worker averages the updates and hands the server only the average',
    settings: secureWorkerSettings,
    reveals: 'sum',
    helperIds: secureWorkerHelpers,
    check: checkSecureWorker,
    create: secureWorkerAggregator,
  }),
  entry({
    name: 'additive',
    description: 'the clients additively share their updates among themselves; the server gets only sums of shares',
    settings: additiveSettings,
    reveals: 'sum',
    helperIds: () => [],
    check: checkAdditive,
    create: additiveAggregator,
  }),
  entry({
    name: 'secagg+',
    description: 'Bonawitz/Bell SecAgg+ masking: the server learns only the sum, dropouts within the threshold are tolerated',
    settings: secAggPlusSettings,
    reveals: 'sum',
    helperIds: secAggPlusHelpers,
    check: checkSecAggPlus,
    create: secAggPlusAggregator,
  }),
] as const;

export const AGGREGATOR_ENTRIES: readonly AggregatorEntry[] = ENTRIES;

export const AGGREGATION_NAMES = AGGREGATOR_ENTRIES.map((e) => e.name) as [string, ...string[]];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every mode's settings fields together, typed, for the run's config schema. */
export type AggregatorSettingsShape = UnionToIntersection<(typeof ENTRIES)[number]['settings']>;
export const AGGREGATOR_SETTINGS = Object.assign({}, ...ENTRIES.map((e) => e.settings)) as AggregatorSettingsShape;

/** The registry entry of mode `name`; an unknown name is refused, listing the known ones. */
export function aggregatorEntry(name: string): AggregatorEntry {
  const entry = AGGREGATOR_ENTRIES.find((e) => e.name === name);
  if (!entry) throw new FlConfigError(`aggregation '${name}' is unknown; known: ${AGGREGATOR_ENTRIES.map((e) => `'${e.name}' (${e.description})`).join(', ')}`, { field: 'aggregation' });
  return entry;
}

/**
 * Everything about a run's aggregation that cannot work, checked before the run by
 * runFederated and by a scenario file's check: the mode's own rules for rounds of this
 * shape, and a strategy that must see each update behind a mode that shows only a sum.
 */
export function aggregationProblems(name: string, settings: AggregatorSettings, run: RunShape & { strategy?: { name: string; needs: 'sum' | 'individual' } }): SettingProblem[] {
  const entry = aggregatorEntry(name);
  const problems = [...(entry.check?.(settings, run) ?? [])];
  if (run.strategy?.needs === 'individual' && entry.reveals === 'sum') {
    problems.push({
      path: ['aggregation'],
      expected: `an aggregation that shows the server each update, as strategy '${run.strategy.name}' needs (aggregation 'plain'), or a strategy that works from the average (fedavg, fedprox, fedavgm, fedadam, …)`,
      found: `'${name}', which shows the server only the sum of the updates`,
    });
  }
  return problems;
}

export function createAggregator(name: string, setup: AggregatorSetup, settings: AggregatorSettings): Aggregator {
  const entry = aggregatorEntry(name);
  try {
    return entry.create(setup, settings);
  } catch (error) {
    // Each mode parses its own settings with zod; a bad value is the caller's setting, so say which.
    if (!(error instanceof z.ZodError)) throw error;
    const issue = error.issues[0];
    const field = issue.path.join('.') || '(settings)';
    throw new FlConfigError(`aggregation '${name}': setting ${field}: ${issue.message}; see the '${name}' settings in its registry entry (src/fl/aggregators/registry.ts)`, { field }, { cause: error });
  }
}
