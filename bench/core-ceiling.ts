/**
 * What this machine's cores give for the workers benchmark's training when nothing at all is
 * shared: the same round (10 2NN clients, B = 10, E = 1, trained inline) in one process alone,
 * then in two independent processes at once (core-ceiling-child.ts). On an ideal 2-core machine
 * the pair would take as long as one alone, i.e. do 2× the work in the same time; caches, memory
 * bandwidth and the host's scheduling of the virtual CPUs make it less. That ratio is the ceiling
 * for `--workers 2` on this machine, whatever fedsim does: the threads run the same training.
 *
 *   npm run bench -- core-ceiling
 */
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { table } from './timing.js';

const REPEATS = Number(process.env.CORE_CEILING_REPEATS ?? 3);

interface ChildResult {
  seconds: number;
  digest: string;
}

/** Starts `count` children, waits until each is warmed up, lets them go at once, and returns their results. */
async function together(count: number): Promise<ChildResult[]> {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import=tsx', '--conditions=fedsim-source', new URL('./core-ceiling-child.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  // A child is warm once it waits on stdin; it has loaded tfjs and run a round by then. 20 s is ample.
  await new Promise((resolve) => setTimeout(resolve, 20_000));
  const outputs = children.map(
    (child) =>
      new Promise<ChildResult>((resolve, reject) => {
        let text = '';
        child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').at(-1)!) as ChildResult) : reject(new Error(`core-ceiling child exited with ${code}`))));
      }),
  );
  for (const child of children) child.stdin!.write('go\n');
  return Promise.all(outputs);
}

export const benchmark = {
  name: 'core-ceiling',
  title: "This machine's ceiling for 2 threads: the workers benchmark's round in one process, and in two independent processes at once",
  async run(): Promise<string> {
    const loadBefore = loadavg()[0];
    const alone: number[] = [];
    const pair: number[] = [];
    const digests = new Set<string>();
    for (let r = 0; r < REPEATS; r++) {
      const [one] = await together(1);
      alone.push(one.seconds);
      const two = await together(2);
      pair.push(Math.max(...two.map((c) => c.seconds)));
      for (const c of [one, ...two]) digests.add(c.digest);
    }
    if (digests.size !== 1) throw new Error(`core-ceiling: the processes ended on ${digests.size} different weights digests`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const a = median(alone);
    const p = median(pair);
    return [
      table([
        { processes: '1 alone', 'round (s)': a.toFixed(2), 'rounds done per second, both processes': (1 / a).toFixed(2), 'vs 1 alone': '1.00×', 'every run (s)': alone.map((x) => x.toFixed(2)).join(' ') },
        { processes: '2 at once', 'round (s)': p.toFixed(2), 'rounds done per second, both processes': (2 / p).toFixed(2), 'vs 1 alone': `${((2 / p) / (1 / a)).toFixed(2)}×`, 'every run (s)': pair.map((x) => x.toFixed(2)).join(' ') },
      ]),
      '',
      `Two processes that share nothing do ${((2 * a) / p).toFixed(2)}× the work of one in the same time on this machine: the ceiling for \`--workers 2\` (whose threads train the same rounds), before fedsim's own serial work.`,
      `Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, on ${availableParallelism()} cores; median of ${REPEATS}; the slower of each pair counts (a round ends with its last client). Weights digest the same in every process: ${[...digests][0].slice(0, 16)}…`,
    ].join('\n');
  },
};
