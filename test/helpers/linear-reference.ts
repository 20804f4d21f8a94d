/**
 * The tutorials' toy problem worked out independently, in float64 plain JS: a linear
 * model y = x·w + b (2 inputs, 1 output) with the summed squared error
 * L = Σᵢ (x_i·w + b − tᵢ)², whose gradient is closed-form:
 *   ∂L/∂w_j = 2 Σᵢ rᵢ x_ij,  ∂L/∂b = 2 Σᵢ rᵢ,  rᵢ = x_i·w + b − tᵢ.
 * The SGD, momentum and Adam updates are PyTorch's formulas, written out again here
 * (not imported) so the tests compare two independent computations.
 */

export interface Linear {
  w: number[];
  b: number;
}

export const TOY_X = [[0, 0], [0, 1], [1, 0], [1, 1]];
export const TOY_T = [0, 0, 1, 1];
export const BOB = { x: TOY_X.slice(0, 2), t: TOY_T.slice(0, 2) };
export const ALICE = { x: TOY_X.slice(2), t: TOY_T.slice(2) };

/** Loss and gradient (as [w0, w1, b]) of the summed squared error at `m`. */
export function lossAndGrad(m: Linear, x: number[][], t: number[]): { loss: number; grad: number[] } {
  let loss = 0;
  const grad = [0, 0, 0];
  x.forEach((row, i) => {
    const r = row[0] * m.w[0] + row[1] * m.w[1] + m.b - t[i];
    loss += r * r;
    grad[0] += 2 * r * row[0];
    grad[1] += 2 * r * row[1];
    grad[2] += 2 * r;
  });
  return { loss, grad };
}

const flat = (m: Linear) => [m.w[0], m.w[1], m.b];
const unflat = (p: number[]): Linear => ({ w: [p[0], p[1]], b: p[2] });

/** One plain SGD step; returns the loss before it. */
export function sgdStep(m: Linear, x: number[][], t: number[], lr: number): { loss: number; next: Linear } {
  const { loss, grad } = lossAndGrad(m, x, t);
  return { loss, next: unflat(flat(m).map((p, i) => p - lr * grad[i])) };
}

/** SGD with momentum μ (PyTorch: b₁ = g, bₖ = μbₖ₋₁ + g; Nesterov: g + μb) and weight decay λ. */
export class MomentumSgd {
  private buffer?: number[];
  constructor(private readonly lr: number, private readonly momentum: number, private readonly nesterov = false, private readonly weightDecay = 0) {}

  step(m: Linear, x: number[][], t: number[]): { loss: number; next: Linear } {
    const { loss, grad } = lossAndGrad(m, x, t);
    const p = flat(m);
    const g = grad.map((gi, i) => gi + this.weightDecay * p[i]);
    this.buffer = this.buffer ? this.buffer.map((bi, i) => this.momentum * bi + g[i]) : [...g];
    const direction = this.nesterov ? g.map((gi, i) => gi + this.momentum * this.buffer![i]) : this.buffer;
    return { loss, next: unflat(p.map((pi, i) => pi - this.lr * direction[i])) };
  }
}

/** Adam (PyTorch's), with its own state and step count: one instance per worker, as Optims keeps. */
export class Adam {
  private m = [0, 0, 0];
  private v = [0, 0, 0];
  private t = 0;
  constructor(private readonly lr: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-8) {}

  step(model: Linear, x: number[][], t: number[]): { loss: number; next: Linear } {
    const { loss, grad } = lossAndGrad(model, x, t);
    this.t++;
    this.m = this.m.map((mi, i) => this.beta1 * mi + (1 - this.beta1) * grad[i]);
    this.v = this.v.map((vi, i) => this.beta2 * vi + (1 - this.beta2) * grad[i] * grad[i]);
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const p = flat(model).map((pi, i) => pi - this.lr * (this.m[i] / c1) / (Math.sqrt(this.v[i] / c2) + this.eps));
    return { loss, next: unflat(p) };
  }
}
