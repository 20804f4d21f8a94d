/**
 * The invariants of algorithms with client state, read from a finished run's durable
 * storage (the server's checkpoint and each client's storage):
 *
 *   SCAFFOLD   c = (1/N) Σ_i c_i          (the server adds (1/N) of every included client's
 *   FedDyn     h = (1/N) Σ_i ∇L_i          change; the client applies the whole change)
 *
 * over ALL N clients of the run. A client's state at the end of the run is its adopted
 * state, or its last answer's pending state when the server's checkpoint says that round's
 * aggregate included it (the client would adopt it at its next fit: see client-fit.ts).
 */
import type { SimulationCore } from '../../src/runtime/index.js';
import { ANSWER_KEY, CHECKPOINT_KEY, type Checkpoint, type StoredAnswer, stateKey } from '../../src/fl/rounds/index.js';
import type { StrategyConfig } from '../../src/fl/strategies/create.js';
import { roundQuantizationStep } from '../../src/fl/secure/secagg/index.js';
import type { Mode } from './fl-world.js';

export interface StatefulAlgorithm {
  strategy: StrategyConfig;
  /** The server state's arrays that must be the mean of the clients' states. */
  server: (state: any) => Float64Array[];
  /** The factor by which a round's summed report moves the server state (1/N aside). */
  gain: number;
}

export const STATEFUL: Record<'scaffold' | 'feddyn', StatefulAlgorithm> = {
  scaffold: { strategy: { name: 'scaffold' }, server: (s) => s.control, gain: 1 },
  feddyn: { strategy: { name: 'feddyn', alpha: 0.1 }, server: (s) => s.h, gain: 0.1 },
};
export type StatefulName = keyof typeof STATEFUL;

/** Client `id`'s state as of the end of the run (see the file comment); undefined when it never adopted one. */
export function clientStateAtEnd(sim: SimulationCore, id: string, algorithm: string, checkpoint: Checkpoint): Float32Array[] | undefined {
  const storage = sim.actor(id).storage;
  const answer = storage.get<StoredAnswer>(ANSWER_KEY);
  if (answer?.state !== undefined && checkpoint.lastIncluded[id] === answer.round) return answer.state as Float32Array[];
  return storage.get<Float32Array[]>(stateKey(algorithm));
}

/** max |server − (1/N) Σ_i client_i| over every coordinate, and max |server| (the scale). */
export function invariantGap(sim: SimulationCore, clientIds: readonly string[], algorithm: StatefulName, serverId = 'server'): { gap: number; scale: number } {
  const checkpoint = sim.actor(serverId).storage.get<Checkpoint>(CHECKPOINT_KEY)!;
  const server = STATEFUL[algorithm].server(checkpoint.state);
  const sum = server.map((l) => new Float64Array(l.length));
  for (const id of clientIds) {
    const state = clientStateAtEnd(sim, id, STATEFUL[algorithm].strategy.name, checkpoint);
    if (state) state.forEach((l, i) => l.forEach((v, j) => (sum[i][j] += v)));
  }
  let gap = 0;
  let scale = 0;
  server.forEach((l, i) =>
    l.forEach((v, j) => {
      gap = Math.max(gap, Math.abs(v - sum[i][j] / clientIds.length));
      scale = Math.max(scale, Math.abs(v));
    }),
  );
  return { gap, scale };
}

/**
 * How far the server state may be from the exact mean: float32 client states against a
 * float64 server sum of float32 per-sample deltas (a few ulps of the values), plus, behind
 * SecAgg+, its quantisation: each round's summed report is off by < one quantisation step
 * per value and contributor, in units of c_k = n_k / maxWeight, and the server state moves
 * by gain · maxWeight / N times that sum.
 */
export function invariantBound(scale: number, algorithm: StatefulName, mode: Mode, run: { contributions: number; clients: number; maxWeight: number }): number {
  const rounding = 1e-5 * (1 + scale);
  if (mode !== 'secagg+') return rounding;
  const quantum = roundQuantizationStep({ clippingRange: 8, quantizationRange: 4194304 });
  return rounding + (run.contributions * quantum * run.maxWeight * STATEFUL[algorithm].gain) / run.clients;
}
