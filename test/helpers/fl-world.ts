/**
 * A tiny federated world for the round engine's fault tests: a few clients with a little
 * synthetic data and a small logistic model, so one run takes a few tens of milliseconds
 * and hundreds of fault plans fit in a test or a bench sweep.
 */
import { type FaultPlanInput, type SimEvent, SimulationCore } from '../../src/runtime/index.js';
import { syntheticFedProx } from '../../src/fl/data/synthetic.js';
import { nn } from '../../src/fl/models/index.js';
import { type ClientData, type FederatedOptions, type FederatedResult, runFederated } from '../../src/fl/rounds/index.js';

export const MODES = ['plain', 'secure-worker', 'additive', 'secagg+'] as const;
export type Mode = (typeof MODES)[number];

export const FEATURES = 4;
export const CLASSES = 2;
export const spec = nn.logistic(FEATURES, CLASSES);

export function tinyClients(n = 5, seed = 1): ClientData[] {
  const devices = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: n, features: FEATURES, classes: CLASSES, maxSamplesPerDevice: 24 }, { seed, name: 'data' });
  return devices.map((d) => ({ x: d.trainX, y: d.trainY }));
}

export const tinyOptions = (aggregation: Mode, clients: readonly ClientData[]): FederatedOptions => ({
  model: spec,
  clients,
  rounds: 3,
  fraction: 1,
  localEpochs: 1,
  batchSize: 8,
  lr: 0.2,
  clientEvaluation: 'none',
  trainEvaluation: 'none',
  roundDeadlineMs: 400,
  aggregation,
  // SecAgg+ over 5 clients: every client a neighbour of every other, any 3 can unmask.
  ...(aggregation === 'secagg+' ? { secagg: { numShares: 5, reconstructionThreshold: 3 } } : {}),
});

export interface WorldRun {
  sim: SimulationCore;
  result?: FederatedResult;
  error?: unknown;
}

/** One run; a run that throws is returned with its error (the property tests judge it). */
export async function runWorld(options: FederatedOptions, seed: number, faults?: FaultPlanInput): Promise<WorldRun> {
  const sim = new SimulationCore({ seed, faults });
  try {
    const result = await runFederated(sim, options);
    await sim.settle();
    return { sim, result };
  } catch (error) {
    return { sim, error };
  }
}

/** A run that must complete (its error is thrown), with its event log as JSONL: for same-seed comparisons. */
export async function completedRun(options: FederatedOptions, seed: number, faults?: FaultPlanInput) {
  const run = await runWorld(options, seed, faults);
  if (!run.result) throw run.error;
  return { log: run.sim.log.toJSONL(), result: run.result, sim: run.sim };
}

/** Ids of the messages of `type` (optionally to `to`) in the order they were sent. */
export function sentIds(sim: SimulationCore, type: string, to?: string): string[] {
  return sim.log.events
    .filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.type === type && (to === undefined || e.to === to))
    .map((e) => e.msg);
}

export function eventsOf<K extends SimEvent['ev']>(sim: SimulationCore, ev: K): Extract<SimEvent, { ev: K }>[] {
  return sim.log.events.filter((e): e is Extract<SimEvent, { ev: K }> => e.ev === ev);
}

/** The actor ids runFederated gives clients without an id (`client-<i>`, zero-padded). */
export function clientIdsOf(clients: readonly ClientData[]): string[] {
  const width = String(Math.max(0, clients.length - 1)).length;
  return clients.map((c, i) => c.id ?? `client-${String(i).padStart(width, '0')}`);
}
