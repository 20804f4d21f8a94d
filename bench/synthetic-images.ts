/**
 * Seeded synthetic 28×28 "images" for the training benchmarks: a class pattern plus noise, so a
 * model has something to learn and every run trains the same numbers.
 */
import { createStream } from '../src/runtime/rng.js';
import type { Dataset } from '../src/fl/training/dataset.js';

export function syntheticImages(n: number, streamName: string): Dataset {
  const rng = createStream(7, streamName);
  const patterns = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => rng.next()));
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(10);
    for (let j = 0; j < 784; j++) x[i * 784 + j] = 0.5 * patterns[y[i]][j] + 0.5 * rng.next();
  }
  return { x, y };
}
