/**
 * Each example's conv2d filter gradient, in one kernel call: fedsim's own kernel (no tfjs
 * backend has one), for DP-SGD's per-example gradients (src/fl/training/dp-sgd/).
 *
 *   out[b] = colsᵀ_b · dy_b,   the filter gradient of image b alone, [fH, fW, inC, outC]
 *
 * It is Conv2DBackpropFilter (conv2d-backprop-filter.ts) with slices of one image whose
 * products are kept instead of summed: the same im2col gather, the same XNNPACK GEMM per
 * image. Calling the batch kernel once per example instead costs a tfjs op per example to
 * cut the batch apart plus each call's set-up, which measured 5-15× the whole batch's
 * gradient on McMahan's CNN; here the per-image overhead is three heap allocations.
 *
 * Inputs x [B, H, W, inC] and dy [B, outH, outW, outC], NHWC; attrs as Conv2DBackpropFilter's
 * (strides, pad, filterShape; dilation 1, the only one tfjs differentiates).
 */
import * as tf from '@tensorflow/tfjs';
import { forEachPatchProduct } from './conv2d-backprop-filter.js';
import { wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { denseConvWindow } from './window.js';

export const PER_EXAMPLE_FILTER_GRAD = 'FedsimConv2DBackpropFilterPerExample';

export interface PerExampleFilterGradAttrs {
  strides: [number, number] | number;
  pad: 'same' | 'valid';
  filterShape: [number, number, number, number];
}

export function conv2DBackpropFilterPerExample(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['x', 'dy'], PER_EXAMPLE_FILTER_GRAD);
  const { strides, pad, filterShape } = attrs as PerExampleFilterGradAttrs;
  const g = denseConvWindow(inputs.x.shape, filterShape, { strides, pad, dataFormat: 'NHWC' });
  const perImage = g.fH * g.fW * g.inChannels * g.outChannels;
  const out = new Float32Array(g.batchSize * perImage);
  forEachPatchProduct(backend, inputs.x, inputs.dy, g, 1, (product, b0) => out.set(product as Float32Array, b0 * perImage));
  return writeOutput(backend, [g.batchSize, ...filterShape], out);
}

export const conv2DBackpropFilterPerExampleConfig = wasmKernelConfig(PER_EXAMPLE_FILTER_GRAD, conv2DBackpropFilterPerExample);
