// The convolution and pooling kernels of the fused trainer (the built-in `cnn`), compiled into the
// same module as fused-dense.ts (which re-exports them; see there for the memory conventions).
//
// A stride-1 'same' convolution is a GEMM once its input patches are laid out as rows: with the
// input x [B, H, W, C] (NHWC) and the filter [k, k, C, F] (HWIO, i.e. row-major [k·k·C, F]),
// im2col writes patches [B·H·W, k·k·C] and the convolution is denseForward(patches, filter) →
// [B·H·W, F], which is NHWC again. Its weight gradient is denseUpdate over the same patches, and
// its input gradient is the patch gradients G·filterᵀ — denseForward again, over the transposed
// filter, which streams the wide patch rows better than backpropInput's row dot products —
// folded back by col2im.
//
// Determinism: col2im sums each input's gradient over the filter taps in one fixed order; the
// pooling kernels do no arithmetic (they only pick and move values).

/**
 * Lays out the k×k patches of x [batch, h, w, c] for a stride-1 'same' convolution as rows of
 * patches [batch·h·w, k·k·c]: row (b, y, x), column (dy·k + dx)·c + ch holds
 * x[b, y + dy − pad, x + dx − pad, ch], or 0 outside the image. `pad` is the top/left padding,
 * ⌊(k − 1)/2⌋ as tfjs pads 'same' (the extra row/column of an even k goes to the bottom/right).
 */
export function im2col(x: usize, patches: usize, batch: i32, h: i32, w: i32, c: i32, k: i32, pad: i32): void {
  const pixel = <usize>c << 2;
  const tapRow = <usize>k * pixel;
  let out = patches;
  for (let b = 0; b < batch; b++) {
    const image = x + <usize>b * <usize>h * <usize>w * pixel;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        // The taps dx in [dx0, dx1) fall inside the image horizontally: one contiguous run of x.
        const dx0 = max(0, pad - xx);
        const dx1 = min(k, w + pad - xx);
        for (let dy = 0; dy < k; dy++) {
          const yy = y + dy - pad;
          if (yy < 0 || yy >= h || dx1 <= dx0) {
            memory.fill(out, 0, tapRow);
          } else {
            const before = <usize>dx0 * pixel;
            const run = <usize>(dx1 - dx0) * pixel;
            if (before > 0) memory.fill(out, 0, before);
            memory.copy(out + before, image + (<usize>yy * <usize>w + <usize>(xx + dx0 - pad)) * pixel, run);
            if (before + run < tapRow) memory.fill(out + before + run, 0, tapRow - before - run);
          }
          out += tapRow;
        }
      }
    }
  }
}

/**
 * The inverse of im2col for gradients: gIn[b, y, x, ch] = Σ over the taps (dy, dx), in row-major
 * order, of gPatches[(b, y − dy + pad, x − dx + pad), (dy·k + dx)·c + ch] (the patch rows inside
 * the image), then × [aIn > 0]: aIn is the ReLU'd (and pooled) activation the convolution read,
 * so this is also the ReLU's gradient. Each gIn is gathered by one loop, so its order is fixed.
 */
export function col2im(gPatches: usize, aIn: usize, gIn: usize, batch: i32, h: i32, w: i32, c: i32, k: i32, pad: i32): void {
  const pixel = <usize>c << 2;
  const patchRow = <usize>k * <usize>k * pixel;
  const c4 = c & ~3;
  const zero = f32x4.splat(0);
  for (let b = 0; b < batch; b++) {
    const rows = gPatches + <usize>b * <usize>h * <usize>w * patchRow;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const at = ((<usize>b * <usize>h + <usize>y) * <usize>w + <usize>xx) * pixel;
        // The taps whose patch row (oy, ox) = (y − dy + pad, x − dx + pad) lies inside the image.
        const dy0 = max(0, y + pad - h + 1);
        const dy1 = min(k, y + pad + 1);
        const dx0 = max(0, xx + pad - w + 1);
        const dx1 = min(k, xx + pad + 1);
        let ch = 0;
        for (; ch < c4; ch += 4) {
          let s = zero;
          for (let dy = dy0; dy < dy1; dy++) {
            for (let dx = dx0; dx < dx1; dx++) {
              const row = rows + (<usize>(y - dy + pad) * <usize>w + <usize>(xx - dx + pad)) * patchRow;
              s = f32x4.add(s, v128.load(row + (<usize>(dy * k + dx) * pixel) + (<usize>ch << 2)));
            }
          }
          const mask = f32x4.gt(v128.load(aIn + at + (<usize>ch << 2)), zero);
          v128.store(gIn + at + (<usize>ch << 2), v128.and(s, mask));
        }
        for (; ch < c; ch++) {
          let s: f32 = 0;
          for (let dy = dy0; dy < dy1; dy++) {
            for (let dx = dx0; dx < dx1; dx++) {
              const row = rows + (<usize>(y - dy + pad) * <usize>w + <usize>(xx - dx + pad)) * patchRow;
              s += load<f32>(row + (<usize>(dy * k + dx) * pixel) + (<usize>ch << 2));
            }
          }
          store<f32>(gIn + at + (<usize>ch << 2), load<f32>(aIn + at + (<usize>ch << 2)) > 0 ? s : 0);
        }
      }
    }
  }
}

