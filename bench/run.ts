/**
 * Runs the benchmarks: `npm run bench` (all) or `npm run bench -- runtime pointers`.
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
  workers: () => import('./workers.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((name) => !(name in registry));
if (unknown.length) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${Object.keys(registry).join(', ')}.`);
  process.exit(2);
}
const names = wanted.length ? wanted : Object.keys(registry);
console.log(`# fedsim benchmarks — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
for (const name of names) {
  const { benchmark } = await registry[name]();
  console.log(`## ${benchmark.title}\n`);
  console.log(await benchmark.run());
  console.log('');
}
