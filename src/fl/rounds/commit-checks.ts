/**
 * The checks a round's aggregate must pass before the engine lets the strategy commit
 * it. A secure sum that mixed shares of two splits, a replayed input, or a client that
 * lied about its sample count gives numbers no honest round can: they are caught here,
 * and the round is skipped with the reason instead of committing garbage.
 */
import { firstNonFinite } from '../models/weights.js';
import { compareIds } from '../strategies/strategy.js';
import type { RoundAggregate } from './round-aggregate.js';

export interface CommitRules {
  selected: readonly string[];
  layout: readonly Float32Array[];
  /** The largest training set of any client. */
  maxSamplesPerClient: number;
  /** The aggregator shows each update: the aggregate must carry them. */
  revealsIndividuals: boolean;
}

/** Losses fedsim trains with (cross-entropy, MSE) are ≥ 0; a fixed-point or quantised mean may dip below by rounding only. */
const LOSS_FLOOR = -1e-3;

/** What is wrong with the aggregate, or undefined when it may be committed. */
export function validateAggregate(aggregate: RoundAggregate, rules: CommitRules): string | undefined {
  const { contributors } = aggregate;
  if (contributors.length === 0) return 'it has no contributor';
  const sorted = [...contributors].sort(compareIds);
  if (sorted.some((c, i) => i > 0 && c === sorted[i - 1])) return `a contributor appears twice in [${contributors.join(', ')}]`;
  const strangers = contributors.filter((c) => !rules.selected.includes(c));
  if (strangers.length > 0) return `contributors [${strangers.join(', ')}] were not selected this round`;
  const n = aggregate.numSamples;
  const bound = contributors.length * rules.maxSamplesPerClient;
  if (!Number.isFinite(n) || n < 0 || n > bound) return `its sample count ${n} is outside 0..${bound} (${contributors.length} contributors of at most ${rules.maxSamplesPerClient} samples each)`;
  if (!Number.isFinite(aggregate.loss) || aggregate.loss < LOSS_FLOOR) return `its mean training loss ${aggregate.loss} is not a finite loss ≥ 0`;
  const layoutProblem = (name: string, arrays: readonly Float64Array[]) => {
    if (arrays.length !== rules.layout.length) return `${name} has ${arrays.length} arrays, the model ${rules.layout.length}`;
    for (let l = 0; l < arrays.length; l++) {
      if (arrays[l].length !== rules.layout[l].length) return `${name}[${l}] has ${arrays[l].length} values, the model ${rules.layout[l].length}`;
      if (firstNonFinite(arrays[l]) >= 0) return `${name}[${l}] contains NaN or Infinity`;
    }
    return undefined;
  };
  const weights = layoutProblem('the mean weights', aggregate.weights);
  if (weights) return weights;
  for (const [name, extra] of Object.entries(aggregate.extras)) {
    const problem = layoutProblem(`the mean of extra '${name}'`, extra);
    if (problem) return problem;
  }
  for (const [name, value] of Object.entries(aggregate.metrics)) if (!Number.isFinite(value)) return `the mean of metric '${name}' is ${value}`;
  if (rules.revealsIndividuals) {
    const individual = aggregate.individual ?? [];
    if (individual.length !== contributors.length || individual.some((u, i) => u.clientId !== sorted[i])) return 'its individual updates do not match its contributors';
  }
  return undefined;
}
