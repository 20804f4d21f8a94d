/**
 * Per-example gradient norms and clipped gradient sums, vectorised: one forward and one
 * backward pass per batch, whatever the batch size.
 *
 * The backward pass stops at each trainable layer's pre-activation output z (layer-signals.ts):
 * for example i it gives δ_i = ∂ℓ_i/∂z_i and the layer's input a_i. A layer's per-example
 * weight gradient is then a product of the two:
 *
 *   dense    G_i = a_i ⊗ δ_i                    (a_i ∈ R^K, δ_i ∈ R^N)
 *   conv2d   G_i = U_iᵀ Δ_i                     (U_i ∈ R^{P×K} the unfolded patches of a_i, unfold.ts;
 *                                               Δ_i ∈ R^{P×N} the gradient at the P output pixels)
 *   bias     g_i = Σ_p Δ_i[p, :]
 *
 * (dense is conv with P = 1; a Dense layer on inputs with more axes has P > 1 too).
 *
 * Norms without the gradients ("ghost norms": Goodfellow 2015; Li, Tramèr, Liang, Hashimoto
 * 2021). ‖U_iᵀΔ_i‖²_F = ⟨U_iU_iᵀ, Δ_iΔ_iᵀ⟩, which for P = 1 is ‖a_i‖²‖δ_i‖²: the norms of a
 * dense layer cost two row sums, not B matrices of K×N. For P > 1 the Gram matrices cost
 * P²(K+N) per example against P·K·N for materialising G_i, so each layer takes the cheaper
 * (as Li et al. do); McMahan's CNN materialises both convs (P² ≫ K·N/(K+N)).
 *
 * Clipped sums without per-example gradients. With s_i = C / max(‖g_i‖, C) (1 when the
 * example's whole gradient is within C), Σ_i s_i G_i = Uᵀ diag(s) Δ over the batch's
 * stacked rows: the layer's ordinary weight gradient with δ_i scaled by s_i, one matrix
 * product. A materialised layer sums its G_i with the weights s instead (a [1, B]·[B, K·N]
 * product).
 *
 * The loss is Σ_i ℓ_i (the batch mean times B), so δ_i is the gradient of example i's own
 * loss — what DP-SGD clips (Abadi et al. 2016), and what Opacus gets from a mean-reduced
 * loss by scaling back by the batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { DpConfigError } from '../../../dp/errors.js';
import type { LossFn } from '../losses.js';
import { type LayerProgram, type TrainableStep } from './layer-program.js';
import { layerSignals } from './layer-signals.js';
import { unfoldPatches } from './unfold.js';

/** How a layer with P > 1 positions computes its per-example norms: the cheaper (default), or one of the two. */
export type NormMethod = 'auto' | 'ghost' | 'materialise';

export interface ClippedGradientSum {
  /** Σ_i s_i g_i for each trainable variable, in the order of `trainable`. */
  sums: tf.Tensor[];
  /** ‖g_i‖, each example's whole gradient (all trainable variables) before clipping: [B]. */
  norms: tf.Tensor1D;
  /** Σ_i ℓ_i. */
  lossSum: tf.Scalar;
}

/** One trainable layer's per-example view: U [B, P, K] (inputs, or unfolded patches) and D [B, P, N] (δ). */
interface LayerRows {
  step: TrainableStep;
  u: tf.Tensor3D;
  d: tf.Tensor3D;
}

/** The L2 clip bound C: a finite number > 0. */
export function checkClip(clip: unknown, at: string): number {
  if (typeof clip !== 'number' || !Number.isFinite(clip) || clip <= 0) {
    throw new DpConfigError(`${at}: clip must be a finite number > 0 (the L2 bound of each example's gradient, e.g. 1.0), got ${String(clip)}.`, { at, field: 'clip', value: clip });
  }
  return clip;
}

/**
 * Σ_i clip_C(∇ℓ_i) over the batch (x [B, inputSize], targets y [B, outputs]), with each
 * example's gradient norm. `trainable` is the model's trainable variables (model.trainable):
 * the sums come in its order. Run it inside tf.tidy; the caller owns the results.
 */
export function clippedGradientSum(
  program: LayerProgram,
  trainable: readonly tf.Variable[],
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  lossFn: LossFn,
  clip: number,
  options: { norms?: NormMethod } = {},
): ClippedGradientSum {
  checkClip(clip, 'clippedGradientSum');
  const method = options.norms ?? 'auto';
  return withLayerRows(program, x, y, lossFn, (rows, lossSum) => {
    const parts = rows.map((r) => layerNormsSquared(r, method));
    const norms = tf.sqrt(tf.addN(parts.flatMap((p) => (p.biasGrads ? [p.weightNormSq, tf.sum(tf.square(p.biasGrads), 1)] : [p.weightNormSq])))) as tf.Tensor1D;
    const scale = tf.div(clip, tf.maximum(norms, clip)) as tf.Tensor1D;
    const byVariable = new Map<tf.Variable, tf.Tensor>();
    rows.forEach((r, l) => {
      const { step } = r;
      byVariable.set(step.kernel, tf.reshape(clippedWeightSum(r, parts[l].perExample, scale), step.kernel.shape));
      if (step.bias) byVariable.set(step.bias, tf.reshape(weightedSum(scale, parts[l].biasGrads!), step.bias.shape));
    });
    return { sums: inOrder(trainable, byVariable), norms, lossSum };
  });
}

