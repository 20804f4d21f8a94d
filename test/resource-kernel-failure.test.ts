/**
 * Issue #12, item 4 (continued): after a compute kernel fails (a WebAssembly trap), the worker
 * asks the backend a tiny known sum. If it still works, only the op is refused; if not, the
 * worker is marked failed with the reason and refuses every later message, and other workers
 * refuse compute with the same reason until the backend works again.
 *
 * Kernels are replaced for the test (a trap cannot be produced on purpose without breaking
 * the backend for the rest of the process), so this file runs its tests one at a time and
 * puts every kernel back.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { RemoteError } from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

/** Replaces kernel `name` of the active backend by one that traps, until the returned function puts it back. */
function trapping(name: string): () => void {
  const backend = tf.getBackend();
  const original = tf.getKernel(name, backend);
  tf.unregisterKernel(name, backend);
  const Trap = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message: string) => Error } }).WebAssembly.RuntimeError;
  tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc: () => {
    throw new Trap('memory access out of bounds');
  } });
  return () => {
    tf.unregisterKernel(name, backend);
    tf.registerKernel(original);
  };
}

test.serial('a kernel failure with the backend still working: the op is refused, the worker keeps serving', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2]).send(bob);
  const restore = trapping('Atan2');
  try {
    const error = await t.throwsAsync(x.atan2(x).get(), { instanceOf: RemoteError });
    t.is((error as RemoteError).remoteName, 'KernelFailedError');
    t.regex(error!.message, /the compute kernel of atan2 failed on bob \(RuntimeError: memory access out of bounds\)\. The backend still works and nothing was changed/);
  } finally {
    restore();
  }
  t.deepEqual((await x.add(1).get()).arraySync(), [2, 3], 'bob keeps serving');
});

test.serial('a kernel failure that breaks the backend marks the worker failed; others refuse compute until the backend works again', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2]).send(bob);
  const y = tf.tensor([3, 4]).send(alice);
  await sim.settle();
  const restoreAtan2 = trapping('Atan2');
  const restoreAdd = trapping('Add'); // the probe's op: the backend "no longer computes"
  try {
    const result = x.atan2(x);
    await sim.settle();
    t.regex(sim.remoteErrors.at(-1)!.message, /KernelFailedError: the compute kernel of atan2 failed on bob .*The compute backend no longer works after it, so bob is marked failed and refuses further messages/);
    const fetch = await t.throwsAsync(result.get(), { instanceOf: RemoteError });
    t.is((fetch as RemoteError).remoteName, 'WorkerFailedError');
    const later = await t.throwsAsync(bob.listObjects(), { instanceOf: RemoteError });
    t.is((later as RemoteError).remoteName, 'WorkerFailedError');
    t.regex(later!.message, /bob refused a 'search' message: it failed earlier and serves nothing more \(the kernel of atan2 failed \(RuntimeError: memory access out of bounds\) and the compute backend stopped working\)/);
    const other = await t.throwsAsync(y.mul(2).get(), { instanceOf: RemoteError });
    t.regex(other!.message, /mul on alice was refused: the compute backend has not worked since a kernel failure \(atan2 on bob: RuntimeError: memory access out of bounds\)/);
  } finally {
    restoreAdd();
    restoreAtan2();
  }
  t.deepEqual((await y.mul(2).get()).arraySync(), [6, 8], 'once the backend works again, alice computes');
  const still = await t.throwsAsync(bob.listObjects(), { instanceOf: RemoteError });
  t.is((still as RemoteError).remoteName, 'WorkerFailedError', 'bob stays failed: its state may be lost with the backend');
});
