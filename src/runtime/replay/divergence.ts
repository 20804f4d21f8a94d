/**
 * Divergence: the first point where a run differs from a reference.
 */
import { FedsimError } from '../errors.js';

export interface Divergence {
  /** Seq of the first event that differs. */
  seq: number;
  /** The reference's line at that seq, or null when the reference had ended. */
  expected: string | null;
  /** The run's line at that seq, or null when the run had ended. */
  actual: string | null;
  /** A few lines before the divergence (common to both). */
  context: string[];
}

export class DivergenceError extends FedsimError {
  override name = 'DivergenceError';
  constructor(readonly divergence: Divergence, what = 'The run diverged from the recorded log') {
    super(
      `${what} at seq ${divergence.seq}:\n` +
        `  expected: ${divergence.expected ?? '(the recorded log ends here)'}\n` +
        `  actual:   ${divergence.actual ?? '(the run ended here)'}\n` +
        'Either the code, seed, fault plan or tfjs backend differ from the recorded run, the log was edited, ' +
        'or a handler depends on something outside the simulation (Math.random, Date.now, real timers, unordered iteration).',
    );
  }
}

/** First differing line of two event-line arrays, or null if they are identical. */
export function firstDivergence(expected: readonly string[], actual: readonly string[], contextLines = 3): Divergence | null {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      return {
        seq: i,
        expected: expected[i] ?? null,
        actual: actual[i] ?? null,
        context: expected.slice(Math.max(0, i - contextLines), i),
      };
    }
  }
  return null;
}
