/**
 * Local optimisers, written out so that every update is visible and the FedProx
 * term can be added to the gradient before the step.
 *
 * (tfjs's tf.train.sgd/momentum/adam are deterministic too — no randomness, fixed
 * op order — but they keep their state in globally named variables and would hide
 * the formulas the tests check by hand.)
 *
 * Conventions are PyTorch's, which the FL papers' code uses:
 *  - SGD:       w ← w − η g
 *  - momentum:  v ← μ v + g;  w ← w − η v          (v₀ = 0, so the first step is plain SGD)
 *  - Nesterov:  v ← μ v + g;  w ← w − η (g + μ v)
 *  - Adam:      m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;
 *               w ← w − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
 * Optimiser state lives for one `trainLocal` call: FedAvg clients start every round
 * fresh, as in McMahan et al. and Flower's examples.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { FlConfigError } from '../errors.js';

// Strict objects: a misspelt field (`momentun`) is refused, not silently ignored.
export const OptimizerConfigSchema = z.union([
  z.literal('sgd'),
  z.discriminatedUnion('name', [
    z.object({ name: z.literal('sgd'), momentum: z.number().min(0).max(1).optional(), nesterov: z.boolean().optional() }).strict(),
    z
      .object({
        name: z.literal('adam'),
        beta1: z.number().min(0).lt(1).optional(),
        beta2: z.number().min(0).lt(1).optional(),
        epsilon: z.number().positive().optional(),
      })
      .strict(),
  ]),
]);
export type OptimizerConfig = z.infer<typeof OptimizerConfigSchema>;

export interface Optimizer {
  /** Updates `params` in place from `grads` (same order). The caller disposes `grads`. */
  step(params: readonly tf.Variable[], grads: readonly tf.Tensor[]): void;
  /** Frees the optimiser's state tensors. */
  dispose(): void;
}

/**
 * Replaces `state[i]` by `next[i]`, disposing the old tensors (keeps tensor counts
 * flat). The new state is `tf.keep`-ed: a step usually runs inside the caller's
 * tf.tidy, which would otherwise dispose it when the step ends.
 */
function swap(state: tf.Tensor[], next: tf.Tensor[]): void {
  for (let i = 0; i < next.length; i++) {
    state[i]?.dispose();
    state[i] = tf.keep(next[i]);
  }
}

class Sgd implements Optimizer {
  private readonly velocity: tf.Tensor[] = [];
  private readonly lr: tf.Scalar;
  private readonly mu: tf.Scalar | undefined;

  constructor(lr: number, private readonly momentum: number, private readonly nesterov: boolean) {
    // Kept, so that creating an optimiser inside a tf.tidy does not free its constants.
    this.lr = tf.keep(tf.scalar(lr));
    this.mu = momentum > 0 ? tf.keep(tf.scalar(momentum)) : undefined;
  }

  step(params: readonly tf.Variable[], grads: readonly tf.Tensor[]): void {
    const { lr, mu } = this;
    if (!mu) {
      tf.tidy(() => params.forEach((p, i) => p.assign(tf.sub(p, tf.mul(grads[i], lr)))));
      return;
    }
    const next = tf.tidy(() =>
      params.map((p, i) => {
        const v = this.velocity[i] ? tf.add(tf.mul(this.velocity[i], mu), grads[i]) : tf.clone(grads[i]);
        const direction = this.nesterov ? tf.add(grads[i], tf.mul(v, mu)) : v;
        p.assign(tf.sub(p, tf.mul(direction, lr)));
        return v;
      }),
    );
    swap(this.velocity, next);
  }

  dispose(): void {
    tf.dispose([this.lr, ...(this.mu ? [this.mu] : []), ...this.velocity]);
    this.velocity.length = 0;
  }
}

class Adam implements Optimizer {
  private readonly m: tf.Tensor[] = [];
  private readonly v: tf.Tensor[] = [];
  private t = 0;

  constructor(
    private readonly lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
  ) {}

  step(params: readonly tf.Variable[], grads: readonly tf.Tensor[]): void {
    this.t++;
    const { beta1, beta2, epsilon } = this;
    // Bias corrections in float64, folded into one step size per step.
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    const next = tf.tidy(() => {
      const ms: tf.Tensor[] = [];
      const vs: tf.Tensor[] = [];
      params.forEach((p, i) => {
        const g = grads[i];
        const m = this.m[i] ? tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1)) : tf.mul(g, 1 - beta1);
        const v = this.v[i] ? tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2)) : tf.mul(tf.square(g), 1 - beta2);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
        p.assign(tf.sub(p, tf.mul(update, this.lr)));
        ms.push(m);
        vs.push(v);
      });
      return [...ms, ...vs];
    });
    swap(this.m, next.slice(0, params.length));
    swap(this.v, next.slice(params.length));
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
    this.m.length = 0;
    this.v.length = 0;
  }
}

export function createOptimizer(config: OptimizerConfig | undefined, lr: number): Optimizer {
  if (!(lr > 0) || !Number.isFinite(lr)) throw new FlConfigError(`optimizer: the learning rate must be a finite number > 0, got ${lr}; typical values are 0.01 to 0.1 for SGD`, { op: 'createOptimizer', field: 'lr' });
  const parsed = OptimizerConfigSchema.safeParse(config ?? 'sgd');
  if (!parsed.success) {
    throw new FlConfigError(
      `optimizer: ${JSON.stringify(config)} is not an optimizer; use 'sgd', { name: 'sgd', momentum: 0.9 } or { name: 'adam', beta1?, beta2?, epsilon? }`,
      { op: 'createOptimizer', field: 'optimizer' },
    );
  }
  const c = parsed.data;
  if (c === 'sgd') return new Sgd(lr, 0, false);
  if (c.name === 'sgd') return new Sgd(lr, c.momentum ?? 0, c.nesterov ?? false);
  return new Adam(lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.epsilon ?? 1e-8);
}
