/**
 * A tiny asynchronous federated world for the async engine's tests: six clients of the
 * fault tests' synthetic data, of speeds 1× to 16× slower (so updates arrive stale), a small
 * logistic model, and a device population built from plain arrays of online intervals.
 */
import { type FaultPlanInput, SimulationCore } from '../../src/runtime/index.js';
import { type AsyncFederatedOptions, type AsyncSettingsInput, runAsyncFederated } from '../../src/fl/async/index.js';
import type { DevicePopulation } from '../../src/fl/devices/population.js';
import type { FederatedResult } from '../../src/fl/rounds/index.js';
import { spec, tinyClients } from './fl-world.js';

export const asyncClients = tinyClients(6).map((c, i) => ({ ...c, slowdown: 1 + 3 * i }));

export const FEDBUFF: AsyncSettingsInput = { algorithm: 'fedbuff', concurrency: 4, bufferSize: 2, serverLr: 1, maxServerUpdates: 6 };
export const FEDASYNC: AsyncSettingsInput = { algorithm: 'fedasync', concurrency: 3, mixing: 0.6, maxServerUpdates: 6 };

export const asyncOptions = (settings: AsyncSettingsInput, extra: Partial<AsyncFederatedOptions> = {}): AsyncFederatedOptions => ({
  model: spec,
  clients: asyncClients,
  localEpochs: 1,
  batchSize: 8,
  lr: 0.2,
  roundDeadlineMs: 400,
  testSet: { x: asyncClients[0].x, y: asyncClients[0].y },
  async: settings,
  ...extra,
});

export interface AsyncWorldRun {
  sim: SimulationCore;
  result?: FederatedResult;
  error?: unknown;
}

export async function runAsyncWorld(options: AsyncFederatedOptions, seed: number, faults?: FaultPlanInput): Promise<AsyncWorldRun> {
  const sim = new SimulationCore({ seed, faults });
  try {
    const result = await runAsyncFederated(sim, options);
    await sim.settle();
    return { sim, result };
  } catch (error) {
    return { sim, error };
  }
}

/** A population whose client i is online during the [start, end) intervals online[i] (virtual ms). */
export function arrayPopulation(online: ReadonlyArray<ReadonlyArray<readonly [number, number]>>): DevicePopulation {
  const holding = (i: number, t: number) => online[i].find(([s, e]) => t >= s && t < e);
  return {
    size: online.length,
    profile: () => ({ samplesPerSecond: 1000, uploadBytesPerSecond: 1e6, downloadBytesPerSecond: 1e6, latencyMs: 0 }),
    availability: {
      isOnline: (i, t) => holding(i, t) !== undefined,
      onlineUntil: (i, t) => holding(i, t)?.[1],
      onlineCount: (t) => online.filter((_, i) => holding(i, t) !== undefined).length,
    },
  };
}
