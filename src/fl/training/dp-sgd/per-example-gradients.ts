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
 * Materialised conv gradients are each example's filter gradient. On wasm one call of
 * fedsim's per-example kernel computes them all (runtime/wasm-kernels/
 * conv2d-backprop-filter-per-example.ts: the im2col + XNNPACK GEMM of the ordinary filter
 * gradient, one image at a time, products kept apart). Other backends run their own
 * Conv2DBackpropFilter on each example alone. Two alternatives measured slower on wasm:
 * building U with tfjs ops (unfold.ts) and one batched matMul (5-20×: tfjs's strided slices
 * and stack copy element by element, and wasm runs a BatchMatMul with both operands batched as a
 * naive loop: fedsim's BatchMatMul (wasm-kernels/batch-mat-mul.ts) brings transposed and
 * shared-weight products to XNNPACK, not that case — measured before that kernel), and the batch kernel
 * called once per example (5-15× the batch's own gradient: a split and a call set-up per
 * example). The Gram matrices of the ghost path use unfold.ts, which is cheap when P is
 * small — the only case it is chosen.
 *
 * Clipped sums without per-example gradients. With s_i = C / max(‖g_i‖, C) (1 when the
 * example's whole gradient is within C), Σ_i s_i G_i is the layer's ordinary weight gradient
 * with δ_i scaled by s_i: aᵀ diag(s) δ for dense (one matrix product), the batch's filter
 * gradient with dy = s·δ for conv (one kernel call). A materialised layer sums its G_i with
 * the weights s instead (a [1, B]·[B, K·N] product).
 *
 * The loss is Σ_i ℓ_i (the batch mean times B), so δ_i is the gradient of example i's own
 * loss — what DP-SGD clips (Abadi et al. 2016), and what Opacus gets from a mean-reduced
 * loss by scaling back by the batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { DpConfigError } from '../../../dp/errors.js';
import { FlInvariantError } from '../../errors.js';
import type { LossFn } from '../losses.js';
import type { Conv2dStep, LayerProgram } from './layer-program.js';
import { type LayerSignal, layerSignals } from './layer-signals.js';
import { unfoldPatches } from './unfold.js';
import { PER_EXAMPLE_FILTER_GRAD } from '../../../runtime/wasm-kernels/conv2d-backprop-filter-per-example.js';

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
  return withSignals(program, x, y, lossFn, (signals, lossSum) => {
    const layers = signals.map((signal) => layerNorms(signal, method));
    const squares = layers.flatMap((l) => (l.biasGrads ? [l.weightNormSq, tf.sum(tf.square(l.biasGrads), 1)] : [l.weightNormSq]));
    const norms = tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares)) as tf.Tensor1D;
    const scale = tf.div(clip, tf.maximum(norms, clip)) as tf.Tensor1D;
    const byVariable = new Map<tf.Variable, tf.Tensor>();
    signals.forEach((signal, l) => {
      const { step } = signal;
      const { perExample, biasGrads } = layers[l];
      const kernelSum = perExample ? weightedSum(scale, tf.reshape(perExample, [perExample.shape[0], -1]) as tf.Tensor2D) : scaledWeightGradient(signal, scale);
      byVariable.set(step.kernel, tf.reshape(kernelSum, step.kernel.shape));
      if (step.bias) byVariable.set(step.bias, tf.reshape(weightedSum(scale, biasGrads!), step.bias.shape));
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
  return withSignals(program, x, y, lossFn, (signals, lossSum) => {
    const byVariable = new Map<tf.Variable, tf.Tensor>();
    for (const signal of signals) {
      const { step } = signal;
      const batch = signal.input.shape[0];
      const weights = step.kind === 'dense' ? denseExampleGradients(signal.input, signal.delta) : convExampleGradients(step, signal.input as tf.Tensor4D, signal.delta as tf.Tensor4D);
      byVariable.set(step.kernel, tf.reshape(weights, [batch, ...step.kernel.shape]));
      if (step.bias) byVariable.set(step.bias, biasExampleGradients(signal.delta));
    }
    return { grads: inOrder(trainable, byVariable), lossSum };
  });
}

/** Runs `use` on the batch's signals inside a tidy; the signals' tensors are freed whatever happens. */
function withSignals<T extends tf.TensorContainer>(program: LayerProgram, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn, use: (signals: LayerSignal[], lossSum: tf.Scalar) => T): T {
  const { signals, lossSum } = layerSignals(program, x, y, lossFn);
  try {
    // lossSum was made outside this tidy, so it survives it either way; the caller's tidy owns it.
    return tf.tidy(() => use(signals, lossSum));
  } finally {
    tf.dispose(signals.flatMap((s) => [s.input, s.delta]));
  }
}

interface LayerNorms {
  /** ‖G_i‖²_F of the kernel: [B]. */
  weightNormSq: tf.Tensor1D;
  /** G_i, [B, K, N], when this layer materialised them. */
  perExample?: tf.Tensor3D;
  /** g_i of the bias, [B, N], when the layer has one. */
  biasGrads?: tf.Tensor2D;
}

function layerNorms(signal: LayerSignal, method: NormMethod): LayerNorms {
  const { step, input, delta } = signal;
  const biasGrads = step.bias ? biasExampleGradients(delta) : undefined;
  const batch = input.shape[0];
  const n = delta.shape[delta.rank - 1];
  if (step.kind === 'dense' && input.rank === 2) {
    // ‖a_i ⊗ δ_i‖² = ‖a_i‖²‖δ_i‖²: exact, and two row sums.
    return { weightNormSq: tf.mul(tf.sum(tf.square(input), 1), tf.sum(tf.square(delta), 1)) as tf.Tensor1D, biasGrads };
  }
  const [fH, fW, cin] = step.kernel.shape as number[];
  const k = step.kind === 'dense' ? (input.shape[input.rank - 1] as number) : fH * fW * cin;
  const positions = delta.size / (batch * n);
  if (method === 'ghost' || (method === 'auto' && positions * (k + n) < k * n)) {
    const u = step.kind === 'dense' ? (tf.reshape(input, [batch, positions, k]) as tf.Tensor3D) : unfoldPatches(input as tf.Tensor4D, step.kernel.shape, step);
    const d = tf.reshape(delta, [batch, positions, n]) as tf.Tensor3D;
    const grams = tf.mul(tf.matMul(u, u, false, true), tf.matMul(d, d, false, true));
    return { weightNormSq: tf.sum(grams, [1, 2]) as tf.Tensor1D, biasGrads };
  }
  const perExample = (step.kind === 'dense' ? denseExampleGradients(input, delta) : convExampleGradients(step, input as tf.Tensor4D, delta as tf.Tensor4D)) as tf.Tensor3D;
  return { weightNormSq: tf.sum(tf.square(perExample), [1, 2]) as tf.Tensor1D, perExample, biasGrads };
}

/** G_i = Σ_p a_i[p] ⊗ δ_i[p] of a dense layer, [B, K, N]. */
function denseExampleGradients(input: tf.Tensor, delta: tf.Tensor): tf.Tensor3D {
  const batch = input.shape[0];
  const u = tf.reshape(input, [batch, -1, input.shape[input.rank - 1] as number]) as tf.Tensor3D;
  const d = tf.reshape(delta, [batch, -1, delta.shape[delta.rank - 1] as number]) as tf.Tensor3D;
  return tf.matMul(u, d, true, false);
}

/**
 * Each example's filter gradient, [B, K, N]: on wasm by fedsim's per-example kernel (one
 * call for the batch); elsewhere by the backend's Conv2DBackpropFilter on each example alone.
 */
function convExampleGradients(step: Conv2dStep, input: tf.Tensor4D, delta: tf.Tensor4D): tf.Tensor3D {
  const batch = input.shape[0];
  const [fH, fW, cin, cout] = step.kernel.shape as number[];
  let grads: tf.Tensor;
  if (tf.getKernel(PER_EXAMPLE_FILTER_GRAD, tf.getBackend()) != null) {
    const attrs = { strides: step.strides, pad: step.pad, filterShape: step.kernel.shape } as unknown as tf.NamedAttrMap;
    grads = tf.engine().runKernel(PER_EXAMPLE_FILTER_GRAD, { x: input, dy: delta } as unknown as tf.NamedTensorMap, attrs) as tf.Tensor;
  } else {
    const inputs = tf.split(input, batch, 0);
    const deltas = tf.split(delta, batch, 0);
    grads = tf.stack(inputs.map((a, i) => filterGradient(step, a as tf.Tensor4D, deltas[i] as tf.Tensor4D)));
  }
  return tf.reshape(grads, [batch, fH * fW * cin, cout]) as tf.Tensor3D;
}

/** Σ over the batch of the filter gradients, conv2d's own weight gradient for inputs a and output gradient dy. */
function filterGradient(step: Conv2dStep, a: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const attrs = { strides: step.strides, pad: step.pad, dataFormat: 'NHWC', filterShape: step.kernel.shape } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: a, dy } as unknown as tf.NamedTensorMap, attrs) as tf.Tensor4D;
}

