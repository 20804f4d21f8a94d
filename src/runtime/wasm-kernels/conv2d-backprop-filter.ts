/**
 * Conv2DBackpropFilter for the wasm backend: the gradient of conv2d with
 * respect to its filter. tfjs-backend-wasm 4.22 ships the forward Conv2D and
 * Conv2DBackpropInput in C++, but not this one, so without it no conv layer can
 * be trained on wasm ("Kernel 'Conv2DBackpropFilter' not registered").
 *
 *   dW[wR, wC, d1, d2] = Σ_{b, yR, yC} x[b, yR·sH − top + wR, yC·sW − left + wC, d1] · dy[b, yR, yC, d2]
 *
 * That sum is one matrix product, dW = colsᵀ · dy, with colsᵀ[K = (wR, wC, d1),
 * M = (b, yR, yC)] the image patches (im2col) and dy viewed as [M, outC]. JS
 * only gathers the patches; the product runs in the backend's own BatchMatMul,
 * whose untransposed case is XNNPACK's SIMD GEMM. On a LeNet-sized CNN that
 * is 10-20x faster than a direct JS loop over the sum (measured), and this
 * kernel is the largest cost of a training step (gemm.ts: why the result is
 * the same every run). A stride-1 NHWC conv takes a faster route still: one
 * native forward convolution (conv2d-backprop-by-convolution.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { type ConvGradRoute, filterGradByConvolution } from './conv2d-backprop-by-convolution.js';
import { dyMatrix, imagesPerSlice, MAX_SLICE_FLOATS, nativeMatMul } from './gemm.js';
import { disposeAll, heapView, wasmArgs, wasmKernelConfig, writeOutput } from './heap.js';
import { denseConvWindow, type WindowGeometry } from './window.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The kernel function. `maxPatchFloats` bounds the patch matrix: larger
 * batches go in slices of whole images whose partial products are summed. It
 * is a parameter only so tests can force slicing; `route` = 'gemm' forces
 * this im2col route where the convolution one applies (tests, benchmarks).
 */
export function conv2DBackpropFilter(
  params: Parameters<tf.KernelFunc>[0],
  maxPatchFloats = MAX_SLICE_FLOATS,
  route: ConvGradRoute = 'auto',
): tf.TensorInfo {
  const { inputs, backend, attrs } = wasmArgs(params, ['x', 'dy'], tf.Conv2DBackpropFilter);
  const g = denseConvWindow(inputs.x.shape, (attrs as tf.Conv2DBackpropFilterAttrs).filterShape, attrs as tf.Conv2DBackpropFilterAttrs);
  // Stride 1, NHWC: one native convolution, faster than im2col (see that file).
  const byConvolution = route === 'auto' ? filterGradByConvolution(backend, inputs.x, inputs.dy, g) : null;
  if (byConvolution != null) return byConvolution;
  const K = g.fH * g.fW * g.inChannels;
  const dw = new Float64Array(K * g.outChannels);
  const slice = imagesPerSlice(g.batchSize, K * g.outPixels, maxPatchFloats);
  forEachPatchProduct(backend, inputs.x, inputs.dy, g, slice, (product) => {
    for (let i = 0; i < dw.length; i++) dw[i] += product[i];
  });
  return writeOutput(backend, g.info.filterShape, dw);
}

/**
 * For images [b0, b0 + nb) in turn (`slice` at a time), the product colsᵀ · dy of
 * their patches and output gradients: the filter gradient of those images alone,
 * [K = (wR, wC, d1), outC], handed to `use` as a view valid only during the call.
 */
export function forEachPatchProduct(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: WindowGeometry,
  slice: number,
  use: (product: ArrayLike<number>, b0: number, nb: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = g;
  const { outPixels: pixels, fH, fW, sH, sW, top, left } = g;
  // Indexing x through strides makes one gather serve NHWC and NCHW (wasm's
  // forward Conv2D is NHWC-only, but the kernel can be run directly).
  const xs = g.xs;
  const K = fH * fW * inChannels;

  for (let b0 = 0; b0 < batchSize; b0 += slice) {
    const nb = Math.min(slice, batchSize - b0);
    const M = nb * pixels;
    const cols = backend.makeOutput([1, K, M], 'float32');
    const dyRows = dyMatrix(backend, dy, g, b0, nb);
    // Views only after both allocations: malloc may move the heap.
    const xv = heapView(backend, x);
    const colsV = backend.typedArrayFromHeap(cols) as Float32Array;

    // colsᵀ row k = (wR, wC, d1) lists that filter tap's input pixel for every
    // output position m = (b, yR, yC); taps that fall in the padding read 0
    // (the heap is not zeroed, so every entry is written).
    let o = 0;
    for (let wR = 0; wR < fH; wR++) {
      for (let wC = 0; wC < fW; wC++) {
        // Output columns whose input column lies inside the image.
        const yC0 = Math.min(outWidth, Math.max(0, Math.ceil((left - wC) / sW)));
        const yC1 = Math.max(yC0, Math.min(outWidth, Math.ceil((inWidth + left - wC) / sW)));
        for (let d1 = 0; d1 < inChannels; d1++) {
          for (let b = b0; b < b0 + nb; b++) {
            for (let yR = 0; yR < outHeight; yR++) {
              const xR = yR * sH - top + wR;
              if (xR < 0 || xR >= inHeight) {
                colsV.fill(0, o, o + outWidth);
                o += outWidth;
                continue;
              }
              const rowBase = b * xs.batch + xR * xs.row + d1 * xs.channel + (wC - left) * xs.col;
              const colStep = sW * xs.col;
              let yC = 0;
              for (; yC < yC0; yC++) colsV[o++] = 0;
              for (let xi = rowBase + yC0 * colStep; yC < yC1; yC++, xi += colStep) colsV[o++] = xv[xi];
              for (; yC < outWidth; yC++) colsV[o++] = 0;
            }
          }
        }
      }
    }
    const product = nativeMatMul(backend, cols, dyRows);
    use(backend.typedArrayFromHeap(product), b0, nb);
    disposeAll(backend, product, cols, dyRows);
  }
}

export const conv2DBackpropFilterConfig = wasmKernelConfig(tf.Conv2DBackpropFilter, (params) =>
  conv2DBackpropFilter(params),
);
