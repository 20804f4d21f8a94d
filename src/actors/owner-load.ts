/**
 * The data owner's own door into a worker: loading data on the machine it owns (a hospital
 * loading its records), as opposed to data the local worker `me` sends in messages.
 *
 * It writes the store directly, at once — the owner is at the machine, not on the network —
 * and the data's privacy label names the worker as its contributor, a data owner. Whatever
 * `me` (or an actor outside the federation) sends privately counts as the sender's own
 * contribution, however it labels it, and the release policy counts only data owners other
 * than the requester whose data the requester may not see (privacy/release.ts). What the
 * policy must take on trust is this door: that a worker's owner loads its own data, not
 * data the requester knows (the README's Privacy model says so).
 */
import * as tf from '@tensorflow/tfjs';
import { objectExists } from '../messages/index.js';
import { contributedBy } from './privacy/label.js';
import type { WorkerState } from './worker-state.js';

export interface OwnerLoadOptions {
  allowedUsers?: readonly string[];
  tags?: readonly string[];
  description?: string;
  requiresGrad?: boolean;
}

/** Stores a copy of `tensor` under `id` as the worker's own data (the caller keeps `tensor`). */
export function loadOwnData(worker: WorkerState, id: string, tensor: tf.Tensor, options: OwnerLoadOptions = {}): void {
  if (worker.store.has(id)) throw objectExists(worker.id, id, 'load');
  const value = tensor instanceof tf.Variable ? tf.variable(tensor, tensor.trainable) : tf.clone(tensor);
  worker.store.add({
    id,
    value,
    requiresGrad: options.requiresGrad ?? (tensor instanceof tf.Variable && tensor.trainable),
    label: contributedBy(options.allowedUsers, worker.id, worker.parts),
    tags: [...(options.tags ?? [])],
    description: options.description,
  });
}
