/**
 * One process of the `core-ceiling` benchmark (core-ceiling.ts): the workers benchmark's round —
 * 10 2NN clients, B = 10, E = 1 — trained inline on the simulation's thread, ROUNDS rounds after a
 * warm-up round, printing the seconds per round as one JSON line. It shares nothing with the
 * process beside it: no pool, no messages between them.
 */
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { syntheticClients, twoNnRun } from './two-nn-clients.js';

const ROUNDS = Number(process.env.CORE_CEILING_ROUNDS ?? 5);
await initBackend();
const clients = syntheticClients();
const run = (rounds: number) => runFederated(new SimulationCore({ seed: 1, keepLog: false }), twoNnRun(clients, rounds));
await run(1); // warm-up: JIT, the scratch model
// Both processes of a pair start timing together: each waits for the line "go" on stdin.
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const started = performance.now();
const result = await run(ROUNDS);
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 / ROUNDS, digest: result.weightsSha256, cpuMs: (user + system) / 1000 }));
process.exit(0);
