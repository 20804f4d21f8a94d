/**
 * Determinism checks: the product's promise, made testable.
 *
 * `checkDeterminism` runs a scenario twice with one seed and reports the first
 * event where the two logs differ. `verifyRun` re-executes a recorded run from its
 * header and compares event by event.
 */
import { sha256Hex } from '../canonical.js';
import { SimulationCore, type SimulationOptions } from '../simulation.js';
import { type Divergence, firstDivergence } from './divergence.js';
import { type RecordedLog, parseLog } from './recorded-log.js';

/** A scenario body: drives a fresh simulation. */
export type ScenarioRun<S extends SimulationCore = SimulationCore> = (sim: S) => unknown | Promise<unknown>;
export type SimulationFactory<S extends SimulationCore> = (options: SimulationOptions) => S;

export interface DeterminismReport {
  deterministic: boolean;
  seed: SimulationOptions['seed'];
  /** Events in the first run. */
  events: number;
  /** sha256 of each run's event lines. */
  hashes: [string, string];
  divergence: Divergence | null;
}

const defaultFactory = (options: SimulationOptions) => new SimulationCore(options);

async function runOnce<S extends SimulationCore>(run: ScenarioRun<S>, options: SimulationOptions, factory: SimulationFactory<S>): Promise<string[]> {
  const sim = factory(options);
  await run(sim);
  await sim.settle();
  sim.close();
  return sim.log.eventLines();
}

/** Runs `run` twice with the same options and compares the event logs. */
export async function checkDeterminism<S extends SimulationCore = SimulationCore>(
  run: ScenarioRun<S>,
  options: SimulationOptions = {},
  factory: SimulationFactory<S> = defaultFactory as unknown as SimulationFactory<S>,
): Promise<DeterminismReport> {
  const first = await runOnce(run, options, factory);
  const second = await runOnce(run, options, factory);
  const divergence = firstDivergence(first, second);
  return {
    deterministic: divergence === null,
    seed: options.seed ?? 0,
    events: first.length,
    hashes: [sha256Hex(first.join('\n')), sha256Hex(second.join('\n'))],
    divergence,
  };
}

/**
 * Re-executes a recorded run (its seed, strategy and faults come from the header) and
 * checks it event by event. Throws DivergenceError at the first difference.
 */
export async function verifyRun<S extends SimulationCore = SimulationCore>(
  recorded: RecordedLog | string,
  run: ScenarioRun<S>,
  options: Omit<SimulationOptions, 'seed' | 'strategy' | 'faults' | 'verify'> = {},
  factory: SimulationFactory<S> = defaultFactory as unknown as SimulationFactory<S>,
): Promise<{ events: number }> {
  const log = typeof recorded === 'string' ? parseLog(recorded) : recorded;
  const { header } = log;
  const sim = factory({
    ...options,
    seed: header.seed,
    strategy: header.strategy,
    faults: header.faults,
    latency: options.latency ?? (header.latency === 'custom' ? undefined : header.latency),
    scenario: header.scenario,
    policies: options.policies ?? header.policies,
    backend: options.backend ?? header.backend,
    verify: log,
  });
  await run(sim);
  await sim.settle();
  return sim.close();
}
