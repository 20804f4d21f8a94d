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
 * XNNPACK's GEMM through the backend's BatchMatMul; JS then scatters each row
 * back onto the input pixels that position's window covered (col2im).
 * Single-threaded XNNPACK keeps the result identical from run to run.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, nativeMatMul, strides4, wasmArgs, writeOutput } from './heap.js';

/** Upper bound on P, in floats (64 MiB); bigger batches go in slices of images. */
const MAX_PRODUCT_FLOATS = 1 << 24;

/** The kernel function; `maxProductFloats` is a parameter only so tests can force slicing. */
export function conv2DBackpropInput(
  params: Parameters<tf.KernelFunc>[0],
  maxProductFloats = MAX_PRODUCT_FLOATS,
): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['dy', 'filter'], tf.Conv2DBackpropInput);
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fH, filterWidth: fW, strideHeight: sH, strideWidth: sW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const channelsLast = info.dataFormat === 'channelsLast';
  const xs = strides4(inHeight, inWidth, inChannels, channelsLast);
  const ys = strides4(outHeight, outWidth, outChannels, channelsLast);
  const K = fH * fW * inChannels;
  const pixels = outHeight * outWidth;
  const slice = Math.max(1, Math.min(batchSize, Math.floor(maxProductFloats / (K * pixels))));
  const dx = new Float64Array(batchSize * inHeight * inWidth * inChannels);

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
    const dyRows = backend.makeOutput([1, nb * pixels, outChannels], 'float32');
    {
      const dyv = heapView(backend, dy);
      const dyRowsV = backend.typedArrayFromHeap(dyRows) as Float32Array;
      let r = 0;
      for (let b = b0; b < b0 + nb; b++) {
        for (let yR = 0; yR < outHeight; yR++) {
          for (let yC = 0; yC < outWidth; yC++) {
            const base = b * ys.batch + yR * ys.row + yC * ys.col;
            for (let d2 = 0; d2 < outChannels; d2++) dyRowsV[r++] = dyv[base + d2 * ys.channel];
          }
        }
      }
    }
    const product = nativeMatMul(backend, dyRows, wT);
    const p = backend.typedArrayFromHeap(product);
    // col2im: row m of P holds, for each tap (wR, wC, d1), the contribution to
    // the input pixel that tap saw from output position m.
    let m = 0;
    for (let b = b0; b < b0 + nb; b++) {
      for (let yR = 0; yR < outHeight; yR++) {
        const xR0 = yR * sH - top;
        const wR0 = Math.max(0, -xR0);
        const wR1 = Math.min(fH, inHeight - xR0);
        for (let yC = 0; yC < outWidth; yC++, m++) {
          const xC0 = yC * sW - left;
          const wC0 = Math.max(0, -xC0);
          const wC1 = Math.min(fW, inWidth - xC0);
          for (let wR = wR0; wR < wR1; wR++) {
            const rowBase = b * xs.batch + (xR0 + wR) * xs.row;
            for (let wC = wC0; wC < wC1; wC++) {
              const xBase = rowBase + (xC0 + wC) * xs.col;
              const pBase = m * K + (wR * fW + wC) * inChannels;
              for (let d1 = 0; d1 < inChannels; d1++) dx[xBase + d1 * xs.channel] += p[pBase + d1];
            }
          }
        }
      }
    }
    backend.disposeData(product.dataId);
    backend.disposeData(dyRows.dataId);
  }
  backend.disposeData(wT.dataId);
  return writeOutput(backend, info.inShape, dx);
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ((params) => conv2DBackpropInput(params)) as tf.KernelFunc,
};
