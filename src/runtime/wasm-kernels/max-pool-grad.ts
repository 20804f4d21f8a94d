/**
 * MaxPoolGrad for the wasm backend, *replacing* the native one.
 *
 * tfjs-backend-wasm 4.22's C++ MaxPoolGrad starts its running maximum at
 * std::numeric_limits<float>::min(), the smallest *positive* float, not the
 * lowest one. In a window whose values are all ≤ 0 nothing beats that start,
 * so the window's gradient goes to a stale position 0 and is lost (or lands on
 * the wrong element); it also breaks ties towards the last maximum. Any model
 * that max-pools values that can be negative (conv → maxPool → relu, tanh or
 * linear features) then trains with wrong gradients on wasm only. ReLU → maxPool
 * happens to be immune: an all-zero window's gradient is zeroed by ReLU anyway.
 *
 * This kernel follows the cpu backend (and TensorFlow): the gradient of each
 * window goes to its first maximum in row-major order; NaNs never win.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, wasmArgs, writeOutput } from './heap.js';

function maxPoolGrad(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['dy', 'input'], tf.MaxPoolGrad);
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
  const { strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW } = info;
  const fH = info.filterHeight;
  const fW = info.filterWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;

  const xv = heapView(backend, input);
  const dyv = heapView(backend, dy);
  const dx = new Float64Array(batchSize * inHeight * inWidth * C);
  // Per-channel running maximum of the current window, reused for every window.
  const best = new Float64Array(C);
  const bestAt = new Int32Array(C);

  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const xR0 = yR * sH - top;
      const wR0 = Math.max(0, Math.ceil(-xR0 / dH));
      const wR1 = Math.min(fH, Math.ceil((inHeight - xR0) / dH));
      for (let yC = 0; yC < outWidth; yC++) {
        const xC0 = yC * sW - left;
        const wC0 = Math.max(0, Math.ceil(-xC0 / dW));
        const wC1 = Math.min(fW, Math.ceil((inWidth - xC0) / dW));
        best.fill(Number.NEGATIVE_INFINITY);
        bestAt.fill(-1);
        // Row-major scan with a strict '>' keeps the first maximum, as cpu does.
        for (let wR = wR0; wR < wR1; wR++) {
          const rowBase = (b * inHeight + xR0 + wR * dH) * inWidth;
          for (let wC = wC0; wC < wC1; wC++) {
            const base = (rowBase + xC0 + wC * dW) * C;
            for (let d = 0; d < C; d++) {
              const v = xv[base + d];
              if (v > best[d]) {
                best[d] = v;
                bestAt[d] = base + d;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * C;
        for (let d = 0; d < C; d++) {
          if (bestAt[d] >= 0) dx[bestAt[d]] += dyv[dyBase + d];
        }
      }
    }
  }
  return writeOutput(backend, input.shape, dx);
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
