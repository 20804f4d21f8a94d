/**
 * Both dense conv gradients of a stride-1 NHWC conv2d as *forward*
 * convolutions, run by the wasm backend's native Conv2D (XNNPACK's indirect
 * GEMM). The im2col / col2im route of gemm.ts builds a patch matrix
 * fH·fW times the size of the image in JS; here JS only transposes tensors
 * (native Transpose) or flips the filter, and XNNPACK walks the windows
 * itself. Measured on McMahan's CNN (conv 5×5, 32→64 on 14×14, 'same'):
 * the input gradient 12.4 → 6.4 ms at batch 10 (78 → 54 ms at 50), the filter
 * gradient 16.8 → 10.6 ms (58 → 48 ms).
 *
 * Input gradient: dx is dy correlated with the filter turned by 180° and its
 * channel axes swapped, W'[i, j, o, c] = W[fH−1−i, fW−1−j, c, o], with
 * padding fH−1−top before, so that dx[xR] = Σ_wR dy[xR + top − wR] · W[wR].
 *
 * Filter gradient: dW[wR, wC, c, o] = Σ_{b, yR, yC} x[b, yR + wR − top, …, c] · dy[b, yR, yC, o]
 * is a convolution of x' = x with batch and channels swapped ([inC, H, W, B]:
 * the input channels become the images, the batch the channels) with the
 * filter dy' = dy as [outH, outW, B, outC], giving [inC, fH, fW, outC].
 *
 * Stride 1 only (a strided forward conv has a dilated gradient, which the
 * native Conv2D would need as input dilation, which it lacks); the callers
 * keep the GEMM route for the rest. XNNPACK runs single-threaded, so the sums
 * are in the same order every run.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeAll, heapView } from './heap.js';
import { nativeKernelFunc } from './native-kernels.js';
import type { WindowGeometry } from './window.js';

/** Padding after the last row / column that makes a stride-1 convolution's output `outSize` long. */
const padAfter = (inSize: number, padBefore: number, filterSize: number, outSize: number) => outSize + filterSize - 1 - inSize - padBefore;

/** The input-gradient convolution's padding, or null where this route does not apply. */
function inputGradPadding(g: WindowGeometry): [number, number, number, number] | null {
  if (g.sH !== 1 || g.sW !== 1 || g.info.dataFormat !== 'channelsLast') return null;
  const top = g.fH - 1 - g.top;
  const left = g.fW - 1 - g.left;
  const bottom = padAfter(g.outHeight, top, g.fH, g.inHeight);
  const right = padAfter(g.outWidth, left, g.fW, g.inWidth);
  return Math.min(top, left, bottom, right) >= 0 ? [top, bottom, left, right] : null;
}

/**
 * The filter-gradient convolution's padding, or null where this route does not
 * apply or is slower. XNNPACK's inner loop then runs over the batch (the
 * channels of x'), once per filter tap and output position: with a
 * single-channel image and a small batch that loop is too short, and the
 * im2col route wins (measured: 1→32 channels on 28×28 at batch 10, 2.0 ms
 * im2col against 3.1; at batch 50, 20 against 12).
 */
function filterGradPadding(g: WindowGeometry): [number, number, number, number] | null {
  if (g.sH !== 1 || g.sW !== 1 || g.info.dataFormat !== 'channelsLast') return null;
  if (g.batchSize * g.inChannels < 32) return null;
  const bottom = padAfter(g.inHeight, g.top, g.outHeight, g.fH);
  const right = padAfter(g.inWidth, g.left, g.outWidth, g.fW);
  return Math.min(g.top, g.left, bottom, right) >= 0 ? [g.top, bottom, g.left, right] : null;
}

function convolve(backend: BackendWasm, x: tf.TensorInfo, filter: tf.TensorInfo, [top, bottom, left, right]: number[]): tf.TensorInfo {
  return nativeKernelFunc(tf.Conv2D)({
    inputs: { x, filter },
    backend,
    attrs: { strides: 1, pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: 1 },
  }) as tf.TensorInfo;
}

function transpose(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return nativeKernelFunc(tf.Transpose)({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** dx [B, H, W, inC] as one forward convolution, or null where this route does not apply. */
export function inputGradByConvolution(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, g: WindowGeometry): tf.TensorInfo | null {
  const padding = inputGradPadding(g);
  if (padding == null) return null;
  const { fH, fW, inChannels: inC, outChannels: outC } = g;
  const turned = backend.makeOutput([fH, fW, outC, inC], 'float32');
  // Views after the allocation: malloc may move the heap.
  const w = heapView(backend, filter);
  const t = backend.typedArrayFromHeap(turned) as Float32Array;
  for (let i = 0; i < fH; i++) {
    for (let j = 0; j < fW; j++) {
      const from = (i * fW + j) * inC * outC;
      const to = ((fH - 1 - i) * fW + (fW - 1 - j)) * outC * inC;
      for (let c = 0; c < inC; c++) {
        for (let o = 0; o < outC; o++) t[to + o * inC + c] = w[from + c * outC + o];
      }
    }
  }
  const dx = convolve(backend, dy, turned, padding);
  disposeAll(backend, turned);
  return dx;
}

/** dW [fH, fW, inC, outC] as one forward convolution, or null where this route does not apply or is slower. */
export function filterGradByConvolution(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, g: WindowGeometry): tf.TensorInfo | null {
  const padding = filterGradPadding(g);
  if (padding == null) return null;
  const images = transpose(backend, x, [3, 1, 2, 0]);
  const taps = transpose(backend, dy, [1, 2, 0, 3]);
  const byChannel = convolve(backend, images, taps, padding);
  const dw = transpose(backend, byChannel, [1, 2, 0, 3]);
  disposeAll(backend, images, taps, byChannel);
  return dw;
}
