/**
 * Both dense conv gradients of a stride-1 NHWC conv2d as *forward*
 * convolutions, run by the wasm backend's native Conv2D (XNNPACK's indirect
 * GEMM). The im2col / col2im route of gemm.ts builds a patch matrix
 * fH·fW times the size of the image in JS; here JS only transposes tensors
 * (native Transpose) or turns the filter, and XNNPACK walks the windows
 * itself. Measured on McMahan's CNN (5×5 'same'; CPU time, medians of 7
 * interleaved runs; `bench/kernel-profile.ts conv`): the second conv's input
 * gradient 9.7 → 6.2 ms at batch 10 (59 → 29 ms at 50), its filter gradient
 * 10.0 → 7.3 ms (56 → 34 ms), the first conv's filter gradient 2.0 → 1.5 ms
 * (12.0 → 7.2 ms).
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
 * Stride 1 only, and for the input gradient 8 input channels or more; the
 * callers keep the GEMM route for the rest. (A strided conv's input gradient
 * would need the native Conv2D to dilate its input, which it cannot; its
 * filter gradient would be this convolution with the filter dilated by the
 * stride, left out because fedsim's built-in models are all stride 1.)
 * XNNPACK runs single-threaded, so the sums are in the same order every run.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeAll, heapView } from './heap.js';
import { nativeKernelFunc } from './native-kernels.js';
import type { WindowGeometry } from './window.js';

/**
 * Which route a conv gradient kernel takes: 'auto' is the convolution where it
 * applies, else the GEMM; 'gemm' forces the GEMM route (tests and benchmarks
 * compare the two).
 */
export type ConvGradRoute = 'auto' | 'gemm';

/** Padding after the last row / column that makes a stride-1 convolution's output `outSize` long. */
const padAfter = (inSize: number, padBefore: number, filterSize: number, outSize: number) => outSize + filterSize - 1 - inSize - padBefore;

/**
 * The input-gradient convolution's padding, or null where this route does not
 * apply or is slower. Its output channels are the conv's input channels, which
 * XNNPACK computes in SIMD tiles of 8: with fewer the tile is mostly waste and
 * col2im wins (measured with 1 channel, 28×28, 5×5→32: 0.7×). A network's first
 * layer, the usual few-channel one, never needs this gradient anyway.
 */
function inputGradPadding(g: WindowGeometry): [number, number, number, number] | null {
  if (g.sH !== 1 || g.sW !== 1 || g.info.dataFormat !== 'channelsLast' || g.inChannels < 8) return null;
  const top = g.fH - 1 - g.top;
  const left = g.fW - 1 - g.left;
  const bottom = padAfter(g.outHeight, top, g.fH, g.inHeight);
  const right = padAfter(g.outWidth, left, g.fW, g.inWidth);
  return Math.min(top, left, bottom, right) >= 0 ? [top, bottom, left, right] : null;
}

/** The filter-gradient convolution's padding, or null where this route does not apply. */
function filterGradPadding(g: WindowGeometry): [number, number, number, number] | null {
  if (g.sH !== 1 || g.sW !== 1 || g.info.dataFormat !== 'channelsLast') return null;
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

/** dW [fH, fW, inC, outC] as one forward convolution, or null where this route does not apply. */
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
