/**
 * Conv2DBackpropInput for the wasm backend, *replacing* the native one for
 * speed, not correctness: tfjs-backend-wasm 4.22 computes it with a naive C++
 * loop, which after Conv2DBackpropFilter was fixed became ~70% of a LeNet-sized
 * training step. (The first conv layer never needs it: tfjs skips the gradient
 * of the input data.)
 *
 *   dx[b, xR, xC, d1] = Σ dy[b, yR, yC, d2] · W[wR, wC, d1, d2]   over xR = yR·sH − top + wR, …
 *
 * Per output position m = (b, yR, yC) the products with every filter tap are
 * one row of P = dy · Wᵀ ([M, outC] · [outC, K = (wR, wC, d1)]), computed by
 * XNNPACK's GEMM through the backend's BatchMatMul (gemm.ts); JS then
 * scatters each row back onto the input pixels that position's window covered
 * (col2im). A stride-1 NHWC conv takes a faster route: one native forward
 * convolution with the turned filter (conv2d-backprop-by-convolution.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { type ConvGradRoute, inputGradByConvolution } from './conv2d-backprop-by-convolution.js';
import { dyMatrix, imagesPerSlice, MAX_SLICE_FLOATS, nativeMatMul } from './gemm.js';
import { disposeAll, heapView, wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { clippedWindows, denseConvWindow } from './window.js';

/**
 * The kernel function. `maxProductFloats` bounds P: larger batches go in
 * slices of whole images. It is a parameter only so tests can force slicing;
 * `route` = 'gemm' forces this col2im route where the convolution one applies
 * (tests, benchmarks).
 */
export function conv2DBackpropInput(
  params: Parameters<tf.KernelFunc>[0],
  maxProductFloats = MAX_SLICE_FLOATS,
  route: ConvGradRoute = 'auto',
): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['dy', 'filter'], tf.Conv2DBackpropInput);
  const { dy, filter } = inputs;
  const convAttrs = attrs as tf.Conv2DBackpropInputAttrs;
  const g = denseConvWindow(convAttrs.inputShape, filter.shape, convAttrs);
  // Stride 1, NHWC: one native convolution, faster than col2im (see that file).
  const byConvolution = route === 'auto' ? inputGradByConvolution(backend, dy, filter, g) : null;
  if (byConvolution != null) return byConvolution;
  const { batchSize, inChannels, outChannels, inPixels, outPixels: pixels, fH, fW, xs } = g;
  const K = fH * fW * inChannels;
  const slice = imagesPerSlice(batchSize, K * pixels, maxProductFloats);
  const { start, tap, inPixel } = clippedWindows(g);
  // Input pixel i = xR·inWidth + xC starts at element i·xs.col in NHWC and
  // NCHW alike (both have xs.row = inWidth·xs.col).
  const pixelStride = xs.col;
  const channelStride = xs.channel;
  const dx = new Float64Array(batchSize * inPixels * inChannels);

  // Wᵀ as [outC, K]: the filter is [K, outC] row-major, and BatchMatMul is
  // only fast untransposed.
  const wT = backend.makeOutput([1, outChannels, K], 'float32');
  {
    const wv = heapView(backend, filter);
    const wTV = backend.typedArrayFromHeap(wT) as Float32Array;
    for (let k = 0; k < K; k++) {
      for (let d2 = 0; d2 < outChannels; d2++) wTV[d2 * K + k] = wv[k * outChannels + d2];
    }
  }

  for (let b0 = 0; b0 < batchSize; b0 += slice) {
    const nb = Math.min(slice, batchSize - b0);
    const dyRows = dyMatrix(backend, dy, g, b0, nb);
    const product = nativeMatMul(backend, dyRows, wT);
    const pv = backend.typedArrayFromHeap(product);
    // col2im: row m of P holds, for each tap (wR, wC, d1), the contribution to
    // the input pixel that tap saw from output position m.
    let m = 0;
    for (let b = b0; b < b0 + nb; b++) {
      const image = b * xs.batch;
      for (let p = 0; p < pixels; p++, m++) {
        for (let t = start[p], end = start[p + 1]; t < end; t++) {
          const xBase = image + inPixel[t] * pixelStride;
          const pBase = m * K + tap[t] * inChannels;
          for (let d1 = 0; d1 < inChannels; d1++) dx[xBase + d1 * channelStride] += pv[pBase + d1];
        }
      }
    }
    disposeAll(backend, product, dyRows);
  }
  disposeAll(backend, wT);
  return writeOutput(backend, g.info.inShape, dx);
}

export const conv2DBackpropInputConfig = wasmKernelConfig(tf.Conv2DBackpropInput, (params) =>
  conv2DBackpropInput(params),
);
