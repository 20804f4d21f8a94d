/**
 * The wasm backend's own kernels that fedsim replaces but still calls.
 *
 * fedsim's BatchMatMul lays transposed operands out and then runs the native
 * BatchMatMul, whose untransposed batch-1 case is XNNPACK's GEMM; the conv
 * gradient kernels call that GEMM too. Once fedsim's kernel is registered
 * under the name, `tf.getKernel('BatchMatMul', 'wasm')` returns fedsim's, so
 * the native one is kept here when it is replaced.
 *
 * Kept on the global object (like tfjs' own kernel registry), so that a second
 * copy of this module in one process (tsx and dist/) finds what the first copy
 * saved instead of its own fedsim kernel.
 */
import * as tf from '@tensorflow/tfjs';

const NATIVE = Symbol.for('fedsim.nativeWasmKernels');

/**
 * Tags fedsim's kernel configs in tfjs' registry (register.ts), so a second
 * copy of fedsim in the process recognises them.
 */
export const FEDSIM_KERNEL = Symbol.for('fedsim.wasmKernel');
type Store = Map<string, tf.KernelFunc>;

function store(): Store {
  const holder = globalThis as unknown as { [NATIVE]?: Store };
  return (holder[NATIVE] ??= new Map());
}

/** Remembers the native kernel about to be replaced (a no-op if it was saved before). */
export function rememberNativeKernel(kernelName: string, config: tf.KernelConfig): void {
  if (!store().has(kernelName)) store().set(kernelName, config.kernelFunc);
}

/**
 * The wasm backend's native kernel function, whether or not fedsim replaced it.
 * Throws if the backend has none (a tfjs-backend-wasm without it cannot run
 * fedsim's kernels that build on it).
 */
export function nativeKernelFunc(kernelName: string): tf.KernelFunc {
  const saved = store().get(kernelName);
  if (saved) return saved;
  const config = tf.getKernel(kernelName, 'wasm');
  if (config == null) throw new Error(`the wasm backend has no native ${kernelName} kernel, which fedsim's wasm kernels call`);
  // fedsim's own kernel under this name without the native one saved would call itself.
  if ((config as { [FEDSIM_KERNEL]?: true })[FEDSIM_KERNEL]) {
    throw new Error(`fedsim replaced the wasm ${kernelName} kernel without keeping the native one; register through registerWasmKernels()`);
  }
  return config.kernelFunc;
}

/**
 * Replaces each saved native kernel with `wrap(name, kernel)`: for profilers
 * (bench/kernel-profile.ts times the GEMMs fedsim's kernels run), not for
 * simulation code.
 */
export function wrapNativeKernels(wrap: (kernelName: string, kernelFunc: tf.KernelFunc) => tf.KernelFunc): void {
  for (const [name, kernelFunc] of store()) store().set(name, wrap(name, kernelFunc));
}
