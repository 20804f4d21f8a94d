/**
 * The aggregation modes, by name: the one place that decides what `aggregation: …` means.
 * A new mode is one file in this folder plus one line here.
 */
import { z } from 'zod';
import { FlConfigError } from '../errors.js';
import type { Aggregator, AggregatorSetup } from '../rounds/aggregator.js';
import { plainAggregator } from './plain.js';
import { secureWorkerAggregator, secureWorkerSettings } from './secure-worker.js';
import { additiveAggregator, additiveSettings } from './additive.js';
import { secAggPlusAggregator, secAggPlusSettings } from './secagg-plus.js';

/** The run's settings an aggregator may read (its own fields: `secagg`, `additive`, `secureWorkerId` …). */
export type AggregatorSettings = Record<string, unknown>;

export interface AggregatorEntry<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  /** One line for `--help` and error texts. */
  description: string;
  /** The mode's own fields of a run's settings; the run's config schema (fedavg/config.ts) includes every mode's. */
  settings: S;
  create(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator;
}

const entry = <S extends z.ZodRawShape>(e: AggregatorEntry<S>) => e;

const ENTRIES = [
  entry({ name: 'plain', description: 'the server sees each update and averages them in the clear', settings: {}, create: (setup) => plainAggregator(setup) }),
  entry({ name: 'secure-worker', description: 'a trusted secure worker averages the updates and hands the server only the average', settings: secureWorkerSettings, create: secureWorkerAggregator }),
  entry({ name: 'additive', description: 'the clients additively share their updates among themselves; the server gets only sums of shares', settings: additiveSettings, create: additiveAggregator }),
  entry({ name: 'secagg+', description: 'Bonawitz/Bell SecAgg+ masking: the server learns only the sum, dropouts within the threshold are tolerated', settings: secAggPlusSettings, create: secAggPlusAggregator }),
] as const;

export const AGGREGATOR_ENTRIES: readonly AggregatorEntry[] = ENTRIES;

export const AGGREGATION_NAMES = AGGREGATOR_ENTRIES.map((e) => e.name) as [string, ...string[]];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every mode's settings fields together, typed, for the run's config schema. */
export type AggregatorSettingsShape = UnionToIntersection<(typeof ENTRIES)[number]['settings']>;
export const AGGREGATOR_SETTINGS = Object.assign({}, ...ENTRIES.map((e) => e.settings)) as AggregatorSettingsShape;

export function createAggregator(name: string, setup: AggregatorSetup, settings: AggregatorSettings): Aggregator {
  const entry = AGGREGATOR_ENTRIES.find((e) => e.name === name);
  if (!entry) throw new FlConfigError(`aggregation '${name}' is unknown; known: ${AGGREGATOR_ENTRIES.map((e) => `'${e.name}' (${e.description})`).join(', ')}`, { field: 'aggregation' });
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
