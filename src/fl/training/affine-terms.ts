/**
 * Gradient terms affine in the weights, the kind FL algorithms add to each local step:
 *
 *   term(w) = c · (w − anchor) + offset          (per weight, the same at every step)
 *
 * FedProx's proximal pull μ (w − w_global), SCAFFOLD's correction c − c_i, FedDyn's
 * α (w − θ^{t−1}) − ∇L_i are all of this form. Said as data rather than as a tfjs closure, a
 * term can be applied both by trainLocal's tfjs loop (as tensors, here) and inside the fused
 * dense kernels (fused-dense-train.ts), so these algorithms train at the fused speed too.
 */
import type * as tf from '@tensorflow/tfjs';
import * as tfOps from '@tensorflow/tfjs';
import type { Model } from '../models/model.js';
import type { GradientTerms } from './train-local.js';
import { trainableTensors } from './trainable-tensors.js';

export interface AffineGradientTerm {
  /** c · (w − anchor): a pull towards `anchor` (all weights, in weight order). */
  pull?: { coefficient: number; anchor: readonly Float32Array[] };
  /** A constant added to the gradient (all weights, in weight order). */
  offset?: readonly Float32Array[];
}

/** The term as tfjs gradient terms for `model`'s trainable parameters, and the tensors to free after training. */
export function affineTermTensors(model: Model, term: AffineGradientTerm, where: string): { terms: GradientTerms; owned: tf.Tensor[] } {
  const anchors = term.pull ? trainableTensors(model, term.pull.anchor, `${where}: the pull's anchor`) : undefined;
  const offsets = term.offset ? trainableTensors(model, term.offset, `${where}: the offset`) : undefined;
  const c = term.pull ? tfOps.scalar(term.pull.coefficient) : undefined;
  const owned = [...(anchors ?? []), ...(offsets ?? []), ...(c ? [c] : [])];
  const terms: GradientTerms = (params) =>
    params.map((p, i) => {
      if (!anchors) return offsets![i];
      const pull = tfOps.mul(tfOps.sub(p, anchors[i]), c!);
      return offsets ? tfOps.add(pull, offsets[i]) : pull;
    });
  return { terms, owned };
}
