/**
 * The dense conv gradients as matrix products on the wasm backend's native
 * GEMM. Both Conv2DBackpropFilter (dW = colsᵀ · dy) and Conv2DBackpropInput
 * (P = dy · Wᵀ, then col2im) multiply by dy viewed as a matrix of rows
 * M = (b, yR, yC) by outC, and both bound their temporaries by processing the
 * batch in slices of whole images.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from './heap.js';
import { nativeKernelFunc } from './native-kernels.js';
import type { WindowGeometry } from './window.js';

/**
 * a[1, M, K] · b[1, K, N] on the wasm backend's native BatchMatMul (even when
 * fedsim's BatchMatMul has replaced it in the registry). Only the
 * untransposed, batch-1 case reaches XNNPACK's SIMD GEMM (transposed operands
 * fall back to a naive C++ loop), so callers lay their operands out to fit.
 * XNNPACK packs b (and tfjs caches the packed operator until b is disposed).
 * XNNPACK runs single-threaded here, so the summation order, and hence the
 * result, is the same every run. The caller owns (and must dispose) the
 * returned tensor.
 */
export function nativeMatMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return nativeKernelFunc('BatchMatMul')({
    inputs: { a, b },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
}

/**
 * Default bound, in floats (64 MiB), on the temporary matrix a dense conv
 * gradient builds per slice of the batch (the patch matrix, or the product P),
 * so memory stays bounded whatever the batch size.
 */
export const MAX_SLICE_FLOATS = 1 << 24;

/**
 * How many images one slice may hold so that a temporary of `floatsPerImage`
 * per image stays within `maxFloats`: memory stays bounded whatever the batch
 * size, and a single image is always allowed.
 */
export function imagesPerSlice(batchSize: number, floatsPerImage: number, maxFloats: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(maxFloats / floatsPerImage)));
}

/**
 * Images [b0, b0 + nb) of dy as a fresh [1, M = (b, yR, yC), outC] matrix on
 * the heap: a plain copy for NHWC, a transpose for NCHW. The caller disposes
 * it. Allocates first and only then views dy, since malloc may move the heap.
 */
export function dyMatrix(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  g: WindowGeometry,
  b0: number,
  nb: number,
): tf.TensorInfo {
  const { outHeight, outWidth, outChannels, ys } = g;
  const rows = backend.makeOutput([1, nb * outHeight * outWidth, outChannels], 'float32');
  const dyv = heapView(backend, dy);
  const rowsV = backend.typedArrayFromHeap(rows) as Float32Array;
  let r = 0;
  for (let b = b0; b < b0 + nb; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const base = b * ys.batch + yR * ys.row + yC * ys.col;
        for (let d2 = 0; d2 < outChannels; d2++) rowsV[r++] = dyv[base + d2 * ys.channel];
      }
    }
  }
  return rows;
}
