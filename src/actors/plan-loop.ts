/**
 * The training loop of a plan: `epochs` passes over (data, target) in minibatches,
 * one plan run per batch, each run's state assignments feeding the next. It is what
 * a worker does for one `runPlanLoop` message, and what `plan.train(...)` does
 * locally — the same code, so both give the same bits for the same shuffle stream.
 *
 * Shuffling is trainLocal's: the rows are reset to 0..n−1 and shuffled with one
 * Fisher–Yates pass per epoch, drawn from the stream given (none: rows in order).
 * The loop changes nothing itself: it returns the new values of the state tensors
 * that changed (owned by the caller, who commits them); on failure it frees what it
 * made and throws a PlanLoopError naming the epoch and batch.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../runtime/index.js';
import { type CompiledPlan, executePlan } from './plan-interpreter.js';
import type { OpRunner } from './compute/op-runner.js';

export interface PlanLoopOptions {
  epochs: number;
  batchSize: number;
  /** Skip each epoch's last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  /** Shuffles the rows every epoch; rows stay in order without one. */
  rng?: RandomStream;
  /** How each op of the plan runs (a worker's rules; default tfjs as it is). */
  runner?: OpRunner;
}

export interface PlanLoopResult {
  /** New values of the state tensors that changed (owned by the caller). */
  changed: Map<string, tf.Tensor>;
  /** Sample-weighted mean of the per-batch losses (the plan's first output); 0 without batches. */
  meanLoss: number;
  steps: number;
  samples: number;
}

/** A batch of the loop failed; `reason` is the plan's own error (a PlanOpError names the op). */
export class PlanLoopError extends Error {
  override name = 'PlanLoopError';
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly reason: unknown,
  ) {
    super(`epoch ${epoch}, batch ${batch}: ${reason instanceof Error ? reason.message : String(reason)}`);
  }

  /** `runPlanLoop (epoch 1, batch 3)`: where, for error messages. */
  get during(): string {
    return `runPlanLoop (epoch ${this.epoch}, batch ${this.batch})`;
  }
}

export function runPlanLoop(plan: CompiledPlan, state: ReadonlyMap<string, tf.Tensor>, data: tf.Tensor, target: tf.Tensor, options: PlanLoopOptions): PlanLoopResult {
  const { epochs, batchSize } = options;
  const n = data.shape[0];
  const working = new Map(state);
  const original = new Set(state.values());
  const order = new Array<number>(n);
  let lossSum = 0;
  let samples = 0;
  let steps = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = 0; i < n; i++) order[i] = i;
      options.rng?.shuffle(order);
      for (let start = 0; start < n; start += batchSize) {
        const end = Math.min(n, start + batchSize);
        if (options.dropLast && end - start < batchSize) break;
        const where = [epoch + 1, Math.floor(start / batchSize) + 1] as const;
        const batch = tf.tidy(() => {
          const rows = tf.tensor1d(order.slice(start, end), 'int32');
          return [tf.gather(data, rows), tf.gather(target, rows)];
        });
        let result;
        try {
          result = executePlan(plan, working, batch, options.runner);
        } catch (error) {
          throw new PlanLoopError(...where, error);
        } finally {
          tf.dispose(batch);
        }
        const [loss] = result.outputs;
        const value = loss.size === 1 ? loss.dataSync()[0] : undefined;
        tf.dispose(result.outputs);
        for (const [name, next] of result.assigned) {
          const old = working.get(name)!;
          working.set(name, next);
          if (!original.has(old)) old.dispose();
        }
        if (value === undefined) throw new PlanLoopError(...where, `its first output must be the scalar loss, got shape [${loss.shape}]`);
        lossSum += value * (end - start);
        samples += end - start;
        steps++;
      }
    }
  } catch (error) {
    for (const t of working.values()) if (!original.has(t)) t.dispose();
    throw error;
  }
  const changed = new Map([...working].filter(([name, t]) => state.get(name) !== t));
  return { changed, meanLoss: samples > 0 ? lossSum / samples : 0, steps, samples };
}
