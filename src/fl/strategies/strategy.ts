/**
 * The Strategy interface (after Flower's): every FL algorithm is one object that
 * decides, each round, who trains and with what settings (`configureFit`), and how
 * the returned models become the next global model (`aggregateFit`).
 *
 * Determinism contract: `configureFit` draws only from the stream it is given;
 * `aggregateFit` receives the results sorted by client id (compareIds), sorts them
 * again to be safe, and sums in that order in float64, so the same inputs give
 * bit-identical weights. Server-side state (momentum, Adam moments) lives in the
 * strategy object: use one instance per run.
 */
import type { RandomStream } from '../../runtime/rng.js';
import type { Weights } from '../models/weights.js';
import type { TrainConfig } from '../training/train-local.js';

/** What one client sent back from local training. */
export interface ClientUpdate {
  clientId: string;
  weights: Weights;
  /** n_k, the size of the client's training set (FedAvg's weight). */
  numSamples: number;
  /** The client's mean training loss. */
  loss: number;
}

/** One round's plan: who trains, and strategy-specific training settings (e.g. FedProx's μ). */
export interface FitPlan {
  clients: string[];
  config: Partial<TrainConfig>;
}

export interface CentralEvaluation {
  loss: number;
  accuracy?: number;
}

export interface Strategy {
  readonly name: string;
  /**
   * True when aggregateFit must see each client's own update (robust aggregators:
   * median, trimmed mean, Krum). Such strategies cannot run behind a secure
   * aggregator, which by design hands the server only the average.
   */
  readonly needsIndividualUpdates: boolean;
  configureFit(round: number, availableClients: readonly string[], rng: RandomStream): FitPlan;
  aggregateFit(round: number, results: readonly ClientUpdate[], currentWeights: Weights): Weights;
  /** Centralised evaluation of the new global model, if the strategy has one (Flower's evaluate_fn). */
  evaluate?(round: number, weights: Weights): CentralEvaluation | undefined;
}

/**
 * Order of client ids: by UTF-16 code units (never localeCompare, whose order
 * depends on the ICU locale of the machine). Every aggregation sums in this order.
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ⌈C·K⌉ clients, at least `minClients`, at most K. */
export function clientsToSample(fraction: number, available: number, minClients = 1): number {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`client fraction C must be in (0, 1], got ${fraction}`);
  if (!Number.isInteger(minClients) || minClients < 1) throw new RangeError(`minClients must be an integer ≥ 1, got ${minClients}`);
  // 0.1 · 30 is 3.0000000000000004 in floating point; ⌈·⌉ of that must still be 3.
  const wanted = Math.ceil(fraction * available - 1e-9);
  return Math.min(available, Math.max(minClients, wanted));
}

/**
 * `count` distinct ids chosen uniformly from `ids`, returned sorted. A partial
 * Fisher–Yates shuffle over the sorted ids: exactly `count` draws, so the choice
 * depends only on the stream, the count and the set of ids (not their order).
 */
export function sampleClients(ids: readonly string[], count: number, rng: RandomStream): string[] {
  const pool = [...ids].sort(compareIds);
  if (count > pool.length) throw new RangeError(`cannot sample ${count} clients from ${pool.length}`);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(pool.length - i);
    const tmp = pool[i];
    pool[i] = pool[j];
    pool[j] = tmp;
  }
  return pool.slice(0, count).sort(compareIds);
}

/** Copy of the results sorted by client id; rejects duplicate ids. */
export function sortedUpdates(results: readonly ClientUpdate[], who: string): ClientUpdate[] {
  const sorted = [...results].sort((a, b) => compareIds(a.clientId, b.clientId));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].clientId === sorted[i - 1].clientId) throw new RangeError(`${who}: two updates from client '${sorted[i].clientId}' in one round`);
  }
  return sorted;
}

export interface SamplingOptions {
  /** C, the fraction of available clients that train each round (default 1). */
  fraction?: number;
  /** Lower bound on the clients per round (default 1). */
  minClients?: number;
  /** Centralised evaluation run by the server after each aggregation. */
  evaluate?: (round: number, weights: Weights) => CentralEvaluation | undefined;
}

/** Client sampling shared by every built-in strategy. */
export abstract class SamplingStrategy implements Strategy {
  abstract readonly name: string;
  readonly needsIndividualUpdates: boolean = false;
  readonly fraction: number;
  readonly minClients: number;
  readonly evaluate?: (round: number, weights: Weights) => CentralEvaluation | undefined;

  constructor(options: SamplingOptions = {}) {
    this.fraction = options.fraction ?? 1;
    this.minClients = options.minClients ?? 1;
    clientsToSample(this.fraction, 1, this.minClients); // validates both
    if (options.evaluate) this.evaluate = options.evaluate;
  }

  configureFit(round: number, availableClients: readonly string[], rng: RandomStream): FitPlan {
    if (availableClients.length === 0) throw new RangeError(`${this.name}: round ${round} has no available clients`);
    const count = clientsToSample(this.fraction, availableClients.length, this.minClients);
    return { clients: sampleClients(availableClients, count, rng), config: this.fitConfig(round) };
  }

  /** Training settings this strategy imposes on clients (none by default). */
  protected fitConfig(_round: number): Partial<TrainConfig> {
    return {};
  }

  abstract aggregateFit(round: number, results: readonly ClientUpdate[], currentWeights: Weights): Weights;
}
