// The fused dense trainer's kernels: AssemblyScript compiled to WebAssembly with 128-bit SIMD.
//
// Built by `npm run build:kernels` into src/runtime/fused-dense/fused-dense.wasm (committed; a
// test rebuilds it and compares the bytes). JS (src/runtime/fused-dense/) owns the memory layout
// and calls these per layer; every pointer is a byte offset into this module's memory, every
// matrix row-major and f32.
//
// Why a module of our own rather than tfjs ops: a training step of a small dense network is ~60
// tfjs ops, each with its dispatch and allocation, and tfjs-backend-wasm runs the two transposed
// products of backprop in a naive loop and repacks every weight matrix for XNNPACK after each SGD
// step. Here the weights stay put in linear memory, the gradient of a weight matrix is never
// stored (the SGD update is applied as each block of it is computed), and a step is ~10 calls.
//
// Determinism: every sum runs in a fixed order that depends only on the shapes (never on
// addresses, threads or the CPU); wasm's f32 arithmetic is IEEE-754 with round-to-nearest, and
// SIMD lanes are independent f32 operations, so the same inputs give the same bits on every
// machine. exp and log come from AssemblyScript's own (musl-derived) Mathf, compiled into this
// module, not from the host.

// The built-in cnn's convolution, pooling and transpose kernels live beside these, in the same
// module (assembly/fused-conv.ts).
export { im2col, col2im, maxPool, maxPoolBackward, transpose } from './fused-conv';

// ---- update rules, applied to each weight as its gradient g is produced -------------------------
//
// A weight matrix (or bias) w sits in memory followed by parallel buffers of its size, `stride`
// bytes apart, in this order: the FedProx anchor, the algorithm term's anchor and offset, the
// momentum (Adam: first moment) and Adam's second moment. Only the buffers the current rule
// needs are read.

const PROX_ANCHOR: usize = 1;
const TERM_ANCHOR: usize = 2;
const TERM_OFFSET: usize = 3;
const VELOCITY: usize = 4;
const SECOND_MOMENT: usize = 5;
/** How many buffers of w's size a layer's block holds (w itself and the five above). */
export const SLOTS: i32 = 6;

/** Plain SGD: w ← w − η g. */
export const UPDATE_SGD: i32 = 0;
/** PyTorch momentum: v ← μ v + g; w ← w − η v. */
export const UPDATE_MOMENTUM: i32 = 1;
/** PyTorch Nesterov: v ← μ v + g; w ← w − η (g + μ v). */
export const UPDATE_NESTEROV: i32 = 2;
/** Adam: m ← β₁ m + (1−β₁) g; v ← β₂ v + (1−β₂) g²; w ← w − η (m / c₁) / (√(v / c₂) + ε). */
export const UPDATE_ADAM: i32 = 3;

/** The optimiser of the current call, set once per training run by `setUpdate`. */
let updateRule: i32 = UPDATE_SGD;
let learningRate: f32 = 0;
/** Momentum μ, or Adam's β₁. */
let momentum: f32 = 0;
/** Adam's β₂ and ε. */
let beta2: f32 = 0;
let epsilon: f32 = 0;
/** FedProx μ (trainLocal's own proxMu): g += μ (w − anchor) first (0: none). */
let proxMu: f32 = 0;
/** An algorithm's affine gradient term, added next: g += c (w − termAnchor) + offset. */
let termPull: f32 = 0;
let termOffset: bool = false;
/** Adam's bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ of the current step (`setAdamStep`). */
let correction1: f32 = 1;
let correction2: f32 = 1;

export function setUpdate(rule: i32, lr: f32, mom: f32, b2: f32, eps: f32, mu: f32, pull: f32, offset: bool): void {
  updateRule = rule;
  learningRate = lr;
  momentum = mom;
  beta2 = b2;
  epsilon = eps;
  proxMu = mu;
  termPull = pull;
  termOffset = offset;
}

export function setAdamStep(c1: f32, c2: f32): void {
  correction1 = c1;
  correction2 = c2;
}

/**
 * Applies the optimiser to the 4 consecutive weights at `w` (parallel buffers `stride` bytes
 * apart) whose gradient is `g`. The operations and their order are the tfjs path's
 * (train-local.ts, optimizers.ts, affine-terms.ts), lane by lane.
 */
