/**
 * The Strategy interface (after Flower's, typed): the server half of an FL algorithm.
 *
 *   configure(round, clients, ctx) → FitPlan     who trains this round, with what FitIns config
 *   aggregate(round, results, failures, ctx)     the next global model and server state, from
 *                                                the round's RoundAggregate (weighted means of
 *                                                what the contributors reported)
 *   client                                       the client half (a ClientAlgorithm)
 *
 * Server state (momentum, Adam moments, SCAFFOLD's control variate) is an explicit value:
 * `initialState` makes it, `aggregate` returns the next one and must not mutate the one it
 * is given. The round engine keeps it, checkpoints it with each committed round, and simply
 * drops the new state when it refuses to commit a round — so a skipped round never moves it.
 *
 * Three optional hooks let a strategy that keeps a budget (DP-FedAvg's privacy accountant,
 * src/dp/fedavg/) run on the same engine:
 *   stopBefore(round, ctx)     a reason to end the run before round r (it ends COMPLETED);
 *   acceptsEmptyRounds         configure may select nobody (a Poisson draw of no client): the
 *                              round sends no fit and aggregate gets an aggregate of no one;
 *   afterSkip(round, …)        the state a skipped round leaves (default: unchanged), for a
 *                              strategy that must count what a round cost even when it failed.
 * A step (and afterSkip) may return `notes`: labelled facts about the round (ε so far) that
 * the engine writes to the event log as marks and sends in the round's report.
 *
 * `needs` says what the strategy must see: 'sum' strategies work from the weighted means
 * alone, so they run behind any aggregator (the clear, a secure worker, additive shares,
 * SecAgg+); 'individual' strategies (robust rules: median, trimmed mean, Krum) need each
 * client's own update, which only plaintext aggregation shows.
 *
 * Determinism contract: `configure` draws only from `ctx.rng` (a stream named after the
 * round, so a restarted server draws the same); `aggregate` sums in sorted client order in
 * float64 (RoundAggregate already is), so the same inputs give bit-identical weights.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { type ClientAlgorithm, plainLocalTraining } from '../algorithms/client-algorithm.js';
import { FlConfigError, type FlErrorKind, FlInvariantError } from '../errors.js';
import type { Weights } from '../models/weights.js';
import type { FitConfig } from '../rounds/fit.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { type ClientPool, sampleIndexes, sortedIdsPool } from '../rounds/client-pool.js';
import { compareIds } from './compare-ids.js';

/** What one client sent back from local training (as robust strategies see it). */
export interface ClientUpdate {
  clientId: string;
  weights: Weights;
  /** n_k, the size of the client's training set (FedAvg's weight). */
  numSamples: number;
  /** The client's mean training loss. */
  loss: number;
  extras?: Record<string, Weights>;
  metrics?: Record<string, number>;
}

/** One round's plan: who trains, and the FitIns config fields this strategy sets (FedProx's μ, SCAFFOLD's c …). */
export interface FitPlan {
  clients: string[];
  config: Partial<FitConfig>;
}

/** A selected client whose report is not in the round's aggregate, and why. */
export interface RoundFailure {
  clientId: string;
  kind: FlErrorKind;
  reason: string;
}

export interface CentralEvaluation {
  loss: number;
  accuracy?: number;
}

/** What configure and aggregate are given besides the round. */
export interface StrategyContext<S> {
  /** A stream for this round and purpose alone (`sampling/round-<r>`, `aggregate/round-<r>`). */
  rng: RandomStream;
  /** The server state after the last committed round. */
  state: S;
  /** The global model after the last committed round. */
  weights: Weights;
  /** Every client of the run (FedDyn and SCAFFOLD scale by the fraction that took part). */
  clients: readonly string[];
  /**
   * The clients this round may select from (rounds/client-pool.ts): the engine always sets it,
   * and it knows availability (a device offline now is not in it). Without it (a strategy called
   * directly), configure samples from its `availableClients` argument.
   */
  pool?: ClientPool;
}

/**
 * Labelled facts a strategy records about a round, by label (e.g. `dp`: ε so far): each is
 * written to the event log as a mark `{ round, …data }` and travels in the round's report.
 * JSON values only (the report and the checkpoint are plain data).
 */
export type RoundNotes = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export interface StrategyStep<S> {
  weights: Weights;
  state: S;
  notes?: RoundNotes;
}

/** What a strategy is told about a round the engine skipped (the model and, by default, the state stay as they were). */
export interface SkippedRound {
  /** The clients selected for it (their fits may have gone out and been answered). */
  selected: readonly string[];
  reason: string;
  /**
   * Set when a secure sum of inputs the clients noised themselves (distributed DP) may have
   * been unmasked although the round was skipped: at least `minSurvivors` of the
   * `participants` were in it. A strategy that accounts privacy counts that release.
   */
  secureSum?: { participants: number; minSurvivors: number };
}

