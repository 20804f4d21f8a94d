/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend: the input gradient
 * of tf.depthwiseConv2d, needed as soon as a depthwise layer is not the first
 * layer of a model. Missing from tfjs-backend-wasm 4.22.
 *
 * Written as a scatter: every dy pixel adds filter-weighted contributions to
 * the input pixels its receptive field covered,
 *   dx[b, xR, xC, d1] += dy[b, yR, yC, d1·chMul + dm] · W[wR, wC, d1, dm]
 * with xR = yR·sH − top + wR·dilH. Scattering handles strides and dilations
 * with the same loop, where the gather form (cpu kernel) needs divisibility
 * tests. NHWC only, as for the forward op.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { clippedWindows, depthwiseConvWindow } from './window.js';

function depthwiseBackpropInput(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(
    params,
    ['dy', 'filter'],
    tf.DepthwiseConv2dNativeBackpropInput,
  );
  const { dy, filter } = inputs;
  const convAttrs = attrs as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const g = depthwiseConvWindow(convAttrs.inputShape, filter.shape, convAttrs);
  const { batchSize, inChannels, outChannels, inPixels, outPixels } = g;
  const chMul = outChannels / inChannels;
  const { start, tap, inPixel } = clippedWindows(g);

  const wv = heapView(backend, filter);
  const dyv = heapView(backend, dy);
  const dx = new Float64Array(batchSize * inPixels * inChannels);

  for (let b = 0; b < batchSize; b++) {
    for (let p = 0; p < outPixels; p++) {
      const dyBase = (b * outPixels + p) * outChannels;
      for (let t = start[p], end = start[p + 1]; t < end; t++) {
        const xBase = (b * inPixels + inPixel[t]) * inChannels;
        const w = tap[t] * outChannels;
        for (let d1 = 0, d2 = 0; d1 < inChannels; d1++) {
          let sum = 0;
          for (let dm = 0; dm < chMul; dm++, d2++) sum += dyv[dyBase + d2] * wv[w + d2];
          dx[xBase + d1] += sum;
        }
      }
    }
  }
  return writeOutput(backend, g.info.inShape, dx);
}

export const depthwiseBackpropInputConfig = wasmKernelConfig(
  tf.DepthwiseConv2dNativeBackpropInput,
  depthwiseBackpropInput,
);
