/**
 * The fused trainer on the built-in cnn (src/fl/training/fused-conv-layers.ts, kernels in
 * assembly/fused-conv.ts): it must train what trainLocal's tfjs loop trains (conv 'same' with
 * tfjs's padding for odd and even kernels, max-pool with its first-maximum ties and odd sizes
 * dropped) to float32 rounding, and be bit-identical to itself.
 */
import test from 'ava';
import fc from 'fast-check';
import { activeBackendLabel, initBackend } from '../src/runtime/backend.js';
import { followRecordedFusedDense, fusedDenseKernels, WasmArena } from '../src/runtime/fused-dense/module.js';
import { createModel } from '../src/fl/models/create.js';
import { fusedDenseRefusal } from '../src/fl/training/fused-dense-train.js';
import { createStream } from '../src/runtime/rng.js';
import type { CnnSpec } from '../src/fl/models/spec.js';
import type { TrainOptions } from '../src/fl/training/train-local.js';
import { builtinParams } from '../src/fl/models/builtin-model.js';
import { assertSameTraining, type Case, train } from './helpers/fused-training.js';

test.before(async () => {
  await initBackend('wasm');
});

const cnnCaseArb = fc
  .record({
    // At least 4: below, the second pool is empty and tfjs-backend-wasm aborts on its 0-size tensors.
    // 5, 6, 7, 9 make an odd size at one of the pools.
    height: fc.integer({ min: 4, max: 9 }),
    width: fc.integer({ min: 4, max: 9 }),
    channels: fc.integer({ min: 1, max: 2 }),
    // 4 and more channels run the kernels' 4-lane paths, fewer only their scalar tails.
    filters: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
    kernelSize: fc.integer({ min: 1, max: 5 }),
    hidden: fc.integer({ min: 1, max: 8 }),
    classes: fc.integer({ min: 2, max: 4 }),
    n: fc.integer({ min: 1, max: 12 }),
    batchSize: fc.integer({ min: 1, max: 7 }),
    epochs: fc.integer({ min: 1, max: 2 }),
    lr: fc.double({ min: 0.001, max: 0.2, noNaN: true }),
    optimizer: fc.constantFrom<TrainOptions['optimizer']>(undefined, { name: 'sgd', momentum: 0.9 }, { name: 'sgd', momentum: 0.5, nesterov: true }, { name: 'adam' }),
    proxMu: fc.constantFrom(0, 0.01, 0.3),
    term: fc.constantFrom('none', 'pull', 'offset', 'both'),
    dropLast: fc.boolean(),
    mse: fc.boolean(),
    // Inputs on a coarse grid (multiples of 1/4) make equal values, so max-pool ties, common.
    coarse: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((r): Case => {
    const spec: CnnSpec = { kind: 'cnn', inputShape: [r.height, r.width, r.channels], filters: r.filters, kernelSize: r.kernelSize, hidden: r.hidden, classes: r.classes };
    const inputs = r.height * r.width * r.channels;
    const rng = createStream(r.seed, 'data');
    const x = Float32Array.from({ length: r.n * inputs }, () => (r.coarse ? Math.floor(rng.next() * 8) / 4 - 1 : rng.next() * 2 - 1));
    const y = r.mse ? Float32Array.from({ length: r.n * r.classes }, () => rng.next() - 0.5) : Int32Array.from({ length: r.n }, () => Math.floor(rng.next() * r.classes));
    const options: TrainOptions = { epochs: r.epochs, batchSize: r.batchSize, lr: r.lr, proxMu: r.proxMu, dropLast: r.dropLast, loss: r.mse ? 'mse' : 'softmax-cross-entropy' };
    if (r.optimizer !== undefined) options.optimizer = r.optimizer;
    if (r.term !== 'none') {
      const sizes = builtinParams(spec).map((p) => p.shape.reduce((a, b) => a * b, 1));
      const arrays = (scale: number) => sizes.map((size) => Float32Array.from({ length: size }, () => (rng.next() * 2 - 1) * scale));
      options.affineTerm = {
        ...(r.term !== 'offset' ? { pull: { coefficient: 0.05 + rng.next() * 0.5, anchor: arrays(0.5) } } : {}),
        ...(r.term !== 'pull' ? { offset: arrays(0.1) } : {}),
      };
    }
    return { spec, data: { x, y }, options, seed: r.seed };
  });

test.serial('trains the cnn as the tfjs loop does, to float32 rounding: shapes, odd and even kernels, optimisers, proxMu, affine terms', (t) => {
  fc.assert(
    fc.property(cnnCaseArb, (c) => {
      assertSameTraining(c, train(c, true), train(c, false));
    }),
    { seed: 29, numRuns: 80 },
  );
  t.pass();
});

test.serial('a cnn run gives the same bits twice, whatever ran before it in the same memory', (t) => {
  const spec: CnnSpec = { kind: 'cnn', inputShape: [8, 7, 2], filters: [3, 5], kernelSize: 3, hidden: 6, classes: 3 };
  const data = { x: Float32Array.from({ length: 20 * 8 * 7 * 2 }, (_, i) => Math.sin(i * 0.37)), y: Int32Array.from({ length: 20 }, (_, i) => i % 3) };
  const c: Case = { spec, data, options: { epochs: 2, batchSize: 6, lr: 0.05, optimizer: { name: 'sgd', momentum: 0.9 } }, seed: 11 };
  const first = train(c, true);
  // A larger cnn in between grows the memory and leaves other numbers in the buffers.
  const bigSpec: CnnSpec = { kind: 'cnn', inputShape: [12, 12, 1], filters: [8, 8], kernelSize: 5, hidden: 16, classes: 3 };
  train({ spec: bigSpec, data: { x: Float32Array.from({ length: 40 * 144 }, (_, i) => Math.cos(i)), y: Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 3) }, options: { epochs: 1, batchSize: 10, lr: 0.1 }, seed: 3 }, true);
  const again = train(c, true);
  t.deepEqual(again.weights.map((w) => Buffer.from(w.buffer).toString('hex')), first.weights.map((w) => Buffer.from(w.buffer).toString('hex')));
  t.is(again.meanLoss, first.meanLoss);
});

/** Random f32 values on a coarse grid (ties are common) from a seeded stream. */
function coarseArray(length: number, seed: number): Float32Array {
  const rng = createStream(seed, 'kernel-data');
  return Float32Array.from({ length }, () => Math.floor(rng.next() * 6) / 2 - 1);
}

test.serial('maxPool keeps the first maximum of each window and drops an odd last row and column; its gradient goes there', (t) => {
  const k = fusedDenseKernels();
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (batch, h, w, c, seed) => {
      const arena = new WasmArena(k);
      const count = batch * h * w * c;
      const pooledCount = batch * Math.floor(h / 2) * Math.floor(w / 2) * c;
      const a = arena.put(coarseArray(count, seed));
      const out = arena.alloc(pooledCount);
      const argmax = arena.alloc(pooledCount);
      const g = arena.put(coarseArray(pooledCount, seed + 1));
      const gIn = arena.put(coarseArray(count, seed + 2)); // stale values: the kernel must clear them
      k.maxPool(a, out, argmax, batch, h, w, c);
      k.maxPoolBackward(g, argmax, gIn, pooledCount, count);
      const av = arena.f32(a, count);
      const expectedGrad = new Float32Array(count);
      const gv = arena.f32(g, pooledCount);
      let o = 0;
      for (let b = 0; b < batch; b++)
        for (let oy = 0; oy < Math.floor(h / 2); oy++)
          for (let ox = 0; ox < Math.floor(w / 2); ox++)
            for (let ch = 0; ch < c; ch++, o++) {
              let best = -Infinity;
              let at = -1;
              for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
                const e = ((b * h + 2 * oy + dy) * w + 2 * ox + dx) * c + ch;
                if (av[e] > best) [best, at] = [av[e], e];
              }
              if (arena.f32(out, pooledCount)[o] !== best || arena.i32(argmax, pooledCount)[o] !== at) throw new Error(`pool output ${o} of ${batch}×${h}×${w}×${c}: ${arena.f32(out, pooledCount)[o]}@${arena.i32(argmax, pooledCount)[o]} vs ${best}@${at}`);
              expectedGrad[at] = gv[o];
            }
      t.deepEqual(Array.from(arena.f32(gIn, count)), Array.from(expectedGrad));
    }),
    { seed: 7, numRuns: 100 },
  );
});

