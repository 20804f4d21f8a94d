/**
 * `drawPermutation(bob, n)`: bob shuffles 0…n−1 with his own `shuffle` stream and keeps
 * the result; the pointer to it comes back at once (one pipelined message). The
 * federated data loader gathers batches by slices of it, so shuffled batches are made
 * on the worker from an order the worker drew.
 */
import { FedsimError } from '../runtime/index.js';
import { PointerTensor } from './pointer-tensor.js';
import type { VirtualWorker } from './worker-handle.js';

export function drawPermutation(worker: VirtualWorker, n: number): PointerTensor {
  if (worker.isClient) throw new FedsimError(`drawPermutation: ${worker.id} is the local worker; permutations are drawn by workers created with sim.worker().`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`drawPermutation: n must be a whole number ≥ 0, got ${n}.`);
  const sim = worker.sim;
  const resultId = sim.nextId();
  sim.tell(worker.id, 'permutation', { n, resultId });
  return new PointerTensor({ sim, location: worker, idAtLocation: resultId, shape: [n], dtype: 'int32' });
}
