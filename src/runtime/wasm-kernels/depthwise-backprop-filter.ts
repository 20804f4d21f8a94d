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
import { heapView, wasmArgs, writeOutput } from './heap.js';

function depthwiseBackpropFilter(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(
    params,
    ['x', 'dy'],
    tf.DepthwiseConv2dNativeBackpropFilter,
  );
  const { x, dy } = inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fH, filterWidth: fW, strideHeight: sH, strideWidth: sW } = info;
  const { dilationHeight: dH, dilationWidth: dW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const chMul = outChannels / inChannels;

  const xv = heapView(backend, x);
  const dyv = heapView(backend, dy);
  // Filter [fH, fW, inC, chMul] flattened: tap (wR, wC) then d2 = d1·chMul + dm,
  // so each tap's slice lines up with one dy pixel's channel vector.
  const dw = new Float64Array(fH * fW * outChannels);

  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const xR0 = yR * sH - top;
      // Taps whose dilated input row lies inside the image.
      const wR0 = Math.max(0, Math.ceil(-xR0 / dH));
      const wR1 = Math.min(fH, Math.ceil((inHeight - xR0) / dH));
      for (let yC = 0; yC < outWidth; yC++) {
        const xC0 = yC * sW - left;
        const wC0 = Math.max(0, Math.ceil(-xC0 / dW));
        const wC1 = Math.min(fW, Math.ceil((inWidth - xC0) / dW));
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = wR0; wR < wR1; wR++) {
          const xRowBase = (b * inHeight + xR0 + wR * dH) * inWidth;
          for (let wC = wC0; wC < wC1; wC++) {
            const xBase = (xRowBase + xC0 + wC * dW) * inChannels;
            const w = (wR * fW + wC) * outChannels;
            for (let d1 = 0, d2 = 0; d1 < inChannels; d1++) {
              const xval = xv[xBase + d1];
              for (let dm = 0; dm < chMul; dm++, d2++) {
                dw[w + d2] += xval * dyv[dyBase + d2];
              }
            }
          }
        }
      }
    }
  }
  return writeOutput(backend, info.filterShape, dw);
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as tf.KernelFunc,
};
