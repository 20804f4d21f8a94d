/**
 * BatchMatMul for the wasm backend, *replacing* the native one for speed.
 *
 * tfjs-backend-wasm 4.22 sends a product to XNNPACK's SIMD GEMM only when
 * neither operand is transposed and both have batch 1; everything else runs a
 * naive C++ triple loop, 10-15× slower. A dense layer's gradients are exactly
 * those transposed products: dW = xᵀ·dy (transposeA) and dx = dy·Wᵀ
 * (transposeB). So this kernel lays the operands out for the fast case and
 * runs the native GEMM on them, in one of two layouts:
 *
 *   direct       C  = op(A) · op(B)       transposes A if transposeA, B if transposeB
 *   transposed   Cᵀ = op(B)ᵀ · op(A)ᵀ     transposes A unless transposeA, B unless
 *                                         transposeB, and the result back
 *
 * Besides transposes, a layout pays for XNNPACK *packing* its right operand
 * (xnn_create_fully_connected, run whenever that operand is a tensor the GEMM
 * has not seen; tfjs caches the packed operator per tensor). Packing costs
 * about 3.5× a transpose per element, so the layout is chosen by counting
 * elements moved (chooseMatMulLayout). That also speeds up the *forward*
 * product of training: x·W with W a fresh tensor after every SGD step repacks
 * W (M·K·N = 10·784·200: 600 µs, 440 of them packing), while Wᵀ·xᵀ transposes
 * W instead and packs only the small xᵀ (340 µs). A right operand seen
 * untransposed before is a weight matrix used again (evaluation, inference,
 * frozen layers): it takes the direct layout, whose packed operator tfjs then
 * caches for every further use, so packing is paid once.
 *
 * Results are the same whichever layout runs: XNNPACK's f32 GEMM sums each
 * output element over k in order with no fused multiply-add, so C and Cᵀ hold
 * identical bits (the tests check this), and both are the same every run
 * (single-threaded XNNPACK). They differ from the native naive loop, which
 * sums in blocks of 48, in the last bits.
 *
 * Batched products: with B shared by every batch entry (batch 1 or broadcast)
 * and A untransposed, A's batch entries stack into one tall matrix and take
 * one GEMM. Other batched products go to the native kernel unchanged (correct,
 * slow; nothing fedsim trains uses them).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeMatMul } from './gemm.js';
import { disposeAll, wasmArgs, wasmKernelConfig } from './heap.js';
import { nativeKernelFunc } from './native-kernels.js';

export type MatMulLayout = 'direct' | 'transposed';

/**
 * Measured on tfjs-backend-wasm 4.22 (SIMD, one thread): the native Transpose
 * moves about 0.8 ns per float, XNNPACK packs transposed weights at about
 * 2.8 ns per float (bench/kernel-profile.ts shows both inside BatchMatMul).
 */
const TRANSPOSE_COST = 1;
const PACK_COST = 3.5;

/**
 * The cheaper layout for C[m, n] = op(A)[m, k] · op(B)[k, n], counting floats
 * transposed and packed. `bReused`: B (untransposed) was a right operand
 * before, so it is taken for a weight matrix whose packing, once cached,
 * costs nothing more. Ties go to direct. A pure function of its arguments, so
 * the same program picks the same layouts (and both give the same bits).
 */
export function chooseMatMulLayout(
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
  bReused: boolean,
): MatMulLayout {
  const direct =
    TRANSPOSE_COST * ((transposeA ? m * k : 0) + (transposeB ? k * n : 0)) +
    (!transposeB && bReused ? 0 : PACK_COST * k * n);
  const transposed =
    TRANSPOSE_COST * ((transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n) + PACK_COST * k * m;
  return transposed < direct ? 'transposed' : 'direct';
}

/**
 * Data ids of tensors that were the untransposed right operand of a product
 * (see chooseMatMulLayout). Weak, so a disposed tensor's entry goes with it.
 */
const rightOperands = new WeakSet<object>();

/**
 * The kernel function. `layout` forces a layout, for tests; otherwise
 * chooseMatMulLayout picks one.
 */
export function batchMatMul(params: Parameters<tf.KernelFunc>[0], layout?: MatMulLayout): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['a', 'b'], tf.BatchMatMul);
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as tf.BatchMatMulAttrs;
  const native = () => nativeKernelFunc(tf.BatchMatMul)(params) as tf.TensorInfo;
  // The native kernel reports bad dtypes, ranks and shapes in tfjs' own words.
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return native();

  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = a.shape[transposeA ? aRank - 1 : aRank - 2];
  const k = a.shape[transposeA ? aRank - 2 : aRank - 1];
  const n = b.shape[transposeB ? bRank - 2 : bRank - 1];
  const bInner = b.shape[transposeB ? bRank - 1 : bRank - 2];
  const aBatch = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const bBatch = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (k !== bInner || m * k * n === 0 || bBatch !== 1 || (aBatch !== 1 && transposeA)) return native();

  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  // A's batch entries, stacked, are one [aBatch·m, k] matrix (A untransposed).
  const rows = aBatch * m;
  const bReused = !transposeB && rightOperands.has(b.dataId);
  if (!transposeB) rightOperands.add(b.dataId);
  const chosen = layout ?? chooseMatMulLayout(rows, k, n, transposeA, transposeB, bReused);
  const out =
    chosen === 'direct'
      ? directProduct(backend, a, b, rows, k, n, transposeA, transposeB)
      : transposedProduct(backend, a, b, rows, k, n, transposeA, transposeB);
  out.shape = [...outer, m, n];
  return out;
}

/** C = op(A) · op(B): the transposed operands copied into row-major order. */
function directProduct(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const left = transposeA ? transpose2d(backend, a, k, m) : as3d(a, m, k);
  const right = transposeB ? transpose2d(backend, b, n, k) : as3d(b, k, n);
  const out = nativeMatMul(backend, left, right);
  if (transposeA) disposeAll(backend, left);
  if (transposeB) disposeAll(backend, right);
  return out;
}

/** Cᵀ = op(B)ᵀ · op(A)ᵀ, then transposed back: a transposed operand is used as it lies. */
function transposedProduct(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const left = transposeB ? as3d(b, n, k) : transpose2d(backend, b, k, n);
  const right = transposeA ? as3d(a, k, m) : transpose2d(backend, a, m, k);
  const outT = nativeMatMul(backend, left, right);
  if (!transposeB) disposeAll(backend, left);
  if (!transposeA) disposeAll(backend, right);
  const out = transpose2d(backend, outT, n, m);
  disposeAll(backend, outT);
  return out;
}

/** The same data viewed as one [1, rows, cols] matrix (no copy, no reference taken). */
function as3d(x: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo {
  return { dataId: x.dataId, shape: [1, rows, cols], dtype: x.dtype };
}

/**
 * x's data read as a row-major [rows, cols] matrix, transposed into a new
 * [1, cols, rows] tensor by the native Transpose kernel: measured 3-5× faster
 * than a JS loop over heap views for weight-sized matrices, and no slower for
 * small ones. The caller disposes the result.
 */
function transpose2d(backend: BackendWasm, x: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo {
  const out = nativeKernelFunc(tf.Transpose)({
    inputs: { x: { dataId: x.dataId, shape: [rows, cols], dtype: x.dtype } },
    backend,
    attrs: { perm: [1, 0] },
  }) as tf.TensorInfo;
  return { dataId: out.dataId, shape: [1, cols, rows], dtype: out.dtype };
}

export const batchMatMulConfig = wasmKernelConfig(tf.BatchMatMul, (params) => batchMatMul(params));