/**
 * 2×2 max-pool, stride 2, 'valid' padding: a [batch, h, w, c] → out [batch, ⌊h/2⌋, ⌊w/2⌋, c] (an odd
 * last row/column is dropped), and argmax (i32) the element index into a of each output's
 * maximum. Candidates are visited in row-major order and replaced only by a strictly greater
 * value, so a tie goes to the first maximum, as tfjs's maxPool gradient does.
 */
export function maxPool(a: usize, out: usize, argmax: usize, batch: i32, h: i32, w: i32, c: i32): void {
  const ho = h >> 1;
  const wo = w >> 1;
  const c4 = c & ~3;
  const lanes = i32x4(0, 1, 2, 3);
  let o: usize = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const first = ((b * h + 2 * oy) * w + 2 * ox) * c;
        // The window's four elements in row-major order (no array: the stub runtime never frees).
        const right = c;
        const below = w * c;
        const belowRight = w * c + c;
        let ch = 0;
        for (; ch < c4; ch += 4) {
          let best = v128.load(a + (<usize>(first + ch) << 2));
          let index = i32x4.add(i32x4.splat(first + ch), lanes);
          const e1 = first + right + ch;
          let v = v128.load(a + (<usize>e1 << 2));
          let greater = f32x4.gt(v, best);
          best = v128.bitselect(v, best, greater);
          index = v128.bitselect(i32x4.add(i32x4.splat(e1), lanes), index, greater);
          const e2 = first + below + ch;
          v = v128.load(a + (<usize>e2 << 2));
          greater = f32x4.gt(v, best);
          best = v128.bitselect(v, best, greater);
          index = v128.bitselect(i32x4.add(i32x4.splat(e2), lanes), index, greater);
          const e3 = first + belowRight + ch;
          v = v128.load(a + (<usize>e3 << 2));
          greater = f32x4.gt(v, best);
          best = v128.bitselect(v, best, greater);
          index = v128.bitselect(i32x4.add(i32x4.splat(e3), lanes), index, greater);
          v128.store(out + (o << 2), best);
          v128.store(argmax + (o << 2), index);
          o += 4;
        }
        for (; ch < c; ch++) {
          let best = load<f32>(a + (<usize>(first + ch) << 2));
          let index = first + ch;
          const e1 = first + right + ch;
          if (load<f32>(a + (<usize>e1 << 2)) > best) {
            best = load<f32>(a + (<usize>e1 << 2));
            index = e1;
          }
          const e2 = first + below + ch;
          if (load<f32>(a + (<usize>e2 << 2)) > best) {
            best = load<f32>(a + (<usize>e2 << 2));
            index = e2;
          }
          const e3 = first + belowRight + ch;
          if (load<f32>(a + (<usize>e3 << 2)) > best) {
            best = load<f32>(a + (<usize>e3 << 2));
            index = e3;
          }
          store<f32>(out + (o << 2), best);
          store<i32>(argmax + (o << 2), index);
          o++;
        }
      }
    }
  }
}

/**
 * The max-pool's gradient: gIn (inputCount floats) is zeroed, then each gOut[i] goes to
 * gIn[argmax[i]] (the 2×2 stride-2 windows do not overlap, so no position receives two).
 */
export function maxPoolBackward(gOut: usize, argmax: usize, gIn: usize, outputCount: i32, inputCount: i32): void {
  memory.fill(gIn, 0, <usize>inputCount << 2);
  for (let i = 0; i < outputCount; i++) {
    const at = <usize>i << 2;
    store<f32>(gIn + (<usize>load<i32>(argmax + at) << 2), load<f32>(gOut + at));
  }
}

/** out [cols, rows] = a [rows, cols]ᵀ: a filter laid out for the patch-gradient product (no arithmetic). */
export function transpose(a: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = a + ((<usize>r * <usize>cols) << 2);
    for (let c = 0; c < cols; c++) store<f32>(out + ((<usize>c * <usize>rows + <usize>r) << 2), load<f32>(row + (<usize>c << 2)));
  }
}
