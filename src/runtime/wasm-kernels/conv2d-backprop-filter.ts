/**
 * Conv2DBackpropFilter for the wasm backend: the gradient of conv2d with
 * respect to its filter. tfjs-backend-wasm 4.22 ships the forward Conv2D and
 * Conv2DBackpropInput in C++, but not this one, so without it no conv layer can
 * be trained on wasm ("Kernel 'Conv2DBackpropFilter' not registered").
 *
 *   dW[wR, wC, d1, d2] = Σ_{b, yR, yC} x[b, yR·sH − top + wR, yC·sW − left + wC, d1] · dy[b, yR, yC, d2]
 *
 * The loops run over output positions on the outside and channels innermost:
 * for NHWC both `dy` and `dW` are then read and written contiguously, which is
 * what makes a JS kernel competitive here.
 */
import * as tf from '@tensorflow/tfjs';
import { heapView, strides4, wasmArgs, writeOutput } from './heap.js';

function conv2DBackpropFilter(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['x', 'dy'], tf.Conv2DBackpropFilter);
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as tf.Conv2DBackpropFilterAttrs;
  // Same geometry call as the cpu kernel, so 'same' / 'valid' / explicit pads
  // and rounding modes resolve identically. Gradients of conv2d only exist for
  // dilation 1 in tfjs, and the kernel has no dilations attr.
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
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

  const xv = heapView(backend, x);
  const dyv = heapView(backend, dy);
  const dw = new Float64Array(fH * fW * inChannels * outChannels);
  const tapStride = inChannels * outChannels;

  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      // Filter rows whose input row falls inside the image (the rest hit padding).
      const xR0 = yR * sH - top;
      const wR0 = Math.max(0, -xR0);
      const wR1 = Math.min(fH, inHeight - xR0);
      for (let yC = 0; yC < outWidth; yC++) {
        const xC0 = yC * sW - left;
        const wC0 = Math.max(0, -xC0);
        const wC1 = Math.min(fW, inWidth - xC0);
        const dyBase = b * ys.batch + yR * ys.row + yC * ys.col;
        for (let wR = wR0; wR < wR1; wR++) {
          const xRowBase = b * xs.batch + (xR0 + wR) * xs.row;
          for (let wC = wC0; wC < wC1; wC++) {
            const xBase = xRowBase + (xC0 + wC) * xs.col;
            let w = (wR * fW + wC) * tapStride;
            for (let d1 = 0; d1 < inChannels; d1++, w += outChannels) {
              const xval = xv[xBase + d1 * xs.channel];
              for (let d2 = 0, yi = dyBase; d2 < outChannels; d2++, yi += ys.channel) {
                dw[w + d2] += xval * dyv[yi];
              }
            }
          }
        }
      }
    }
  }
  return writeOutput(backend, info.filterShape, dw);
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
