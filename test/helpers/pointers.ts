/** Shared set-up for the pointer-layer tests. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/runtime/backend.js';
import { hook, Simulation, type SimulationOptions } from '../../src/index.js';

/** Starts the compute backend once per test file and installs tensor.send(). */
export async function ready(): Promise<void> {
  await initBackend();
  hook(tf);
}

export function simulation(options: SimulationOptions = {}): Simulation {
  return new Simulation({ seed: 7, ...options });
}

/** Plain nested arrays, for deep-equal assertions. */
export const values = (t: tf.Tensor) => t.arraySync();

/** Rounds float32 read-backs (2.4000000953674316 → 2.4). */
export const rounded = (t: tf.Tensor, digits = 5) => {
  const round = (v: unknown): unknown => (Array.isArray(v) ? v.map(round) : Number((v as number).toFixed(digits)));
  return round(t.arraySync());
};
