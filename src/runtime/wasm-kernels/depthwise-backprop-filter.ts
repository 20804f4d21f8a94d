/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend: the filter
 * gradient of tf.depthwiseConv2d (and so of separableConv2d layers), missing
 * from tfjs-backend-wasm 4.22 like its dense sibling Conv2DBackpropFilter.
 *
 * Depthwise: output channel d2 = d1·chMul + dm only sees input channel d1, so
 *   dW[wR, wC, d1, dm] = Σ_{b, yR, yC} x[b, xR, xC, d1] · dy[b, yR, yC, d1·chMul + dm]
 * with xR = yR·sH − top + wR·dilH (and likewise for columns). The layout is
 * NHWC only, as for the forward op.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { clippedWindows, depthwiseConvWindow } from './window.js';

function depthwiseBackpropFilter(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(
    params,
    ['x', 'dy'],
    tf.DepthwiseConv2dNativeBackpropFilter,
  );
  const { x, dy } = inputs;
  const convAttrs = attrs as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const g = depthwiseConvWindow(x.shape, convAttrs.filterShape, convAttrs);
  const { batchSize, inChannels, outChannels, inPixels, outPixels, fH, fW } = g;
  const chMul = outChannels / inChannels;
  const { start, tap, inPixel } = clippedWindows(g);

  const xv = heapView(backend, x);
  const dyv = heapView(backend, dy);
  // Filter [fH, fW, inC, chMul] flattened: tap then d2 = d1·chMul + dm, so
  // each tap's slice lines up with one dy pixel's channel vector.
  const dw = new Float64Array(fH * fW * outChannels);

  for (let b = 0; b < batchSize; b++) {
    for (let p = 0; p < outPixels; p++) {
      const dyBase = (b * outPixels + p) * outChannels;
      for (let t = start[p], end = start[p + 1]; t < end; t++) {
        const xBase = (b * inPixels + inPixel[t]) * inChannels;
        const w = tap[t] * outChannels;
        for (let d1 = 0, d2 = 0; d1 < inChannels; d1++) {
          const xval = xv[xBase + d1];
          for (let dm = 0; dm < chMul; dm++, d2++) {
            dw[w + d2] += xval * dyv[dyBase + d2];
          }
        }
      }
    }
  }
  return writeOutput(backend, g.info.filterShape, dw);
}

export const depthwiseBackpropFilterConfig = wasmKernelConfig(
  tf.DepthwiseConv2dNativeBackpropFilter,
  depthwiseBackpropFilter,
);
