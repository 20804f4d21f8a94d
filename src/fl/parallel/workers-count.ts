/**
 * How many training threads a run may ask for (`--workers`, runFederated's `workers`).
 *
 * A module of its own, apart from the pool (training-pool.ts), so that the command line can check
 * the flag without loading the pool, whose imports bring in tfjs: every `fedsim` command parses
 * its options with the same module (src/cli/run-options.ts), including those that never train.
 */
import { availableParallelism } from 'node:os';
import { FlConfigError } from '../errors.js';

/** More threads than this is a mistake (each holds its own tfjs backend and model copies), not a speed-up. */
export const MAX_WORKERS = 64;

/** Checks a worker count: a whole number from 1 to MAX_WORKERS. */
export function parseWorkers(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new FlConfigError(
      `${where}: expected a whole number of worker threads from 1 to ${MAX_WORKERS}, got ${JSON.stringify(value)}; 1 trains every client on the simulation's thread, and this machine has ${availableParallelism()} cores, so up to ${availableParallelism()} threads help`,
      { field: 'workers' },
    );
  }
  return n;
}
