/**
 * Issue #3 benchmark: remote `add` of two 5-element tensors through pointers, against
 * the same `tf.add` run locally in the same process.
 *
 * - pipelined: `x.add(y)` issued N times without waiting (each result disposed), then
 *   the simulation runs until quiet: command + delete messages, worker ops.
 * - pipelined with get: N adds issued, then all N results fetched (`Promise.all` of get()).
 * - one at a time: `await x.add(y).get()` N times — a full round trip each.
 *
 *   npx tsx bench/pointers.ts            (or: npm run bench -- pointers)
 *   FEDSIM_BACKEND=cpu npx tsx bench/pointers.ts
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../src/runtime/backend.js';
import { Simulation } from '../src/index.js';
import { fmt, measure, measureAsync, type Measurement, table } from './timing.js';

const N = 20_000;
const ROUND_TRIPS = 5_000;

const xValues = [1, 2, 3, 4, 5];
const yValues = [1, 1, 1, 1, 1];

function setup(keepLog: boolean) {
  const sim = new Simulation({ seed: 1, keepLog });
  const bob = sim.worker('bob');
  const [xLocal, yLocal] = [tf.tensor(xValues), tf.tensor(yValues)];
  const x = sim.me.send(xLocal, bob);
  const y = sim.me.send(yLocal, bob);
  tf.dispose([xLocal, yLocal]);
  return { sim, x, y };
}

async function run(): Promise<string> {
  const backend = await initBackend();
  const a = tf.tensor(xValues);
  const b = tf.tensor(yValues);
  const local = measure('local tf.add (+ dispose)', N, () => {
    for (let i = 0; i < N; i++) tf.add(a, b).dispose();
  });

  const results: Measurement[] = [];
  for (const keepLog of [true, false]) {
    const suffix = keepLog ? '' : ', keepLog: false';
    results.push(
      await measureAsync(`remote pipelined add + dispose${suffix}`, N, async () => {
        const { sim, x, y } = setup(keepLog);
        for (let i = 0; i < N; i++) x.add(y).dispose();
        await sim.settle();
      }),
    );
    results.push(
      await measureAsync(`remote pipelined add, then get all${suffix}`, N, async () => {
        const { sim, x, y } = setup(keepLog);
        const pointers = Array.from({ length: N }, () => x.add(y));
        const tensors = await Promise.all(pointers.map((p) => p.get()));
        tf.dispose(tensors);
        await sim.settle();
      }),
    );
    results.push(
      await measureAsync(`remote one at a time: await add().get()${suffix}`, ROUND_TRIPS, async () => {
        const { sim, x, y } = setup(keepLog);
        for (let i = 0; i < ROUND_TRIPS; i++) (await x.add(y).get()).dispose();
        await sim.settle();
      }),
    );
  }
  a.dispose();
  b.dispose();
  const rows = [local, ...results].map((m) => ({
    case: m.name,
    'ops/s': fmt(m.perSecond),
    'local / this': m === local ? '1.0×' : `${(local.perSecond / m.perSecond).toFixed(1)}×`,
  }));
  const pipelined = results[0].perSecond;
  return (
    `backend ${backend}; N = ${N} (round trips: ${ROUND_TRIPS}); median of 5 after a warm-up; default latency 1 virtual ms\n\n` +
    table(rows) +
    `\n\nTarget ≥ 50k pipelined remote ops/s: ${pipelined >= 50_000 ? 'met' : 'NOT met'} (${fmt(pipelined)}).`
  );
}

export const benchmark = { name: 'pointers', title: 'Remote ops through pointers (issue #3)', run };

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
