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
import { heapView, wasmArgs, writeOutput } from './heap.js';

function depthwiseBackpropInput(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(
    params,
    ['dy', 'filter'],
    tf.DepthwiseConv2dNativeBackpropInput,
  );
  const { dy, filter } = inputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
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

  const wv = heapView(backend, filter);
  const dyv = heapView(backend, dy);
  const dx = new Float64Array(batchSize * inHeight * inWidth * inChannels);

  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const xR0 = yR * sH - top;
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
              let sum = 0;
              for (let dm = 0; dm < chMul; dm++, d2++) sum += dyv[dyBase + d2] * wv[w + d2];
              dx[xBase + d1] += sum;
            }
          }
        }
      }
    }
  }
  return writeOutput(backend, info.inShape, dx);
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as tf.KernelFunc,
};
