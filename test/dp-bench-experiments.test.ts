/**
 * The experiment files of the accuracy-against-ε benchmark (scenarios/experiments/fashion-dp-*.yaml,
 * bench/dp-accuracy.ts): each one is a valid, runnable experiment — schema and preflight, which
 * includes distributed DP's overflow plan — and they differ only in their privacy, so the
 * benchmark's table compares like with like. (Running them needs Fashion-MNIST and minutes:
 * that is the benchmark's job, not a test's.)
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadScenario } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';

const DIR = join(fileURLToPath(new URL('..', import.meta.url)), 'scenarios', 'experiments');
const FILES = readdirSync(DIR).filter((f) => /^fashion-dp-.*\.yaml$/.test(f)).sort();

test('there are the non-private run, three central-DP runs and one distributed-DP run', (t) => {
  const modes = FILES.map((f) => (parse(readFileSync(join(DIR, f), 'utf8')) as { dp?: { mode: string } }).dp?.mode ?? 'none').sort();
  t.deepEqual(modes, ['central', 'central', 'central', 'distributed', 'none']);
});

for (const file of FILES) {
  test(`${file} loads: schema and preflight accept it`, async (t) => {
    const scenario = await loadScenario(join(DIR, file));
    t.is(scenario.seed, 0);
  });
}

test('the files differ only in their name, their privacy and the aggregation that carries it', (t) => {
  const shared = FILES.map((f) => {
    const { name: _name, dp: _dp, aggregation: _aggregation, ...rest } = parse(readFileSync(join(DIR, f), 'utf8')) as Record<string, unknown>;
    return rest;
  });
  for (const [i, rest] of shared.entries()) t.deepEqual(rest, shared[0], FILES[i]);
});

test('the central and distributed runs compared at the same noise have the same z, C, sampling and δ', (t) => {
  const dpOf = (f: string) => (parse(readFileSync(join(DIR, f), 'utf8')) as { dp: Record<string, unknown> }).dp;
  const { mode: _c, ...central } = dpOf('fashion-dp-central-eps8.yaml');
  const { mode: _d, distributed: _ring, ...distributed } = dpOf('fashion-dp-distributed-eps8.yaml');
  t.deepEqual(distributed, central);
});

test('the distributed run is refused before it starts if its sums could wrap (its scale in a 20-bit ring)', async (t) => {
  const file = join(DIR, 'fashion-dp-distributed-eps8.yaml');
  const scale = (parse(readFileSync(file, 'utf8')) as { dp: { distributed: { scale: unknown } } }).dp.distributed.scale;
  t.is(scale, 'auto');
  // 48,600,000 is what 'auto' picks in Z_2^32 for this run; in Z_2^20 the sums would wrap.
  const error = await t.throwsAsync(loadScenario(file, { params: { 'dp.distributed.bits': 20, 'dp.distributed.scale': 48_600_000 } }));
  t.regex(error!.message, /cannot run as written/);
  t.regex(error!.message, /leaves Z_2\^20 with probability/);
});