/** g_i = Σ_p δ_i[p] of a bias, [B, N]. */
function biasExampleGradients(delta: tf.Tensor): tf.Tensor2D {
  const batch = delta.shape[0];
  const n = delta.shape[delta.rank - 1] as number;
  // A clone (it shares the data): the signals are disposed when the caller's work is done, and this may outlive them.
  return delta.rank === 2 ? (tf.clone(delta) as tf.Tensor2D) : (tf.sum(tf.reshape(delta, [batch, -1, n]), 1) as tf.Tensor2D);
}

/** Σ_i s_i G_i of a layer whose G_i were not materialised: its weight gradient with δ_i scaled by s_i. */
function scaledWeightGradient({ step, input, delta }: LayerSignal, scale: tf.Tensor1D): tf.Tensor {
  const batch = input.shape[0];
  const scaled = tf.mul(delta, tf.reshape(scale, [batch, ...delta.shape.slice(1).map(() => 1)]));
  if (step.kind === 'conv2d') return filterGradient(step, input as tf.Tensor4D, scaled as tf.Tensor4D);
  const k = input.shape[input.rank - 1] as number;
  const n = delta.shape[delta.rank - 1] as number;
  return tf.matMul(tf.reshape(input, [-1, k]) as tf.Tensor2D, tf.reshape(scaled, [-1, n]) as tf.Tensor2D, true, false);
}

/** Σ_i s_i rows_i for rows [B, M]: a [1, B]·[B, M] product. */
function weightedSum(scale: tf.Tensor1D, rows: tf.Tensor2D): tf.Tensor {
  return tf.matMul(tf.reshape(scale, [1, -1]) as tf.Tensor2D, rows);
}

function inOrder(trainable: readonly tf.Variable[], byVariable: Map<tf.Variable, tf.Tensor>): tf.Tensor[] {
  return trainable.map((v) => {
    const t = byVariable.get(v);
    // layerProgram checked that its steps hold exactly the model's trainable variables.
    if (!t) throw new FlInvariantError(`per-example gradients: variable '${v.name}' is in no layer of the program; pass the trainable variables of the model the program was built for`, { op: 'per-example gradients', field: 'trainable' });
    return t;
  });
}

