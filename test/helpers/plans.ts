/** Shared helpers for the plan tests. */
import * as tf from '@tensorflow/tfjs';
import { F, nn, Plan, type Simulation } from '../../src/index.js';

/** The raw bits of a float32 tensor, for bitwise comparisons (NaN-safe, −0 ≠ 0). */
export const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer));

/** Seed 002's Net: fc1 2→3, relu, fc2 3→2, log_softmax over dim 0 — the tutorial scenario's own class. */
export { Net } from '../../scenarios/plans.js';

/** A small classifier for training tests: in → hidden (relu) → out logits. */
export class Mlp extends Plan {
  l1: ReturnType<typeof nn.linear>;
  l2: ReturnType<typeof nn.linear>;

  constructor(inputs: number, hidden: number, outputs: number, options: ConstructorParameters<typeof Plan>[0] = {}) {
    super(options);
    this.l1 = nn.linear(inputs, hidden);
    this.l2 = nn.linear(hidden, outputs);
  }

  override forward(x: any) {
    return this.l2(F.relu(this.l1(x)));
  }
}

/** Counts messages sent, by type, from now on. */
export function countSent(sim: Simulation): { total: () => number; of: (type: string) => number } {
  const counts = new Map<string, number>();
  sim.eventsOf('sent').subscribe((event) => counts.set(event.envelope.type, (counts.get(event.envelope.type) ?? 0) + 1));
  return { total: () => [...counts.values()].reduce((a, b) => a + b, 0), of: (type) => counts.get(type) ?? 0 };
}

/** Seeded data: n rows of `inputs` features in [−1, 1), and one-hot targets of `classes` classes. */
export function classification(sim: Simulation, n: number, inputs: number, classes: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = sim.rng('test/data');
  const x = new Float32Array(n * inputs).map(() => rng.uniform(-1, 1));
  const labels = Array.from({ length: n }, () => rng.int(classes));
  const y = new Float32Array(n * classes);
  labels.forEach((label, i) => (y[i * classes + label] = 1));
  return { x: tf.tensor2d(x, [n, inputs]), y: tf.tensor2d(y, [n, classes]) };
}
