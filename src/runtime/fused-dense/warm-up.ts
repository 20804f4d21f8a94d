/**
 * Runs the fused dense kernels on scratch data until V8 has compiled them with its optimising
 * compiler. V8 first runs a wasm function from its baseline compiler (Liftoff), several times
 * slower, and optimises it only once it has run for a while; a worker thread of the training
 * pool (src/fl/parallel/) that skipped this would train its first clients of a run on the slow
 * code — measured: the first rounds of a 2-thread run took twice as long as the later ones.
 *
 * It cannot change a result: a training call writes every buffer it reads (test/fused-dense-train.test.ts,
 * "the same call gives the same bits, whatever ran before it in the same memory").
 */
import { fusedDenseKernels, UpdateRule, WasmArena } from './module.js';

/** A 2NN-sized layer, B = 10: big enough that each kernel's loops run long, small enough to take ~0.1 s. */
const ROWS = 10;
const INPUTS = 784;
const OUTPUTS = 200;
const ROUNDS = 30;

export function warmUpFusedDense(): void {
  const kernels = fusedDenseKernels();
  const arena = new WasmArena(kernels);
  const a = arena.put(new Float32Array(ROWS * INPUTS).fill(0.5));
  const w = arena.put(new Float32Array(INPUTS * OUTPUTS).fill(0.01));
  const bias = arena.put(new Float32Array(OUTPUTS));
  const out = arena.alloc(ROWS * OUTPUTS);
  const g = arena.put(new Float32Array(ROWS * OUTPUTS).fill(0.01));
  const gPrev = arena.alloc(ROWS * INPUTS);
  const labels = arena.put(new Int32Array(ROWS));
  kernels.setUpdate(UpdateRule.sgd, 1e-3, 0, 0, 0, 0, 0, false);
  for (let i = 0; i < ROUNDS; i++) {
    kernels.denseForward(a, w, bias, out, ROWS, INPUTS, OUTPUTS, true);
    kernels.softmaxCrossEntropy(out, labels, g, ROWS, OUTPUTS);
    kernels.backpropInput(g, w, a, gPrev, ROWS, INPUTS, OUTPUTS);
    kernels.denseUpdate(a, g, w, bias, ROWS, INPUTS, OUTPUTS, 0, 0);
  }
}
