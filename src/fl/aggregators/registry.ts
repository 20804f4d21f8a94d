/**
 * The aggregation modes, by name: the one place that decides what `aggregation: …` means.
 * A new mode is one file in this folder plus one line here.
 */
import { FlConfigError } from '../errors.js';
import type { Aggregator, AggregatorSetup } from '../rounds/aggregator.js';
import { plainAggregator } from './plain.js';
import { secureWorkerAggregator } from './secure-worker.js';
import { additiveAggregator } from './additive.js';
import { secAggPlusAggregator } from './secagg-plus.js';

/** The run's settings an aggregator may read (its own fields: `secagg`, `additive`, `secureWorkerId` …). */
export type AggregatorSettings = Record<string, unknown>;

export interface AggregatorEntry {
  name: string;
  /** One line for `--help` and error texts. */
  description: string;
  create(setup: AggregatorSetup, settings: AggregatorSettings): Aggregator;
}

export const AGGREGATOR_ENTRIES: readonly AggregatorEntry[] = [
  { name: 'plain', description: 'the server sees each update and averages them in the clear', create: (setup) => plainAggregator(setup) },
  { name: 'secure-worker', description: 'a trusted secure worker averages the updates and hands the server only the average', create: secureWorkerAggregator },
  { name: 'additive', description: 'the clients additively share their updates among themselves; the server gets only sums of shares', create: additiveAggregator },
  { name: 'secagg+', description: 'Bonawitz/Bell SecAgg+ masking: the server learns only the sum, dropouts within the threshold are tolerated', create: secAggPlusAggregator },
];

export const AGGREGATION_NAMES = AGGREGATOR_ENTRIES.map((e) => e.name) as [string, ...string[]];

export function createAggregator(name: string, setup: AggregatorSetup, settings: AggregatorSettings): Aggregator {
  const entry = AGGREGATOR_ENTRIES.find((e) => e.name === name);
  if (!entry) throw new FlConfigError(`aggregation '${name}' is unknown; known: ${AGGREGATOR_ENTRIES.map((e) => `'${e.name}' (${e.description})`).join(', ')}`, { field: 'aggregation' });
  return entry.create(setup, settings);
}