// @ts-ignore: decorator
@inline
function update4(w: usize, g: v128, stride: usize): void {
  const weights = v128.load(w);
  let grad = g;
  if (proxMu != 0) grad = f32x4.add(grad, f32x4.mul(f32x4.sub(weights, v128.load(w + PROX_ANCHOR * stride)), f32x4.splat(proxMu)));
  if (termPull != 0 || termOffset) {
    let term = f32x4.mul(f32x4.sub(weights, v128.load(w + TERM_ANCHOR * stride)), f32x4.splat(termPull));
    if (termPull == 0) term = v128.load(w + TERM_OFFSET * stride);
    else if (termOffset) term = f32x4.add(term, v128.load(w + TERM_OFFSET * stride));
    grad = f32x4.add(grad, term);
  }
  let step = grad;
  if (updateRule == UPDATE_ADAM) {
    const m = f32x4.add(f32x4.mul(v128.load(w + VELOCITY * stride), f32x4.splat(momentum)), f32x4.mul(grad, f32x4.splat(<f32>1 - momentum)));
    const v = f32x4.add(f32x4.mul(v128.load(w + SECOND_MOMENT * stride), f32x4.splat(beta2)), f32x4.mul(f32x4.mul(grad, grad), f32x4.splat(<f32>1 - beta2)));
    v128.store(w + VELOCITY * stride, m);
    v128.store(w + SECOND_MOMENT * stride, v);
    step = f32x4.div(f32x4.div(m, f32x4.splat(correction1)), f32x4.add(f32x4.sqrt(f32x4.div(v, f32x4.splat(correction2))), f32x4.splat(epsilon)));
  } else if (updateRule != UPDATE_SGD) {
    const v = f32x4.add(f32x4.mul(v128.load(w + VELOCITY * stride), f32x4.splat(momentum)), grad);
    v128.store(w + VELOCITY * stride, v);
    step = updateRule == UPDATE_MOMENTUM ? v : f32x4.add(grad, f32x4.mul(v, f32x4.splat(momentum)));
  }
  v128.store(w, f32x4.sub(weights, f32x4.mul(step, f32x4.splat(learningRate))));
}

/** update4 for a single weight (the tails of rows that are not a multiple of 4 wide). */
// @ts-ignore: decorator
@inline
function update1(w: usize, g: f32, stride: usize): void {
  const weight = load<f32>(w);
  let grad = g;
  if (proxMu != 0) grad = grad + (weight - load<f32>(w + PROX_ANCHOR * stride)) * proxMu;
  if (termPull != 0 || termOffset) {
    let term = (weight - load<f32>(w + TERM_ANCHOR * stride)) * termPull;
    if (termPull == 0) term = load<f32>(w + TERM_OFFSET * stride);
    else if (termOffset) term = term + load<f32>(w + TERM_OFFSET * stride);
    grad = grad + term;
  }
  let step = grad;
  if (updateRule == UPDATE_ADAM) {
    const m = load<f32>(w + VELOCITY * stride) * momentum + grad * (<f32>1 - momentum);
    const v = load<f32>(w + SECOND_MOMENT * stride) * beta2 + grad * grad * (<f32>1 - beta2);
    store<f32>(w + VELOCITY * stride, m);
    store<f32>(w + SECOND_MOMENT * stride, v);
    step = (m / correction1) / (Mathf.sqrt(v / correction2) + epsilon);
  } else if (updateRule != UPDATE_SGD) {
    const v = load<f32>(w + VELOCITY * stride) * momentum + grad;
    store<f32>(w + VELOCITY * stride, v);
    step = updateRule == UPDATE_MOMENTUM ? v : grad + v * momentum;
  }
  store<f32>(w, weight - step * learningRate);
}

// ---- batches --------------------------------------------------------------------------------------

/**
 * Copies rows order[start .. start+count) of x [*, width] into out [count, width]: the batch of a
 * shuffled epoch. `order` holds i32 row indices.
 */
export function gatherRows(x: usize, order: usize, start: i32, count: i32, width: i32, out: usize): void {
  const bytes = <usize>width << 2;
  for (let r = 0; r < count; r++) {
    const row = <usize>load<i32>(order + (<usize>(start + r) << 2));
    memory.copy(out + <usize>r * bytes, x + row * bytes, bytes);
  }
}

