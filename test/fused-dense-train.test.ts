/**
 * The fused dense trainer (src/fl/training/fused-dense-train.ts, kernels in assembly/): it must
 * train exactly what trainLocal's tfjs loop trains (same batches, loss and update rule) up to
 * float32 rounding, be bit-identical to itself, never let the blocking of its loops change a sum,
 * and hand back to tfjs whatever it does not cover.
 */
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackend, initBackend } from '../src/runtime/backend.js';
import { fusedDenseKernels, WasmArena } from '../src/runtime/fused-dense/module.js';
import { createStream } from '../src/runtime/rng.js';
import { createModel } from '../src/fl/models/create.js';
import type { ModelSpec } from '../src/fl/models/spec.js';
import type { TrainOptions } from '../src/fl/training/train-local.js';
import { fusedDenseRefusal } from '../src/fl/training/fused-dense-train.js';
import { assertSameTraining, type Case, train, withFused } from './helpers/fused-training.js';

test.before(async () => {
  await initBackend('wasm');
});

const caseArb = fc
  .record({
    widths: fc.array(fc.integer({ min: 1, max: 37 }), { minLength: 2, maxLength: 4 }),
    n: fc.integer({ min: 1, max: 40 }),
    batchSize: fc.integer({ min: 1, max: 17 }),
    epochs: fc.integer({ min: 1, max: 2 }),
    lr: fc.double({ min: 0.001, max: 0.2, noNaN: true }),
    optimizer: fc.constantFrom<TrainOptions['optimizer']>(undefined, 'sgd', { name: 'sgd', momentum: 0.9 }, { name: 'sgd', momentum: 0.5, nesterov: true }, { name: 'adam' }, { name: 'adam', beta1: 0.5, beta2: 0.9, epsilon: 1e-3 }),
    proxMu: fc.constantFrom(0, 0.01, 0.3),
    // An algorithm's affine term (FedProx / SCAFFOLD / FedDyn shapes): none, a pull, an offset, or both.
    term: fc.constantFrom('none', 'pull', 'offset', 'both'),
    dropLast: fc.boolean(),
    mse: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .filter((r) => r.widths[r.widths.length - 1] >= (r.mse ? 1 : 2))
  .map((r): Case => {
    const [inputs] = r.widths;
    const outputs = r.widths[r.widths.length - 1];
    const rng = createStream(r.seed, 'data');
    const x = Float32Array.from({ length: r.n * inputs }, () => rng.next() * 2 - 1);
    const y = r.mse ? Float32Array.from({ length: r.n * outputs }, () => rng.next() - 0.5) : Int32Array.from({ length: r.n }, () => Math.floor(rng.next() * outputs));
    const spec: ModelSpec = r.widths.length === 2 ? (r.mse ? { kind: 'linear', inputs, outputs } : { kind: 'logistic', inputs, classes: outputs }) : { kind: 'mlp', layers: r.widths };
    const options: TrainOptions = { epochs: r.epochs, batchSize: r.batchSize, lr: r.lr, proxMu: r.proxMu, dropLast: r.dropLast, loss: r.mse ? 'mse' : 'softmax-cross-entropy' };
    if (r.optimizer !== undefined) options.optimizer = r.optimizer;
    if (r.term !== 'none') {
      const sizes = r.widths.slice(1).flatMap((out, l) => [r.widths[l] * out, out]);
      const arrays = (scale: number) => sizes.map((size) => Float32Array.from({ length: size }, () => (rng.next() * 2 - 1) * scale));
      options.affineTerm = {
        ...(r.term !== 'offset' ? { pull: { coefficient: 0.05 + rng.next() * 0.5, anchor: arrays(0.5) } } : {}),
        ...(r.term !== 'pull' ? { offset: arrays(0.1) } : {}),
      };
    }
    return { spec, data: { x, y }, options, seed: r.seed };
  });

test.serial('trains what the tfjs loop trains, to float32 rounding, on random shapes, losses, optimisers and affine gradient terms', (t) => {
  fc.assert(
    fc.property(caseArb, (c) => {
      assertSameTraining(c, train(c, true), train(c, false));
    }),
    { seed: 17, numRuns: 60 },
  );
  t.pass();
});

test.serial('the same call gives the same bits, whatever ran before it in the same memory', (t) => {
  const [c] = fc.sample(caseArb, { seed: 5, numRuns: 1 });
  const mlp: Case = { ...c, spec: { kind: 'mlp', layers: [30, 20, 10] }, data: { x: Float32Array.from({ length: 50 * 30 }, (_, i) => Math.sin(i)), y: Int32Array.from({ length: 50 }, (_, i) => i % 10) }, options: { epochs: 2, batchSize: 7, lr: 0.1 } };
  const first = train(mlp, true);
  // A larger call in between grows the memory and leaves other numbers in the buffers.
  const big: Case = { ...mlp, spec: { kind: 'mlp', layers: [30, 64, 64, 10] }, data: { x: Float32Array.from({ length: 500 * 30 }, (_, i) => Math.cos(i)), y: Int32Array.from({ length: 500 }, (_, i) => (i * 3) % 10) } };
  train(big, true);
  const again = train(mlp, true);
  t.deepEqual(again.weights.map((w) => Buffer.from(w.buffer).toString('hex')), first.weights.map((w) => Buffer.from(w.buffer).toString('hex')));
  t.is(again.meanLoss, first.meanLoss);
});

/** Random f32 values in [-1, 1) from a seeded stream. */
function randomArray(length: number, seed: number): Float32Array {
  const rng = createStream(seed, 'kernel-data');
  return Float32Array.from({ length }, () => rng.next() * 2 - 1);
}

test.serial('every output is summed in one fixed order, wherever the blocking puts it (forward, backprop, update)', (t) => {
  const k = fusedDenseKernels();
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 19 }), fc.integer(), (m, inputs, outputs, seed) => {
      const arena = new WasmArena(k);
      const a = arena.put(randomArray(m * inputs, seed));
      const w = arena.put(randomArray(inputs * outputs, seed + 1));
      const bias = arena.put(randomArray(outputs, seed + 2));
      const all = arena.alloc(m * outputs);
      const one = arena.alloc(outputs);
      k.denseForward(a, w, bias, all, m, inputs, outputs, true);
      // Every output is Σ_p a[i,p]·w[p,j] in p order, then + bias, then ReLU: a plain float32 loop.
      const av = arena.f32(a, m * inputs);
      const wv = arena.f32(w, inputs * outputs);
      const bv = arena.f32(bias, outputs);
      const out = arena.f32(all, m * outputs);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < outputs; j++) {
          let s = 0;
          for (let p = 0; p < inputs; p++) s = Math.fround(s + Math.fround(av[i * inputs + p] * wv[p * outputs + j]));
          const expected = Math.max(Math.fround(s + bv[j]), 0);
          if (out[i * outputs + j] !== expected) throw new Error(`forward [${i},${j}] of ${m}×${inputs}→${outputs}: ${out[i * outputs + j]} vs ordered sum ${expected}`);
        }
      }
      // Row i alone (m = 1: other loops run) gives the same bits as row i of the batch.
      for (let i = 0; i < m; i++) {
        k.denseForward(a + i * inputs * 4, w, bias, one, 1, inputs, outputs, true);
        if (Buffer.compare(Buffer.from(arena.f32(one, outputs).slice().buffer), Buffer.from(arena.f32(all + i * outputs * 4, outputs).slice().buffer)) !== 0) throw new Error(`forward row ${i} of ${m}×${inputs}→${outputs} differs when computed alone`);
      }
      // backpropInput: row i alone vs in the batch.
      const g = arena.put(randomArray(m * outputs, seed + 3));
      const gPrev = arena.alloc(m * inputs);
      const gOne = arena.alloc(inputs);
      k.backpropInput(g, w, a, gPrev, m, inputs, outputs);
      for (let i = 0; i < m; i++) {
        k.backpropInput(g + i * outputs * 4, w, a + i * inputs * 4, gOne, 1, inputs, outputs);
        if (Buffer.compare(Buffer.from(arena.f32(gOne, inputs).slice().buffer), Buffer.from(arena.f32(gPrev + i * inputs * 4, inputs).slice().buffer)) !== 0) throw new Error(`backprop row ${i} differs when computed alone`);
      }
      // denseUpdate with lr = 1 from zero weights leaves −dW: compare with a plain loop summing rows in order.
      k.setUpdate(0, 1, 0, 0, 0, 0, 0, false);
      const wz = arena.put(new Float32Array(inputs * outputs));
      const bz = arena.put(new Float32Array(outputs));
      k.denseUpdate(a, g, wz, bz, m, inputs, outputs, 0, 0);
      const gv = arena.f32(g, m * outputs);
      const dw = arena.f32(wz, inputs * outputs);
      for (let p = 0; p < inputs; p++) {
        for (let j = 0; j < outputs; j++) {
          let s = 0;
          for (let i = 0; i < m; i++) s = Math.fround(s + Math.fround(av[i * inputs + p] * gv[i * outputs + j]));
          if (dw[p * outputs + j] !== Math.fround(0 - s)) throw new Error(`dW[${p},${j}] ${-dw[p * outputs + j]} vs row-ordered sum ${s}`);
        }
      }
    }),
    { seed: 3, numRuns: 150 },
  );
  t.pass();
});

