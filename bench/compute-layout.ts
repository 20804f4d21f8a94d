/**
 * fedsim's built-in models' weights in PyTorch's layout, so that both frameworks start the
 * compute benchmark from the same seeded initial weights.
 *
 * The layouts differ in three places:
 *  - dense kernels: fedsim (tfjs) keeps [in, out] and computes x·W; torch.nn.Linear keeps
 *    [out, in] and computes x·Wᵀ;
 *  - conv kernels: fedsim's are HWIO ([kh, kw, cin, cout], on NHWC activations); torch's
 *    Conv2d weights are OIHW ([cout, cin, kh, kw], on NCHW activations);
 *  - the flatten between the last pool and the first dense layer: fedsim flattens an NHWC
 *    activation, so feature (y, x, c) is row (y·W + x)·C + c of the dense kernel; torch
 *    flattens NCHW, so the same feature is column (c·H + y)·W + x. Transposing that kernel
 *    is not enough: its rows must be permuted too, or the CNN computes something else.
 * Inputs follow the activations: a cnn's NHWC samples become NCHW (identical for one channel).
 */
import type { BuiltinSpec, CnnSpec } from '../src/fl/models/spec.js';

/** One parameter as torch_worker.py loads it: its torch shape and row-major values. */
export interface TorchParam {
  shape: number[];
  data: Float32Array;
}

/** A dense kernel [in, out] (row-major) as torch's [out, in]. */
export function denseKernelToTorch(kernel: Float32Array, inputs: number, outputs: number): Float32Array {
  checkSize('dense kernel', kernel, inputs * outputs);
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < inputs; i++) for (let o = 0; o < outputs; o++) out[o * inputs + i] = kernel[i * outputs + o];
  return out;
}

/** A conv kernel HWIO [kh, kw, cin, cout] as torch's OIHW [cout, cin, kh, kw]. */
export function convKernelToTorch(kernel: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  checkSize('conv kernel', kernel, kh * kw * cin * cout);
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) out[((o * cin + c) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + c) * cout + o];
  return out;
}

/**
 * The kernel of a dense layer that reads a flattened [h, w, c] activation (fedsim: rows in
 * NHWC order, [h·w·c, out]) as torch's [out, c·h·w] for an NCHW flatten.
 */
export function flattenedDenseKernelToTorch(kernel: Float32Array, h: number, w: number, c: number, outputs: number): Float32Array {
  checkSize('flattened dense kernel', kernel, h * w * c * outputs);
  const features = h * w * c;
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        const fedsimRow = (y * w + x) * c + ch;
        const torchColumn = (ch * h + y) * w + x;
        for (let o = 0; o < outputs; o++) out[o * features + torchColumn] = kernel[fedsimRow * outputs + o];
      }
  return out;
}

/** n samples of [h, w, c] (NHWC, row-major) as [c, h, w] each (NCHW). */
export function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  checkSize('NHWC batch', x, n * h * w * c);
  if (c === 1) return x.slice();
  const out = new Float32Array(x.length);
  const size = h * w * c;
  for (let s = 0; s < n; s++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) out[s * size + (ch * h + y) * w + xx] = x[s * size + (y * w + xx) * c + ch];
  return out;
}

/** The spatial size and channels after the cnn's two 2×2 pools (what its first dense layer reads). */
export function cnnFlatShape(spec: CnnSpec): [number, number, number] {
  const [h, w] = spec.inputShape;
  return [Math.floor(Math.floor(h / 2) / 2), Math.floor(Math.floor(w / 2) / 2), spec.filters[1]];
}

/** A built-in model's weights (fedsim order and layout) as torch parameters, in the order of the torch model bench/python builds. */
export function toTorchParams(spec: BuiltinSpec, weights: readonly Float32Array[]): TorchParam[] {
  const bias = (data: Float32Array): TorchParam => ({ shape: [data.length], data: data.slice() });
  switch (spec.kind) {
    case 'mlp': {
      const params: TorchParam[] = [];
      for (let i = 0; i + 1 < spec.layers.length; i++) {
        const [inputs, outputs] = [spec.layers[i], spec.layers[i + 1]];
        params.push({ shape: [outputs, inputs], data: denseKernelToTorch(weights[2 * i], inputs, outputs) }, bias(weights[2 * i + 1]));
      }
      return params;
    }
    case 'cnn': {
      const k = spec.kernelSize;
      const c0 = spec.inputShape[2];
      const [f1, f2] = spec.filters;
      const [fh, fw, fc] = cnnFlatShape(spec);
      return [
        { shape: [f1, c0, k, k], data: convKernelToTorch(weights[0], k, k, c0, f1) },
        bias(weights[1]),
        { shape: [f2, f1, k, k], data: convKernelToTorch(weights[2], k, k, f1, f2) },
        bias(weights[3]),
        { shape: [spec.hidden, fh * fw * fc], data: flattenedDenseKernelToTorch(weights[4], fh, fw, fc, spec.hidden) },
        bias(weights[5]),
        { shape: [spec.classes, spec.hidden], data: denseKernelToTorch(weights[6], spec.hidden, spec.classes) },
        bias(weights[7]),
      ];
    }
    default:
      throw new Error(`toTorchParams: the compute bench compares fedsim's mlp and cnn, not '${spec.kind}'; add its layout here first`);
  }
}

/** One sample's shape as the torch model takes it: [features] for an mlp, [c, h, w] for a cnn. */
export function torchInputShape(spec: BuiltinSpec): number[] {
  if (spec.kind === 'mlp') return [spec.layers[0]];
  if (spec.kind === 'cnn') return [spec.inputShape[2], spec.inputShape[0], spec.inputShape[1]];
  throw new Error(`torchInputShape: the compute bench compares fedsim's mlp and cnn, not '${spec.kind}'`);
}

/** Samples (fedsim's row-major NHWC rows) in the torch model's input layout. */
export function toTorchInputs(spec: BuiltinSpec, x: Float32Array, n: number): Float32Array {
  if (spec.kind !== 'cnn') return x.slice();
  const [h, w, c] = spec.inputShape;
  return nhwcToNchw(x, n, h, w, c);
}

function checkSize(what: string, array: Float32Array, expected: number): void {
  if (array.length !== expected) throw new Error(`${what}: ${array.length} values, expected ${expected} from the given shape; pass the weights of this spec (model.getWeights())`);
}
