/**
 * The weight-layout conversion of the compute benchmark (bench/compute-layout.ts): fedsim's
 * [in, out] / HWIO / NHWC-flatten weights, converted to torch's [out, in] / OIHW /
 * NCHW-flatten, must compute the same function. Checked with plain-JS products in both
 * conventions, so no PyTorch is needed.
 */
import test from 'ava';
import fc from 'fast-check';
import { convKernelToTorch, denseKernelToTorch, flattenedDenseKernelToTorch, nhwcToNchw, toTorchParams } from '../bench/compute-layout.js';
import { nn } from '../src/fl/index.js';

const dims = fc.integer({ min: 1, max: 4 });
const values = (n: number) => fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

test('a dense kernel [in, out] becomes torch\'s [out, in]: its transpose', (t) => {
  fc.assert(
    fc.property(dims, dims, (inputs, outputs) => {
      const k = Float32Array.from({ length: inputs * outputs }, (_, i) => i + 1);
      const w = denseKernelToTorch(k, inputs, outputs);
      for (let i = 0; i < inputs; i++) for (let o = 0; o < outputs; o++) if (w[o * inputs + i] !== k[i * outputs + o]) return false;
      return true;
    }),
  );
  t.pass();
});

/** 'valid' cross-correlation of one sample: fedsim's NHWC input and HWIO kernel → [oh, ow, cout]. */
function convNhwc(x: Float32Array, h: number, w: number, cin: number, k: Float32Array, kh: number, kw: number, cout: number): Float32Array {
  const [oh, ow] = [h - kh + 1, w - kw + 1];
  const out = new Float32Array(oh * ow * cout);
  for (let y = 0; y < oh; y++)
    for (let xx = 0; xx < ow; xx++)
      for (let o = 0; o < cout; o++) {
        let s = 0;
        for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) for (let c = 0; c < cin; c++) s += x[((y + dy) * w + xx + dx) * cin + c] * k[((dy * kw + dx) * cin + c) * cout + o];
        out[(y * ow + xx) * cout + o] = s;
      }
  return out;
}

/** The same in torch's convention: NCHW input and OIHW weight → [cout, oh, ow]. */
function convNchw(x: Float32Array, h: number, w: number, cin: number, k: Float32Array, kh: number, kw: number, cout: number): Float32Array {
  const [oh, ow] = [h - kh + 1, w - kw + 1];
  const out = new Float32Array(cout * oh * ow);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let s = 0;
        for (let c = 0; c < cin; c++) for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) s += x[(c * h + y + dy) * w + xx + dx] * k[((o * cin + c) * kh + dy) * kw + dx];
        out[(o * oh + y) * ow + xx] = s;
      }
  return out;
}

test('a conv kernel HWIO as OIHW, with NHWC input as NCHW: the same convolution', (t) => {
  fc.assert(
    fc.property(
      fc.record({ kh: dims, kw: dims, cin: dims, cout: dims, extraH: fc.integer({ min: 0, max: 3 }), extraW: fc.integer({ min: 0, max: 3 }) }).chain((s) =>
        fc.record({ s: fc.constant(s), x: values((s.kh + s.extraH) * (s.kw + s.extraW) * s.cin), k: values(s.kh * s.kw * s.cin * s.cout) }),
      ),
      ({ s, x, k }) => {
        const [h, w] = [s.kh + s.extraH, s.kw + s.extraW];
        const ours = convNhwc(x, h, w, s.cin, k, s.kh, s.kw, s.cout);
        const theirs = convNchw(nhwcToNchw(x, 1, h, w, s.cin), h, w, s.cin, convKernelToTorch(k, s.kh, s.kw, s.cin, s.cout), s.kh, s.kw, s.cout);
        // Their output is NCHW: bring ours to that layout to compare.
        const [oh, ow] = [h - s.kh + 1, w - s.kw + 1];
        const oursNchw = nhwcToNchw(ours, 1, oh, ow, s.cout);
        return oursNchw.every((v, i) => Math.abs(v - theirs[i]) <= 1e-5);
      },
    ),
  );
  t.pass();
});

test('the dense layer after the flatten: NHWC-flatten·K = W·NCHW-flatten (rows permuted, not only transposed)', (t) => {
  fc.assert(
    fc.property(
      fc.record({ h: dims, w: dims, c: dims, out: dims }).chain((s) => fc.record({ s: fc.constant(s), a: values(s.h * s.w * s.c), k: values(s.h * s.w * s.c * s.out) })),
      ({ s, a, k }) => {
        const features = s.h * s.w * s.c;
        const w = flattenedDenseKernelToTorch(k, s.h, s.w, s.c, s.out);
        const flatNchw = nhwcToNchw(a, 1, s.h, s.w, s.c);
        for (let o = 0; o < s.out; o++) {
          let ours = 0;
          let theirs = 0;
          for (let f = 0; f < features; f++) {
            ours += a[f] * k[f * s.out + o];
            theirs += flatNchw[f] * w[o * features + f];
          }
          if (Math.abs(ours - theirs) > 1e-5) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});

test('toTorchParams gives torch shapes in torch module order, and refuses weights of another size', (t) => {
  const spec = nn.cnn({ inputShape: [8, 8, 2], filters: [3, 4], kernelSize: 3, hidden: 5, classes: 2 });
  const sizes = [3 * 3 * 2 * 3, 3, 3 * 3 * 3 * 4, 4, 2 * 2 * 4 * 5, 5, 5 * 2, 2];
  const params = toTorchParams(spec, sizes.map((n) => new Float32Array(n)));
  t.deepEqual(
    params.map((p) => p.shape),
    [[3, 2, 3, 3], [3], [4, 3, 3, 3], [4], [5, 16], [5], [2, 5], [2]],
  );
  t.throws(() => toTorchParams(spec, sizes.map((n, i) => new Float32Array(i === 4 ? n - 1 : n))), { message: /flattened dense kernel: 79 values, expected 80/ });
  t.deepEqual(
    toTorchParams(nn.mlp([3, 2]), [Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([7, 8])]).map((p) => [p.shape, Array.from(p.data)]),
    [
      [[2, 3], [1, 3, 5, 2, 4, 6]],
      [[2], [7, 8]],
    ],
  );
});
