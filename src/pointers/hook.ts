/**
 * hook(tf): PySyft's `sy.TorchHook(torch)` for tfjs — adds `.send(...)` to every tensor
 * and variable.
 *
 * The method is installed once per process on tfjs's Tensor prototype (Variable
 * inherits it) and belongs to no simulation: each call finds its simulation from the
 * workers it is given, so several simulations can coexist (e.g. two runs compared).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Rank } from '@tensorflow/tfjs-core/dist/types.js';
import { FedsimError } from '../runtime/index.js';
import type { MultiPointerTensor } from './multi-pointer.js';
import type { PointerTensor, SendOptions } from './pointer-tensor.js';
import { VirtualWorker } from './worker-handle.js';
import { installTensorSmpcMethods } from './smpc-methods.js';

declare module '@tensorflow/tfjs-core/dist/tensor.js' {
  interface Tensor<R extends Rank = Rank> {
    /** Sends a copy of this tensor to `worker` and returns a pointer to it (needs `hook(tf)`). */
    send(worker: VirtualWorker, options?: SendOptions): PointerTensor;
    /** Sends a copy to each worker: a MultiPointerTensor. */
    send(first: VirtualWorker, second: VirtualWorker, ...more: Array<VirtualWorker | SendOptions>): MultiPointerTensor;
  }
}

function send(this: tfjs.Tensor, ...targets: Array<VirtualWorker | SendOptions>): PointerTensor | MultiPointerTensor {
  const worker = targets.find((t): t is VirtualWorker => t instanceof VirtualWorker);
  if (!worker) throw new FedsimError(`tensor.send(): name a worker to send to, e.g. x.send(bob), where bob = sim.worker('bob').`);
  return worker.sim.me.send(this, ...targets) as PointerTensor | MultiPointerTensor;
}

/** Adds `.send()`, `.fixPrecision()` and `.share()` to tfjs tensors. Calling it again (with any tfjs import of the same copy) does nothing. */
export function hook(tf: typeof tfjs): void {
  const proto = tf.Tensor.prototype as unknown as { send?: unknown };
  if (proto.send === send) return installTensorSmpcMethods(tf);
  if (proto.send !== undefined) {
    throw new FedsimError('hook(tf): tf.Tensor already has a different `send` method (another library hooked tfjs?); fedsim will not overwrite it.');
  }
  Object.defineProperty(proto, 'send', { value: send, writable: true, configurable: true, enumerable: false });
  installTensorSmpcMethods(tf); // fixPrecision() and share(), as the hooked torch of PySyft 0.2 had them
}
