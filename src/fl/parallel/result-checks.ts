/**
 * What the thread that trained a client's weights checks of them before handing them over, so
 * that the simulation's thread — the serial part of every round — need not:
 *
 *   digests  the sha256 of each layer's bytes: the event log digests the client's fit result,
 *            which carries these very arrays (runtime/canonical.ts sealBytes);
 *   finite   whether every value is a finite number: localUpdate refuses a diverged update.
 *
 * Both are pure functions of the bytes, which cross to the simulation's thread unchanged (their
 * buffers are moved, not re-encoded), so the simulation's thread would find the same: the log and
 * the run are the same with any number of threads (test/fl-parallel-checks.test.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import { bytesDigest, sealBytes } from '../../runtime/canonical.js';
import { allFinite } from '../models/weights.js';
import type { TrainResult } from '../training/train-local.js';
import type { TaskOutcome } from './training-task.js';

export interface WeightsChecks {
  /** Each layer's hex sha256, in order. */
  digests: string[];
  /** True when no value is NaN or ±Infinity. */
  finite: boolean;
}

/** The checks of `weights`, made where they were trained. */
export function checkWeights(weights: readonly Float32Array[]): WeightsChecks {
  return { digests: weights.map(bytesDigest), finite: allFinite(weights) };
}

/**
 * On the simulation's thread, taking a trained result: its layers are sealed with the thread's
 * digests (the result's weights become the client's fit result, which nothing writes to), and
 * the result says whether its weights are finite. Checks that do not match the result's layout
 * are ignored: the simulation's thread then checks and hashes as without threads.
 */
export function acceptChecks(result: TrainResult, checks: WeightsChecks | undefined): TrainResult {
  if (checks === undefined || checks.digests.length !== result.weights.length) return result;
  result.weights.forEach((layer, i) => sealBytes(layer, checks.digests[i]));
  return { ...result, weightsFinite: checks.finite };
}

/**
 * Posts a thread's outcome to the pool and wakes the simulation's thread if it waits for it
 * (training-pool.ts). A trained result goes with its checks; its weights are fresh copies
 * (model.getWeights, or decoded from a remote worker's answer): moved, not copied.
 */
export function postOutcome(results: MessagePort, signal: Int32Array, outcome: TaskOutcome): void {
  if (outcome.ok) outcome.checks = checkWeights(outcome.result.weights);
  const transfer = outcome.ok ? outcome.result.weights.map((w) => w.buffer as ArrayBuffer) : [];
  results.postMessage(outcome, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}