/**
 * Every example's gradient, materialised: one [B, ...shape] tensor per trainable variable,
 * in the order of `trainable` (still one forward and one backward pass). What the norms and
 * clipped sums above avoid building for dense layers; here for tests, and for callers who
 * need the gradients themselves. Run it inside tf.tidy.
 */
export function perExampleGradients(program: LayerProgram, trainable: readonly tf.Variable[], x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn): { grads: tf.Tensor[]; lossSum: tf.Scalar } {
  return withLayerRows(program, x, y, lossFn, (rows, lossSum) => {
    const batch = x.shape[0];
    const byVariable = new Map<tf.Variable, tf.Tensor>();
    for (const { step, u, d } of rows) {
      byVariable.set(step.kernel, tf.reshape(tf.matMul(u, d, true, false), [batch, ...step.kernel.shape]));
      if (step.bias) byVariable.set(step.bias, tf.sum(d, 1));
    }
    return { grads: inOrder(trainable, byVariable), lossSum };
  });
}

/** Runs `use` on the batch's per-layer rows inside a tidy; the signals' kept tensors are freed whatever happens. */
function withLayerRows<T extends tf.TensorContainer>(program: LayerProgram, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn, use: (rows: LayerRows[], lossSum: tf.Scalar) => T): T {
  const { signals, lossSum } = layerSignals(program, x, y, lossFn);
  try {
    return tf.tidy(() => use(signals.map(({ step, input, delta }) => layerRows(step, input, delta)), lossSum));
  } finally {
    tf.dispose(signals.flatMap((s) => [s.input, s.delta]));
    // lossSum is returned to the caller through `use`; tidy keeps returned tensors, and it was made outside this tidy.
  }
}

function layerRows(step: TrainableStep, input: tf.Tensor, delta: tf.Tensor): LayerRows {
  const batch = input.shape[0];
  const n = delta.shape[delta.rank - 1];
  if (step.kind === 'dense') {
    const k = input.shape[input.rank - 1];
    return { step, u: tf.reshape(input, [batch, -1, k]), d: tf.reshape(delta, [batch, -1, n]) };
  }
  const u = unfoldPatches(input as tf.Tensor4D, step.kernel.shape, step);
  return { step, u, d: tf.reshape(delta, [batch, -1, n]) };
}

interface LayerNormParts {
  /** ‖G_i‖²_F of the kernel: [B]. */
  weightNormSq: tf.Tensor1D;
  /** G_i when this layer materialised them ([B, K, N]), else undefined. */
  perExample?: tf.Tensor3D;
  /** g_i of the bias, [B, N], when the layer has one. */
  biasGrads?: tf.Tensor2D;
}

function layerNormsSquared({ step, u, d }: LayerRows, method: NormMethod): LayerNormParts {
  const [, positions, k] = u.shape;
  const n = d.shape[2];
  const biasGrads = step.bias ? (tf.sum(d, 1) as tf.Tensor2D) : undefined;
  if (positions === 1) {
    // ‖a_i ⊗ δ_i‖² = ‖a_i‖²‖δ_i‖²: exact, and two row sums.
    const weightNormSq = tf.mul(tf.sum(tf.square(u), [1, 2]), tf.sum(tf.square(d), [1, 2])) as tf.Tensor1D;
    return { weightNormSq, biasGrads };
  }
  const ghost = method === 'ghost' || (method === 'auto' && positions * (k + n) < k * n);
  if (ghost) {
    const grams = tf.mul(tf.matMul(u, u, false, true), tf.matMul(d, d, false, true));
    return { weightNormSq: tf.sum(grams, [1, 2]) as tf.Tensor1D, biasGrads };
  }
  const perExample = tf.matMul(u, d, true, false) as tf.Tensor3D;
  return { weightNormSq: tf.sum(tf.square(perExample), [1, 2]) as tf.Tensor1D, perExample, biasGrads };
}

/** Σ_i s_i G_i of a layer's kernel, as [K, N]. */
function clippedWeightSum({ u, d }: LayerRows, perExample: tf.Tensor3D | undefined, scale: tf.Tensor1D): tf.Tensor {
  if (perExample) return weightedSum(scale, tf.reshape(perExample, [perExample.shape[0], -1]) as tf.Tensor2D);
  const [batch, positions, k] = u.shape;
  const n = d.shape[2];
  const scaled = tf.mul(d, tf.reshape(scale, [batch, 1, 1]));
  return tf.matMul(tf.reshape(u, [batch * positions, k]) as tf.Tensor2D, tf.reshape(scaled, [batch * positions, n]) as tf.Tensor2D, true, false);
}

/** Σ_i s_i rows_i for rows [B, M]: a [1, B]·[B, M] product. */
function weightedSum(scale: tf.Tensor1D, rows: tf.Tensor2D): tf.Tensor {
  return tf.matMul(tf.reshape(scale, [1, -1]) as tf.Tensor2D, rows);
}

function inOrder(trainable: readonly tf.Variable[], byVariable: Map<tf.Variable, tf.Tensor>): tf.Tensor[] {
  return trainable.map((v) => {
    const t = byVariable.get(v);
    // layerProgram checked that its steps hold exactly the model's trainable variables.
    if (!t) throw new Error(`per-example gradients: variable '${v.name}' is in no layer of the program (was the program built for another model?)`);
    return t;
  });
}
