/**
 * Reading and writing tensors that live on the wasm backend's heap.
 *
 * The wasm backend keeps every tensor inside one WebAssembly.Memory. Kernels
 * written in JS read their inputs through typed-array *views* of that memory
 * (no copy) and write their result into a freshly malloc'ed output.
 *
 * The one trap: malloc may grow the memory, and growing detaches every view
 * taken before. So a kernel takes its views only after its last allocation
 * (or re-takes them after each one), computes into a JS-side accumulator, and
 * hands that to `writeOutput`, which allocates the result and takes its own
 * fresh view.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The kernel params tfjs passes in, with the backend narrowed to wasm. */
export interface WasmKernelArgs<I extends string> {
  inputs: Record<I, tf.TensorInfo>;
  backend: BackendWasm;
  attrs: unknown;
}

/**
 * Narrows tfjs' untyped kernel params. tfjs only ever calls a kernel
 * registered for 'wasm' with the wasm backend, so the cast is sound; the check
 * turns a registry mix-up into a readable error instead of a crash deep inside.
 */
export function wasmArgs<I extends string>(
  params: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown },
  names: readonly I[],
  kernelName: string,
): WasmKernelArgs<I> {
  const backend = params.backend as BackendWasm;
  if (typeof backend?.typedArrayFromHeap !== 'function') {
    throw new Error(`fedsim wasm kernel ${kernelName} was called with a non-wasm backend`);
  }
  const inputs = {} as Record<I, tf.TensorInfo>;
  for (const name of names) {
    const info = params.inputs[name];
    if (info == null) throw new Error(`fedsim wasm kernel ${kernelName}: missing input '${name}'`);
    inputs[name] = info;
  }
  return { inputs, backend, attrs: params.attrs };
}

/** The registration record of a JS kernel for the wasm backend. */
export function wasmKernelConfig(
  kernelName: string,
  kernelFunc: (params: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo,
): tf.KernelConfig {
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc };
}

/** A zero-copy view of a tensor's values. Valid only until the next wasm allocation. */
export function heapView(backend: BackendWasm, info: tf.TensorInfo): ArrayLike<number> {
  return backend.typedArrayFromHeap(info) as ArrayLike<number>;
}

/**
 * Allocates a float32 output tensor and copies `values` into it.
 * `values` is usually a Float64Array accumulator: summing in double precision
 * keeps the result within rounding of the cpu backend (which sums JS numbers),
 * whatever order the loops visit the terms in.
 */
export function writeOutput(
  backend: BackendWasm,
  shape: number[],
  values: Float64Array | Float32Array,
): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(values);
  return out;
}

/** Frees temporaries a kernel allocated on the heap (its result excepted). */
export function disposeAll(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Element strides of a rank-4 tensor, so loops can serve NHWC and NCHW alike. */
export interface Strides4 {
  batch: number;
  row: number;
  col: number;
  channel: number;
}

/** Strides of an [batch, rows, cols, channels] tensor laid out as NHWC or NCHW. */
export function strides4(
  rows: number,
  cols: number,
  channels: number,
  channelsLast: boolean,
): Strides4 {
  return channelsLast
    ? { batch: rows * cols * channels, row: cols * channels, col: channels, channel: 1 }
    : { batch: channels * rows * cols, row: cols, col: 1, channel: rows * cols };
}
