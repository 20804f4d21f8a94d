/**
 * Runs the benchmarks: `npm run bench` (all) or `npm run bench -- runtime pointers`
 * (options after the names: `npm run bench -- fedavg-e2e --rounds 10`).
 * Each benchmark measures its baseline in the same run and prints a markdown table
 * for BENCHMARKS.md. Wall-clock time is read here and only here.
 */
import { cpus } from 'node:os';

interface Benchmark {
  name: string;
  title: string;
  run(): Promise<string>;
}

/** name → module; loaded lazily so one benchmark's imports (tfjs) don't slow another. */
const registry: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  runtime: () => import('./runtime-deliveries.js'),
  pointers: () => import('./pointers.js'),
  secagg: () => import('./secagg.js'),
  plans: () => import('./plans.js'),
  fl: () => import('./fl-overhead.js'),
  'fault-sweep': () => import('./fault-sweep.js'),
  replay: () => import('./replay-memory.js'),
  steps: () => import('./step-budget.js'),
  'dp-accuracy': () => import('./dp-accuracy.js'),
  'dp-sgd': () => import('./dp-sgd.js'),
  'population-scale': () => import('./population-scale.js'),
  'async-vs-sync': () => import('./async-vs-sync.js'),
  compute: () => import('./compute.js'),
  'fedavg-e2e': () => import('./compute-fedavg-e2e.js'),
  workers: () => import('./workers.js'),
  'core-ceiling': () => import('./core-ceiling.js'),
  viewer: () => import('./viewer.js'),
  'nats-transport': () => import('./nats-transport.js'),
  'nats-training': () => import('./nats-training.js'),
};

// Options are `--name=value` or `--name value` (bench-options.ts): a word after a bare `--name` is its value, not a benchmark.
const args = process.argv.slice(2);
const wanted = args.filter((a, i) => !a.startsWith('-') && !(i > 0 && args[i - 1].startsWith('--') && !args[i - 1].includes('=') && !(a in registry)));
const unknown = wanted.filter((name) => !(name in registry));
if (unknown.length) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${Object.keys(registry).join(', ')}.`);
  process.exit(2);
}
/** Too long for `npm run bench` with no names (minutes of real training): run only when named. */
const ONLY_WHEN_NAMED = new Set(['fedavg-e2e', 'nats-training']);
const names = wanted.length ? wanted : Object.keys(registry).filter((name) => !ONLY_WHEN_NAMED.has(name));
console.log(`# fedsim benchmarks — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
for (const name of names) {
  const { benchmark } = await registry[name]();
  console.log(`## ${benchmark.title}\n`);
  console.log(await benchmark.run());
  console.log('');
}
