/**
 * Fixes tfjs-backend-wasm's kernel set so a CNN can be *trained* on wasm.
 * Inference kernels are all there; the problems are gradients.
 *
 * Found by diffing `tf.getKernelsForBackend('cpu')` against 'wasm' (4.22) and
 * by comparing every gradient kernel on the conv/pool path against cpu:
 * - missing: the conv filter gradient and both depthwise gradients;
 * - wrong:   MaxPoolGrad (see max-pool-grad.ts);
 * - slow:    Conv2DBackpropInput, correct but a naive C++ loop (see
 *            conv2d-backprop-input.ts); dropping it from the list below only
 *            costs speed.
 * - slow:    BatchMatMul with a transposed operand, the product every dense
 *            layer's gradient takes, is a naive C++ loop too (see
 *            batch-mat-mul.ts).
 * AvgPoolGrad exists natively and agrees with cpu (the tests keep checking).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { conv2DBackpropFilterPerExampleConfig } from './conv2d-backprop-filter-per-example.js';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter.js';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { FEDSIM_KERNEL, rememberNativeKernel } from './native-kernels.js';

/** Kernels wasm lacks; a native one, should a later release add it, is kept. */
export const MISSING_WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/**
 * Native kernels replaced unconditionally: MaxPoolGrad because it is wrong (a
 * version check could not tell whether a future build fixed it, and a correct
 * replacement only costs speed), Conv2DBackpropInput because ours is faster,
 * BatchMatMul because native runs transposed operands (every dense layer's
 * gradients) in a naive loop 10-15× slower than the XNNPACK GEMM ours routes
 * them to, and repacks a weight matrix that changed since the last step where
 * ours transposes it for less; ours still calls the native one (native-kernels.ts).
 */
export const REPLACED_WASM_KERNELS: readonly tf.KernelConfig[] = [
  maxPoolGradConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
];

/** Kernels of fedsim's own, which no tfjs backend has (DP-SGD's per-example filter gradients). */
export const FEDSIM_WASM_KERNELS: readonly tf.KernelConfig[] = [conv2DBackpropFilterPerExampleConfig];

/*
 * fedsim's kernel functions are tagged with FEDSIM_KERNEL. tfjs keeps its
 * kernel registry on the global object, so a second copy of this module (tsx
 * and dist/ in one process) sees the first copy's kernels and must not
 * register again.
 */

function isFedsimKernel(name: string): boolean {
  const existing = tf.getKernel(name, 'wasm') as (tf.KernelConfig & { [FEDSIM_KERNEL]?: true }) | undefined;
  return existing?.[FEDSIM_KERNEL] === true;
}

let registered: readonly string[] | undefined;

/**
 * Registers fedsim's wasm kernels, once per process; returns the names of the
 * kernels that fedsim (not tfjs-backend-wasm) now serves. Call before the
 * wasm backend runs its first op.
 */
export function registerWasmKernels(): readonly string[] {
  if (registered) return registered;
  const names: string[] = [];
  const install = (config: tf.KernelConfig) => {
    if (!isFedsimKernel(config.kernelName)) {
      const native = tf.getKernel(config.kernelName, 'wasm');
      if (native != null) {
        // Kept: fedsim's BatchMatMul runs the native one on the operands it laid out.
        rememberNativeKernel(config.kernelName, native);
        // Unregister first: tfjs would otherwise warn about the overwrite.
        tf.unregisterKernel(config.kernelName, 'wasm');
      }
      // The backend runs each registered kernel's setupFunc when it starts; the
      // native kernel's (binding its C++ function) must still run, or calling
      // the saved native kernel fails.
      const setupFunc = config.setupFunc ?? native?.setupFunc;
      tf.registerKernel({ ...config, ...(setupFunc ? { setupFunc } : {}), [FEDSIM_KERNEL]: true } as tf.KernelConfig);
    }
    names.push(config.kernelName);
  };
  for (const config of MISSING_WASM_KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing == null || isFedsimKernel(config.kernelName)) install(config);
  }
  for (const config of REPLACED_WASM_KERNELS) install(config);
  for (const config of FEDSIM_WASM_KERNELS) install(config);
  registered = names;
  return registered;
}
