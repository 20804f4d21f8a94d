import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { createModel, nn, type ModelSpec } from '../src/fl/models/index.js';
import { trainLocal, type Dataset } from '../src/fl/training/index.js';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';

// Every test switches the process-wide tfjs backend, so none may overlap.
const serial = test.serial;

/**
 * A small McMahan CNN whose training step runs fedsim's wasm kernels as the
 * real one does: BatchMatMul in both layouts (dense forward and gradients), the
 * filter gradients as forward convolutions, the second conv's input gradient
 * by col2im (4 channels, under the convolution route's 8), MaxPoolGrad on
 * disjoint 2×2 windows.
 */
const SPEC: ModelSpec = nn.cnn({ inputShape: [12, 12, 1], filters: [4, 6], kernelSize: 3, hidden: 24, classes: 5 });

function data(n: number): Dataset {
  const rng = createStream(3, 'test/wasm-kernels-training');
  return { x: Float32Array.from({ length: n * 144 }, () => rng.next()), y: Int32Array.from({ length: n }, () => rng.int(5)) };
}

/** Trains SPEC on tfjs ops: FEDSIM_FUSED_CNN=0 keeps the cnn out of fedsim's fused trainer, whose kernels are tested elsewhere. */
function train(): Float32Array[] {
  const before = process.env.FEDSIM_FUSED_CNN;
  process.env.FEDSIM_FUSED_CNN = '0';
  const model = createModel(SPEC, createStream(1, 'model/init'));
  try {
    trainLocal(model, data(32), { epochs: 2, batchSize: 8, lr: 0.1 }, createStream(2, 'shuffle'));
    return model.getWeights();
  } finally {
    model.dispose();
    if (before === undefined) delete process.env.FEDSIM_FUSED_CNN;
    else process.env.FEDSIM_FUSED_CNN = before;
  }
}

serial('the CNN trains to the same bits run after run on wasm, and as on cpu within rounding', async (t) => {
  await initBackend('wasm');
  const tensorsBefore = tf.memory().numTensors;
  const first = train();
  t.is(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
  t.deepEqual(train(), first);
  await tf.setBackend('cpu');
  const cpu = train();
  let worst = 0;
  first.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - cpu[i][j])))));
  t.true(worst < 1e-4, `max |wasm − cpu| = ${worst}`);
});