/** Copies labels[order[start .. start+count)] (i32) into out. */
export function gatherLabels(labels: usize, order: usize, start: i32, count: i32, out: usize): void {
  for (let r = 0; r < count; r++) {
    const row = <usize>load<i32>(order + (<usize>(start + r) << 2));
    store<i32>(out + (<usize>r << 2), load<i32>(labels + (row << 2)));
  }
}

// ---- forward: out = act(a · w + bias) ----------------------------------------------------------

/**
 * out[m, n] = a[m, k] · w[k, n] + bias[n], then max(·, 0) when `relu`.
 *
 * Blocks of 4 rows × 8 columns keep 8 vector accumulators in registers: each step over k loads two
 * vectors of w and four scalars of a, and does 8 multiplies and 8 adds. Every output is the sum
 * over p = 0 .. k−1 in order, then + bias, whichever block (or tail loop) computes it, so the
 * result does not depend on where a row or column falls in the blocking.
 */
export function denseForward(a: usize, w: usize, bias: usize, out: usize, m: i32, k: i32, n: i32, relu: bool): void {
  const rowA = <usize>k << 2;
  const rowW = <usize>n << 2;
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * rowA;
    const a1 = a0 + rowA;
    const a2 = a1 + rowA;
    const a3 = a2 + rowA;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
      let wp = w + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        const w0 = v128.load(wp);
        const w1 = v128.load(wp, 16);
        const off = <usize>p << 2;
        const x0 = f32x4.splat(load<f32>(a0 + off));
        const x1 = f32x4.splat(load<f32>(a1 + off));
        const x2 = f32x4.splat(load<f32>(a2 + off));
        const x3 = f32x4.splat(load<f32>(a3 + off));
        c00 = f32x4.add(c00, f32x4.mul(x0, w0));
        c01 = f32x4.add(c01, f32x4.mul(x0, w1));
        c10 = f32x4.add(c10, f32x4.mul(x1, w0));
        c11 = f32x4.add(c11, f32x4.mul(x1, w1));
        c20 = f32x4.add(c20, f32x4.mul(x2, w0));
        c21 = f32x4.add(c21, f32x4.mul(x2, w1));
        c30 = f32x4.add(c30, f32x4.mul(x3, w0));
        c31 = f32x4.add(c31, f32x4.mul(x3, w1));
        wp += rowW;
      }
      const b0 = v128.load(bias + (<usize>j << 2));
      const b1 = v128.load(bias + (<usize>j << 2), 16);
      const o = out + <usize>i * rowW + (<usize>j << 2);
      storeActivated(o, f32x4.add(c00, b0), relu);
      storeActivated(o + 16, f32x4.add(c01, b1), relu);
      storeActivated(o + rowW, f32x4.add(c10, b0), relu);
      storeActivated(o + rowW + 16, f32x4.add(c11, b1), relu);
      storeActivated(o + 2 * rowW, f32x4.add(c20, b0), relu);
      storeActivated(o + 2 * rowW + 16, f32x4.add(c21, b1), relu);
      storeActivated(o + 3 * rowW, f32x4.add(c30, b0), relu);
      storeActivated(o + 3 * rowW + 16, f32x4.add(c31, b1), relu);
    }
    // 4 columns at a time where 8 no longer fit (a conv layer of 6 filters, say): the same sums, in the same order.
    for (; j + 4 <= n; j += 4) {
      let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
      let wp = w + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        const w0 = v128.load(wp);
        const off = <usize>p << 2;
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), w0));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(a1 + off)), w0));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(a2 + off)), w0));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(a3 + off)), w0));
        wp += rowW;
      }
      const b0 = v128.load(bias + (<usize>j << 2));
      const o = out + <usize>i * rowW + (<usize>j << 2);
      storeActivated(o, f32x4.add(c0, b0), relu);
      storeActivated(o + rowW, f32x4.add(c1, b0), relu);
      storeActivated(o + 2 * rowW, f32x4.add(c2, b0), relu);
      storeActivated(o + 3 * rowW, f32x4.add(c3, b0), relu);
    }
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) forwardOne(a + <usize>(i + r) * rowA, w, bias, out, i + r, j, k, n, relu);
    }
  }
  for (; i < m; i++) {
    const ai = a + <usize>i * rowA;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c0 = zero, c1 = zero;
      let wp = w + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        const x = f32x4.splat(load<f32>(ai + (<usize>p << 2)));
        c0 = f32x4.add(c0, f32x4.mul(x, v128.load(wp)));
        c1 = f32x4.add(c1, f32x4.mul(x, v128.load(wp, 16)));
        wp += rowW;
      }
      const o = out + <usize>i * rowW + (<usize>j << 2);
      storeActivated(o, f32x4.add(c0, v128.load(bias + (<usize>j << 2))), relu);
      storeActivated(o + 16, f32x4.add(c1, v128.load(bias + (<usize>j << 2), 16)), relu);
    }
    for (; j + 4 <= n; j += 4) {
      let c = zero;
      let wp = w + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        c = f32x4.add(c, f32x4.mul(f32x4.splat(load<f32>(ai + (<usize>p << 2))), v128.load(wp)));
        wp += rowW;
      }
      storeActivated(out + <usize>i * rowW + (<usize>j << 2), f32x4.add(c, v128.load(bias + (<usize>j << 2))), relu);
    }
    for (; j < n; j++) forwardOne(ai, w, bias, out, i, j, k, n, relu);
  }
}

