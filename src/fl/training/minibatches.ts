/**
 * The minibatch schedule of local training: E epochs over n samples, each epoch one
 * Fisher–Yates shuffle of 0..n−1 drawn from the client's stream, then batches of B rows in that
 * order (the last one smaller, or skipped under dropLast).
 *
 * Every local trainer follows this one schedule — trainLocal's tfjs loop and the fused kernels
 * (fused-dense-train.ts) — so both draw the same shuffles and see the same batches.
 */
import type { RandomStream } from '../../runtime/rng.js';

export interface MinibatchVisitor {
  /** Called once per epoch with its shuffled order, before the epoch's batches. */
  epoch?(order: readonly number[]): void;
  /** Called per batch: rows order[start..end). */
  batch(order: readonly number[], start: number, end: number): void;
}

export function forEachMinibatch(n: number, config: { epochs: number; batchSize: number; dropLast?: boolean }, rng: RandomStream, visit: MinibatchVisitor): void {
  const order = new Array<number>(n);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for (let i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order);
    visit.epoch?.(order);
    for (let start = 0; start < n; start += config.batchSize) {
      const end = Math.min(n, start + config.batchSize);
      if (config.dropLast && end - start < config.batchSize) break;
      visit.batch(order, start, end);
    }
  }
}
