/**
 * What happens after a compute kernel fails.
 *
 * Budgets keep known causes away (a WebAssembly kernel asked for gigabytes traps with
 * "memory access out of bounds" and can leave the wasm backend failing every op after it,
 * for every worker of the process). For any kernel failure that still happens, the worker
 * asks the backend a tiny known sum: if the answer is right the backend works and only the
 * op is refused; if not, the backend is broken — this worker is marked failed with the
 * reason (it refuses every later message), and every other worker refuses compute with the
 * same reason until a probe succeeds again.
 */
import * as tf from '@tensorflow/tfjs';

/** Set while the backend is known broken: the first failure's description. Per process, like the backend. */
let broken: string | null = null;

/** Whether `error` is a kernel's failure rather than a refusal (shape, dtype) by tfjs's own checks. */
export function isKernelFailure(error: unknown): boolean {
  // WebAssembly's RuntimeError (a trap), recognised by name: the DOM/WebAssembly types are not in this project's lib.
  const wasm = (globalThis as { WebAssembly?: { RuntimeError?: new () => Error } }).WebAssembly;
  if (wasm?.RuntimeError && error instanceof wasm.RuntimeError) return true;
  const message = error instanceof Error ? error.message : '';
  return /memory access out of bounds|^unreachable|Aborted\(|out of memory/i.test(message);
}

/** Whether the active backend still computes a tiny known sum right. */
export function backendWorks(): boolean {
  try {
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2], 'float32'), tf.tensor1d([3, 4], 'float32')).dataSync());
    return sum.length === 2 && sum[0] === 4 && sum[1] === 6;
  } catch {
    return false;
  }
}

/** After a kernel failure: probes the backend; returns whether it is broken (and remembers why). */
export function afterKernelFailure(description: string): boolean {
  if (backendWorks()) return false;
  broken ??= description;
  return true;
}

/** Null when compute may go on; otherwise why not (re-probing first: a backend that works again clears it). */
export function brokenBackend(): string | null {
  if (broken !== null && backendWorks()) broken = null;
  return broken;
}
