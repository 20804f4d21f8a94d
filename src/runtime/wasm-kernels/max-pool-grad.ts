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
  // Windows that cannot overlap (stride ≥ window, as the usual 2×2 pool of
  // stride 2) send each input at most one gradient: it is written straight
  // into the zeroed output on the heap, channel by channel (measured 4× faster
  // on [10, 28, 28, 32]: 4.4 → 1.0 ms). Overlapping windows sum their
  // gradients in a float64 accumulator first. Same values either way.
  if (g.sH >= g.fH && g.sW >= g.fW) {
    const out = backend.makeOutput(input.shape, 'float32');
    // Views only after the allocation: malloc may move the heap.
    const dx = (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    disjointWindowsGrad(heapView(backend, input), heapView(backend, dy), dx, batchSize, inPixels, outPixels, C, start, inPixel);
    return out;
  }
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

/**
 * The same first-maximum rule for windows that do not overlap, channel by
 * channel (no per-window bookkeeping arrays): each input receives at most one
 * gradient, added to the zeroed output.
 */
function disjointWindowsGrad(
  xv: ArrayLike<number>,
  dyv: ArrayLike<number>,
  dx: Float32Array,
  batchSize: number,
  inPixels: number,
  outPixels: number,
  C: number,
  start: Int32Array,
  inPixel: Int32Array,
): void {
  for (let b = 0; b < batchSize; b++) {
    for (let p = 0; p < outPixels; p++) {
      const first = start[p];
      const end = start[p + 1];
      const dyBase = (b * outPixels + p) * C;
      for (let d = 0; d < C; d++) {
        let best = Number.NEGATIVE_INFINITY;
        let at = -1;
        for (let t = first; t < end; t++) {
          const i = (b * inPixels + inPixel[t]) * C + d;
          const v = xv[i];
          if (v > best) {
            best = v;
            at = i;
          }
        }
        if (at >= 0) dx[at] += dyv[dyBase + d];
      }
    }
  }
}

export const maxPoolGradConfig = wasmKernelConfig(tf.MaxPoolGrad, maxPoolGrad);