test.serial('a log from before the fused cnn (header `fused-dense-v1` alone) replays its cnn on tfjs ops; a newer one in the kernels', (t) => {
  const saved = { dense: process.env.FEDSIM_FUSED_DENSE, cnn: process.env.FEDSIM_FUSED_CNN };
  const cnn = createModel({ kind: 'cnn', inputShape: [6, 6, 1], filters: [2, 2], kernelSize: 3, hidden: 4, classes: 2 }, createStream(1, 'init'));
  const mlp = createModel({ kind: 'mlp', layers: [4, 3, 2] }, createStream(1, 'init'));
  const call = { epochs: 1, batchSize: 2, lr: 0.1, loss: 'softmax-cross-entropy' as const, proxMu: 0, needsTfjs: false };
  try {
    const version = activeBackendLabel().split(' ')[1];
    followRecordedFusedDense(`wasm ${version} fused-dense-v1`);
    t.regex(fusedDenseRefusal(cnn, call) ?? '', /FEDSIM_FUSED_CNN=0/);
    t.is(fusedDenseRefusal(mlp, call), null);
    t.is(activeBackendLabel(), `wasm ${version} fused-dense-v1`);
    followRecordedFusedDense(`wasm ${version} fused-dense-v1 fused-cnn-v1`);
    t.is(fusedDenseRefusal(cnn, call), null);
    t.is(activeBackendLabel(), `wasm ${version} fused-dense-v1 fused-cnn-v1`);
  } finally {
    for (const [name, value] of [['FEDSIM_FUSED_DENSE', saved.dense], ['FEDSIM_FUSED_CNN', saved.cnn]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    cnn.dispose();
    mlp.dispose();
  }
});
