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
import { heapView, wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { clippedWindows, poolWindow } from './window.js';

function maxPoolGrad(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['dy', 'input'], tf.MaxPoolGrad);
  const { dy, input } = inputs;
  const g = poolWindow(input.shape, attrs as tf.MaxPoolGradAttrs);
  const { batchSize, inChannels: C, inPixels, outPixels } = g;
  const { start, inPixel } = clippedWindows(g);

  const xv = heapView(backend, input);
  const dyv = heapView(backend, dy);
  const dx = new Float64Array(batchSize * inPixels * C);
  // Per-channel running maximum of the current window, reused for every window.
  const best = new Float64Array(C);
  const bestAt = new Int32Array(C);

  for (let b = 0; b < batchSize; b++) {
    for (let p = 0; p < outPixels; p++) {
      best.fill(Number.NEGATIVE_INFINITY);
      bestAt.fill(-1);
      // Taps come in row-major order, and a strict '>' keeps the first
      // maximum, as cpu does.
      for (let t = start[p], end = start[p + 1]; t < end; t++) {
        const base = (b * inPixels + inPixel[t]) * C;
        for (let d = 0; d < C; d++) {
          const v = xv[base + d];
          if (v > best[d]) {
            best[d] = v;
            bestAt[d] = base + d;
          }
        }
      }
      const dyBase = (b * outPixels + p) * C;
      for (let d = 0; d < C; d++) {
        if (bestAt[d] >= 0) dx[bestAt[d]] += dyv[dyBase + d];
      }
    }
  }
  return writeOutput(backend, input.shape, dx);
}

export const maxPoolGradConfig = wasmKernelConfig(tf.MaxPoolGrad, maxPoolGrad);