test.serial('what the fused kernels do not cover takes the tfjs path, and says why', (t) => {
  const mlp = createModel({ kind: 'mlp', layers: [4, 3, 2] }, createStream(1, 'init'));
  const cnn = createModel({ kind: 'cnn', inputShape: [6, 6, 1], filters: [2, 2], kernelSize: 3, hidden: 4, classes: 2 }, createStream(1, 'init'));
  const call = { epochs: 1, batchSize: 2, lr: 0.1, loss: 'softmax-cross-entropy' as const, proxMu: 0, needsTfjs: false };
  withFused(true, () => {
    t.is(fusedDenseRefusal(mlp, call), null);
    t.is(fusedDenseRefusal(mlp, { ...call, optimizer: { name: 'adam' } }), null);
    t.regex(fusedDenseRefusal(mlp, { ...call, needsTfjs: true }) ?? '', /gradient terms and DP-SGD/);
    t.regex(fusedDenseRefusal(mlp, { ...call, loss: 'cross-entropy' }) ?? '', /cross-entropy/);
    t.is(fusedDenseRefusal(cnn, call), null);
  });
  withFused(false, () => t.regex(fusedDenseRefusal(mlp, call) ?? '', /FEDSIM_FUSED_DENSE=0/));
  mlp.dispose();
  cnn.dispose();
});

test.serial('the run log header names the fused kernels and their version', (t) => {
  withFused(true, () => t.regex(describeBackend().detail, /fused dense v1, fused cnn v1/));
  withFused(false, () => t.regex(describeBackend().detail, /fused dense off/));
});

test('the committed .wasm is what `npm run build:kernels` builds from assembly/fused-dense.ts', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-kernels-'));
  try {
    const out = join(dir, 'fused-dense.wasm');
    const script = JSON.parse(readFileSync('package.json', 'utf8')).scripts['build:kernels'] as string;
    const args = script.replace(/^asc /, '').replace('src/runtime/fused-dense/fused-dense.wasm', out).split(/\s+/);
    execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', ...args], { stdio: 'pipe' });
    t.true(readFileSync(out).equals(readFileSync('src/runtime/fused-dense/fused-dense.wasm')), 'rebuild the kernels with `npm run build:kernels` and commit the .wasm');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
