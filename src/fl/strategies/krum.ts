/**
 * Krum and Multi-Krum (Blanchard et al. 2017, "Machine Learning with Adversaries:
 * Byzantine Tolerant Gradient Descent").
 *
 * With n updates of which at most f are Byzantine, each update i gets the score
 *   s(i) = Σ_{j ∈ N_i} ‖w_i − w_j‖²,  N_i = the n − f − 2 updates closest to w_i.
 * Krum returns the update with the lowest score; Multi-Krum averages the m lowest-
 * scoring updates (unweighted, as in the paper). Ties go to the smaller client id.
 * The paper's guarantee needs n > 2f + 2; the score itself needs n − f − 2 ≥ 1.
 */
import { FlConfigError } from '../errors.js';
import type { Weights } from '../models/weights.js';
import type { RoundAggregate } from '../rounds/round-aggregate.js';
import { averageUpdates, toFloat32 } from './aggregate.js';
import { type ClientUpdate, SamplingStrategy, type SamplingOptions, type RoundSizeProblem, type StrategyStep, individualUpdates, sortedUpdates } from './strategy.js';

export interface KrumOptions extends SamplingOptions {
  /** f, the number of Byzantine clients tolerated. */
  byzantine: number;
  /** m, the number of updates averaged (default 1: plain Krum). */
  keep?: number;
}

function squaredDistance(a: Weights, b: Weights): number {
  let sum = 0;
  for (let l = 0; l < a.length; l++) {
    const x = a[l];
    const y = b[l];
    for (let j = 0; j < x.length; j++) {
      const d = x[j] - y[j];
      sum += d * d;
    }
  }
  return sum;
}

/** Krum scores of the updates, in their order. */
export function krumScores(updates: readonly ClientUpdate[], byzantine: number): number[] {
  const n = updates.length;
  const neighbours = n - byzantine - 2;
  if (neighbours < 1) {
    throw new FlConfigError(
      `krum: ${n} updates with f = ${byzantine} leaves n − f − 2 = ${neighbours} neighbours to score against; ` +
        `Krum needs n ≥ f + 3 (and n > 2f + 2 for its guarantee): sample more clients or lower f`,
      { op: 'krum', field: 'byzantine', updates: n },
    );
  }
  const dist: number[][] = updates.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = squaredDistance(updates[i].weights, updates[j].weights);
      dist[i][j] = d;
      dist[j][i] = d;
    }
  }
  return dist.map((row, i) => {
    const others = row.filter((_, j) => j !== i).sort((a, b) => a - b);
    let s = 0;
    for (let k = 0; k < neighbours; k++) s += others[k];
    return s;
  });
}

export class Krum extends SamplingStrategy {
  readonly name: string;
  override readonly needs = 'individual' as const;
  readonly byzantine: number;
  readonly keep: number;

  constructor(options: KrumOptions) {
    super(options);
    this.byzantine = options.byzantine;
    this.keep = options.keep ?? 1;
    this.name = this.keep > 1 ? 'multikrum' : 'krum';
    if (!Number.isInteger(this.byzantine) || this.byzantine < 0) {
      throw new FlConfigError(`krum: byzantine (f) must be an integer ≥ 0, got ${this.byzantine}; it is the number of attackers to tolerate`, { op: this.name, field: 'byzantine' });
    }
    if (!Number.isInteger(this.keep) || this.keep < 1) {
      throw new FlConfigError(`krum: keep (m) must be an integer ≥ 1, got ${this.keep}; 1 is Krum, more is Multi-Krum`, { op: this.name, field: 'keep' });
    }
  }

  /** Krum scores each update against its n − f − 2 nearest others: a round needs n ≥ f + 3 updates. */
  roundSizeProblem(clientsPerRound: number): RoundSizeProblem | undefined {
    if (clientsPerRound >= this.byzantine + 3) return undefined;
    const clients = (n: number) => `${n} client${n === 1 ? '' : 's'}`;
    return {
      field: ['byzantine'],
      expected: `${clientsPerRound >= 3 ? `at most ${clientsPerRound - 3}` : 'a round of at least 3 clients (f = 0)'} with ${clients(clientsPerRound)} per round (fraction × clients, at least minClients): Krum needs n ≥ f + 3 updates per round (and n > 2f + 2 for its guarantee); sample more clients (fraction, minClients) or lower byzantine`,
      found: `byzantine ${this.byzantine}, which needs ${clients(this.byzantine + 3)} per round`,
    };
  }

  aggregate(_round: number, results: RoundAggregate): StrategyStep<undefined> {
    const updates = sortedUpdates(individualUpdates(results, this.name), this.name);
    const scores = krumScores(updates, this.byzantine);
    const ranked = updates.map((u, i) => ({ u, s: scores[i], i })).sort((a, b) => a.s - b.s || a.i - b.i);
    const chosen = ranked.slice(0, Math.min(this.keep, ranked.length)).map((r) => r.u);
    if (chosen.length === 1) return { weights: chosen[0].weights.map((w) => new Float32Array(w)), state: undefined };
    return { weights: toFloat32(averageUpdates(sortedUpdates(chosen, this.name), false, this.name)), state: undefined };
  }
}