// @ts-ignore: decorator
@inline
function storeActivated(at: usize, v: v128, relu: bool): void {
  v128.store(at, relu ? f32x4.max(v, f32x4.splat(0)) : v);
}

/** One output of denseForward, summed in the same order as the blocked loops. */
function forwardOne(ai: usize, w: usize, bias: usize, out: usize, i: i32, j: i32, k: i32, n: i32, relu: bool): void {
  let s: f32 = 0;
  for (let p = 0; p < k; p++) s += load<f32>(ai + (<usize>p << 2)) * load<f32>(w + ((<usize>p * <usize>n + <usize>j) << 2));
  s += load<f32>(bias + (<usize>j << 2));
  if (relu && !(s > 0)) s = s != s ? s : 0;
  store<f32>(out + ((<usize>i * <usize>n + <usize>j) << 2), s);
}

// ---- losses: value and gradient with respect to the outputs --------------------------------------

/**
 * Softmax cross-entropy of logits z [m, n] against class labels (i32): writes
 * g = (softmax(z) − onehot) · (1/m) and returns Σ_i −log max(p_i,label, 1e-30) (the caller divides
 * by m). As losses.ts's hand-written gradient; softmax subtracts the row max first.
 */
export function softmaxCrossEntropy(z: usize, labels: usize, g: usize, m: i32, n: i32): f64 {
  const invM: f32 = <f32>1 / <f32>m;
  let total: f64 = 0;
  for (let i = 0; i < m; i++) {
    const zi = z + ((<usize>i * <usize>n) << 2);
    const gi = g + ((<usize>i * <usize>n) << 2);
    let max = load<f32>(zi);
    for (let j = 1; j < n; j++) max = Mathf.max(max, load<f32>(zi + (<usize>j << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < n; j++) {
      const e = Mathf.exp(load<f32>(zi + (<usize>j << 2)) - max);
      store<f32>(gi + (<usize>j << 2), e);
      sum += e;
    }
    const label = load<i32>(labels + (<usize>i << 2));
    for (let j = 0; j < n; j++) {
      const p = load<f32>(gi + (<usize>j << 2)) / sum;
      if (j == label) total -= <f64>Mathf.log(Mathf.max(p, <f32>1e-30));
      store<f32>(gi + (<usize>j << 2), (p - (j == label ? <f32>1 : <f32>0)) * invM);
    }
  }
  return total;
}

/**
 * Mean squared error of outputs z [m, n] against targets t [m, n]: writes g = 2 (z − t) / (m n) and
 * returns Σ (z − t)² (the caller divides by m n).
 */
export function meanSquaredError(z: usize, t: usize, g: usize, m: i32, n: i32): f64 {
  const count = m * n;
  const scale: f32 = <f32>2 / <f32>count;
  let total: f64 = 0;
  for (let e = 0; e < count; e++) {
    const at = <usize>e << 2;
    const d = load<f32>(z + at) - load<f32>(t + at);
    total += <f64>(d * d);
    store<f32>(g + at, d * scale);
  }
  return total;
}

// ---- backward ---------------------------------------------------------------------------------------

/**
 * The gradient flowing to the layer below: gPrev[m, k] = (g[m, n] · w[k, n]ᵀ) ⊙ [aPrev > 0], where
 * aPrev is the layer below's ReLU output (aPrev > 0 exactly where its input was > 0). Must run
 * before `denseUpdate` changes w. Each output is a dot product of two contiguous rows: 4-wide
 * partial sums over n, reduced (l0 + l1) + (l2 + l3), then the tail, in that fixed order.
 */
export function backpropInput(g: usize, w: usize, aPrev: usize, gPrev: usize, m: i32, k: i32, n: i32): void {
  const rowG = <usize>n << 2;
  const rowP = <usize>k << 2;
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  for (let i = 0; i < m; i++) {
    const gi = g + <usize>i * rowG;
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const w0 = w + <usize>p * rowG;
      const w1 = w0 + rowG;
      const w2 = w1 + rowG;
      const w3 = w2 + rowG;
      let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
      for (let j = 0; j < n4; j += 4) {
        const off = <usize>j << 2;
        const gv = v128.load(gi + off);
        s0 = f32x4.add(s0, f32x4.mul(gv, v128.load(w0 + off)));
        s1 = f32x4.add(s1, f32x4.mul(gv, v128.load(w1 + off)));
        s2 = f32x4.add(s2, f32x4.mul(gv, v128.load(w2 + off)));
        s3 = f32x4.add(s3, f32x4.mul(gv, v128.load(w3 + off)));
      }
      storeMasked(gi, w0, aPrev, gPrev, i, p, k, n, n4, s0);
      storeMasked(gi, w1, aPrev, gPrev, i, p + 1, k, n, n4, s1);
      storeMasked(gi, w2, aPrev, gPrev, i, p + 2, k, n, n4, s2);
      storeMasked(gi, w3, aPrev, gPrev, i, p + 3, k, n, n4, s3);
    }
    for (; p < k; p++) {
      const wp = w + <usize>p * rowG;
      let s = zero;
      for (let j = 0; j < n4; j += 4) s = f32x4.add(s, f32x4.mul(v128.load(gi + (<usize>j << 2)), v128.load(wp + (<usize>j << 2))));
      storeMasked(gi, wp, aPrev, gPrev, i, p, k, n, n4, s);
    }
  }
}

/** Finishes one output of backpropInput: reduce the partial sums, add the tail, apply the ReLU mask. */
// @ts-ignore: decorator
@inline
function storeMasked(gi: usize, wp: usize, aPrev: usize, gPrev: usize, i: i32, p: i32, k: i32, n: i32, n4: i32, partial: v128): void {
  let s = (f32x4.extract_lane(partial, 0) + f32x4.extract_lane(partial, 1)) + (f32x4.extract_lane(partial, 2) + f32x4.extract_lane(partial, 3));
  for (let j = n4; j < n; j++) s += load<f32>(gi + (<usize>j << 2)) * load<f32>(wp + (<usize>j << 2));
  const at = (<usize>i * <usize>k + <usize>p) << 2;
  store<f32>(gPrev + at, load<f32>(aPrev + at) > 0 ? s : 0);
}

/**
 * The layer's weight gradient dW[k, n] = a[m, k]ᵀ · g[m, n] and bias gradient Σ_i g[i, :], each
 * applied to w and bias by the optimiser (update4/update1) as soon as a block of it is summed, so
 * the gradient is never stored. Blocks of 4 rows of w × 8 columns; each gradient entry is the sum
 * over the batch rows i = 0 .. m−1 in order, in the blocked loop and in the tails alike.
 * `strideW`/`strideB`: the bytes from w (bias) to its parallel buffers (see update4).
 */
export function denseUpdate(a: usize, g: usize, w: usize, bias: usize, m: i32, k: i32, n: i32, strideW: usize, strideB: usize): void {
  const rowA = <usize>k << 2;
  const rowG = <usize>n << 2;
  const zero = f32x4.splat(0);
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
      let ap = a + (<usize>p << 2);
      let gp = g + (<usize>j << 2);
      for (let i = 0; i < m; i++) {
        const g0 = v128.load(gp);
        const g1 = v128.load(gp, 16);
        const x0 = f32x4.splat(load<f32>(ap));
        const x1 = f32x4.splat(load<f32>(ap, 4));
        const x2 = f32x4.splat(load<f32>(ap, 8));
        const x3 = f32x4.splat(load<f32>(ap, 12));
        c00 = f32x4.add(c00, f32x4.mul(x0, g0));
        c01 = f32x4.add(c01, f32x4.mul(x0, g1));
        c10 = f32x4.add(c10, f32x4.mul(x1, g0));
        c11 = f32x4.add(c11, f32x4.mul(x1, g1));
        c20 = f32x4.add(c20, f32x4.mul(x2, g0));
        c21 = f32x4.add(c21, f32x4.mul(x2, g1));
        c30 = f32x4.add(c30, f32x4.mul(x3, g0));
        c31 = f32x4.add(c31, f32x4.mul(x3, g1));
        ap += rowA;
        gp += rowG;
      }
      const at = (<usize>p * <usize>n + <usize>j) << 2;
      update4(w + at, c00, strideW);
      update4(w + at + 16, c01, strideW);
      update4(w + at + rowG, c10, strideW);
      update4(w + at + rowG + 16, c11, strideW);
      update4(w + at + 2 * rowG, c20, strideW);
      update4(w + at + 2 * rowG + 16, c21, strideW);
      update4(w + at + 3 * rowG, c30, strideW);
      update4(w + at + 3 * rowG + 16, c31, strideW);
    }
    // 4 columns at a time where 8 no longer fit: the same sums over the batch rows, in the same order.
    for (; j + 4 <= n; j += 4) {
      let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
      let ap = a + (<usize>p << 2);
      let gp = g + (<usize>j << 2);
      for (let i = 0; i < m; i++) {
        const g0 = v128.load(gp);
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(ap)), g0));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(load<f32>(ap, 4)), g0));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(load<f32>(ap, 8)), g0));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(load<f32>(ap, 12)), g0));
        ap += rowA;
        gp += rowG;
      }
      const at = (<usize>p * <usize>n + <usize>j) << 2;
      update4(w + at, c0, strideW);
      update4(w + at + rowG, c1, strideW);
      update4(w + at + 2 * rowG, c2, strideW);
      update4(w + at + 3 * rowG, c3, strideW);
    }
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) updateOne(a, g, w, m, k, n, p + r, j, strideW);
    }
  }
  for (; p < k; p++) {
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let c = zero;
      for (let i = 0; i < m; i++) {
        const x = f32x4.splat(load<f32>(a + ((<usize>i * <usize>k + <usize>p) << 2)));
        c = f32x4.add(c, f32x4.mul(x, v128.load(g + ((<usize>i * <usize>n + <usize>j) << 2))));
      }
      const at = (<usize>p * <usize>n + <usize>j) << 2;
      update4(w + at, c, strideW);
    }
    for (; j < n; j++) updateOne(a, g, w, m, k, n, p, j, strideW);
  }
  // Bias: the column sums of g, in row order.
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let c = zero;
    for (let i = 0; i < m; i++) c = f32x4.add(c, v128.load(g + ((<usize>i * <usize>n + <usize>j) << 2)));
    update4(bias + (<usize>j << 2), c, strideB);
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    for (let i = 0; i < m; i++) s += load<f32>(g + ((<usize>i * <usize>n + <usize>j) << 2));
    update1(bias + (<usize>j << 2), s, strideB);
  }
}

/** One weight of denseUpdate: its gradient summed over the batch in row order, then the step. */
function updateOne(a: usize, g: usize, w: usize, m: i32, k: i32, n: i32, p: i32, j: i32, strideW: usize): void {
  let s: f32 = 0;
  for (let i = 0; i < m; i++) s += load<f32>(a + ((<usize>i * <usize>k + <usize>p) << 2)) * load<f32>(g + ((<usize>i * <usize>n + <usize>j) << 2));
  const at = (<usize>p * <usize>n + <usize>j) << 2;
  update1(w + at, s, strideW);
}

/** Where JS may start placing buffers: the end of this module's static data. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
