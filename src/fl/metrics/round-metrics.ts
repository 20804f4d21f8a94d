/**
 * Per-round metrics of a federated run: what the server reported, plus the bytes
 * the round moved and, optionally, each client's view of the new global model.
 */
import type { RoundEnd } from '../rounds/protocol.js';
import type { Evaluation } from '../training/evaluate.js';

export interface RoundBytes {
  /** Client → server, secure worker or peers: the fit results, additive shares or masked updates. */
  bytesUp: number;
  /** Server → clients: the global model in the fit requests. */
  bytesDown: number;
  /** To the server, from a secure aggregation: averages, sums of shares, or SecAgg+'s sum (0 with plain aggregation). */
  bytesAggregate: number;
}

/** The server's own report of a round (its fields are documented on RoundEnd), plus what the driver measured. */
export interface RoundMetrics
  extends RoundBytes,
    Pick<
      RoundEnd,
      'round' | 'startedAt' | 'endedAt' | 'selected' | 'participants' | 'finished' | 'dropped' | 'drops' | 'failures' | 'rejectedUpdates' | 'trainLoss' | 'numSamples' | 'skipped' | 'notes' | 'stragglerWaitMs'
    > {
  /** The round's virtual duration, ms (endedAt − startedAt). */
  durationMs: number;
  /** The new global model on all clients' training data (when trainEvaluation is on). */
  globalTrainLoss?: number;
  globalTrainAccuracy?: number;
  /** Central test set (the server's), after aggregation. */
  testLoss?: number;
  testAccuracy?: number;
  /** Each client's own test split, after aggregation (when clients have one and evaluation is on). */
  clients?: Record<string, Evaluation>;
  /** Sample-weighted mean over the clients' test splits. */
  clientTestLoss?: number;
  clientTestAccuracy?: number;
  /**
   * True when the round's fl/round-end report never reached the driver (a fault plan
   * dropped it): the figures then come from the server's final answer, without the
   * evaluations that need the round's model (per-client and global-train metrics).
   */
  reportLost?: true;
}

/** Sample-weighted means of per-client evaluations. */
export function pooledEvaluation(evaluations: readonly Evaluation[]): { loss: number; accuracy?: number } {
  const n = evaluations.reduce((s, e) => s + e.n, 0);
  if (n === 0) return { loss: NaN };
  const loss = evaluations.reduce((s, e) => s + e.n * e.loss, 0) / n;
  if (evaluations.some((e) => e.accuracy === undefined)) return { loss };
  return { loss, accuracy: evaluations.reduce((s, e) => s + e.n * e.accuracy!, 0) / n };
}
