/**
 * `permutation`: a worker draws a shuffled order of its own rows.
 *
 * A federated data loader batches data where it lives (slice and gather commands on
 * the worker), and its shuffled order comes from the worker's own `shuffle` stream
 * (`actor/<worker>/shuffle`): the worker is the one consumer of that stream, so the
 * order depends only on the seed and on what the worker was asked, in which order.
 * The permutation is a Fisher–Yates shuffle of 0…n−1 (RandomStream.shuffle), stored
 * as an int32 tensor for gather.
 */
import * as tf from '@tensorflow/tfjs';
import { objectExists, type PayloadOf } from '../../messages/index.js';
import type { Turn } from '../worker-state.js';
import { PUBLIC_LABEL } from '../privacy/label.js';
import { checkWorkerAllocation } from '../compute/budget.js';

export function handlePermutation(turn: Turn, payload: PayloadOf<'permutation'>): void {
  const { worker, io } = turn;
  const { n, resultId } = payload;
  if (worker.store.has(resultId)) throw objectExists(worker.id, resultId, 'permutation');
  checkWorkerAllocation(worker, 'permutation', `a permutation (object ${resultId})`, n, resultId);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  io.rng('shuffle').shuffle(order);
  worker.store.add({ id: resultId, value: tf.tensor1d(order, 'int32'), requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
}