export interface Strategy<S = unknown> {
  readonly name: string;
  readonly needs: 'sum' | 'individual';
  /** The client half of the algorithm. */
  readonly client: ClientAlgorithm<any>;
  initialState(weights: Weights): S;
  configure(round: number, availableClients: readonly string[], ctx: StrategyContext<S>): FitPlan;
  aggregate(round: number, results: RoundAggregate, failures: readonly RoundFailure[], ctx: StrategyContext<S>): StrategyStep<S>;
  /** Centralised evaluation of the new global model, if the strategy has one (Flower's evaluate_fn). */
  evaluate?(round: number, weights: Weights): CentralEvaluation | undefined;
  /** Why rounds of `clientsPerRound` selected clients cannot work for this strategy (checked before any run), if so. */
  roundSizeProblem?(clientsPerRound: number): RoundSizeProblem | undefined;
  /**
   * Why the run must end before round `round` (e.g. "privacy budget: …"), or undefined to
   * go on. Asked before each round is configured; the run then ends COMPLETED with this
   * reason, not as a failure. Draws nothing (ctx.rng is not to be used).
   */
  stopBefore?(round: number, ctx: StrategyContext<S>): string | undefined;
  /** Clients a round selects (on average, when the size is random) out of `available`, for the checks made before a run; default: fraction × available. */
  expectedClientsPerRound?(available: number): number;
  /** True when configure may select no client: the round then sends no fit and aggregate gets an aggregate of no contributor. */
  readonly acceptsEmptyRounds?: boolean;
  /** The state (and notes) a skipped round leaves; without it a skipped round leaves the state as it was. */
  afterSkip?(round: number, skipped: SkippedRound, ctx: StrategyContext<S>): { state: S; notes?: RoundNotes };
}

/** A strategy setting (path under the strategy's config) that rounds of some size cannot satisfy. */
export interface RoundSizeProblem {
  field: readonly string[];
  expected: string;
  found: string;
}

export { compareIds } from './compare-ids.js';

/** ⌈C·K⌉ clients, at least `minClients`, at most K. */
export function clientsToSample(fraction: number, available: number, minClients = 1): number {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new FlConfigError(`client fraction C must be in (0, 1], got ${fraction}; 0.1 trains a tenth of the clients each round, 1 all of them`, { field: 'fraction' });
  }
  if (!Number.isInteger(minClients) || minClients < 1) throw new FlConfigError(`minClients must be an integer ≥ 1, got ${minClients}; pass a whole number of clients`, { field: 'minClients' });
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
  const sorted = [...ids].sort(compareIds);
  return sampleIndexes(sorted.length, count, rng)
    .map((i) => sorted[i])
    .sort(compareIds);
}

/** Copy of the results sorted by client id; rejects duplicate ids. */
export function sortedUpdates(results: readonly ClientUpdate[], who: string): ClientUpdate[] {
  const sorted = [...results].sort((a, b) => compareIds(a.clientId, b.clientId));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].clientId === sorted[i - 1].clientId) {
      throw new FlConfigError(`${who}: two updates from client '${sorted[i].clientId}' in one round; pass one update per client`, { at: who, field: 'updates', client: sorted[i].clientId });
    }
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

/** Client sampling shared by every built-in strategy; stateless unless a subclass says otherwise. */
export abstract class SamplingStrategy<S = undefined> implements Strategy<S> {
  abstract readonly name: string;
  readonly needs: 'sum' | 'individual' = 'sum';
  readonly client: ClientAlgorithm<any> = plainLocalTraining;
  readonly fraction: number;
  readonly minClients: number;
  readonly evaluate?: (round: number, weights: Weights) => CentralEvaluation | undefined;

  constructor(options: SamplingOptions = {}) {
    this.fraction = options.fraction ?? 1;
    this.minClients = options.minClients ?? 1;
    clientsToSample(this.fraction, 1, this.minClients); // validates both
    if (options.evaluate) this.evaluate = options.evaluate;
  }

  initialState(_weights: Weights): S {
    return undefined as S;
  }

  configure(round: number, availableClients: readonly string[], ctx: StrategyContext<S>): FitPlan {
    const pool = ctx.pool ?? sortedIdsPool([...availableClients].sort(compareIds));
    if (pool.size === 0) {
      throw new FlConfigError(`${this.name}: round ${round} has no available clients; configure needs at least one client to sample from`, { op: `${this.name}.configure`, round, field: 'availableClients' });
    }
    const count = clientsToSample(this.fraction, pool.size, this.minClients);
    return { clients: pool.sample(count, ctx.rng), config: this.fitConfig(round, ctx) };
  }

  /** FitIns config fields this strategy sets (none by default). */
  protected fitConfig(_round: number, _ctx: StrategyContext<S>): Partial<FitConfig> {
    return {};
  }

  abstract aggregate(round: number, results: RoundAggregate, failures: readonly RoundFailure[], ctx: StrategyContext<S>): StrategyStep<S>;
}

/** The individual updates of a round, for strategies that need them (the engine refuses to pair those with a secure aggregator). */
export function individualUpdates(results: RoundAggregate, who: string): readonly ClientUpdate[] {
  if (!results.individual) throw new FlInvariantError(`${who}: needs each client's update, but the round's aggregator only revealed their sum`);
  return results.individual;
}
