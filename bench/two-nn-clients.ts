/**
 * The clients of the parallel-training benchmarks (`workers`, `nats-training`): 10 clients of 600
 * random 784-pixel samples for McMahan's 2NN, drawn from one seeded stream so that every benchmark
 * (and every run of one) trains on the same data and the weights digests can be compared.
 */
import { createStream } from '../src/runtime/rng.js';
import { nn } from '../src/fl/models/index.js';
import type { ClientData, FederatedOptions } from '../src/fl/rounds/index.js';

export const CLIENTS = 10;
export const SAMPLES = 600;

export function syntheticClients(): ClientData[] {
  const rng = createStream(0, 'bench/workers/data');
  return Array.from({ length: CLIENTS }, () => {
    const x = new Float32Array(SAMPLES * 784);
    for (let i = 0; i < x.length; i++) x[i] = rng.next();
    const y = new Int32Array(SAMPLES);
    for (let i = 0; i < SAMPLES; i++) y[i] = rng.int(10);
    return { x, y };
  });
}

/** The benchmarks' FedAvg run on those clients: McMahan's 2NN, every client every round, B = 10, lr 0.05, no evaluation. */
export function twoNnRun(clients: ClientData[], rounds: number, localEpochs = 1): FederatedOptions {
  return { model: nn.mlp([784, 200, 200, 10]), clients, rounds, fraction: 1, localEpochs, batchSize: 10, lr: 0.05, clientEvaluation: 'none', trainEvaluation: 'none' };
}
