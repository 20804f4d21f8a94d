/**
 * Issue #17 benchmark, end to end: the Fashion-MNIST 2NN IID experiment
 * (scenarios/experiments/fashion-2nn-iid.yaml: 100 clients, C = 0.1, E = 1, B = 10, lr 0.05,
 * the central test set evaluated after every round) run by fedsim, against a plain PyTorch
 * FedAvg loop doing the same work (bench/python/fedavg.py), one thread each.
 *
 *   npm run bench -- fedavg-e2e [--rounds 100] [--backend wasm]
 *
 * fedsim runs the experiment file in process (loadScenario + runScenario, as `fedsim run`
 * does, without writing the log, results.json and report.html); a round's time is the wall
 * time between two rounds' progress updates, so it holds the 10 clients' local training,
 * the messages, the aggregation and the evaluation on the 10,000 test images. The first
 * round also holds reading and partitioning the data, so it is reported apart. It is not in
 * `npm run bench` with no names: 100 rounds take minutes.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { existsSync, readFileSync } from 'node:fs';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { describeBackend, initBackend, type BackendName } from '../src/runtime/backend.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';
import { benchOption, numberOption } from './bench-options.js';
import { INSTALL_HINT, findTorchPython, pythonEnv, pythonScript } from './compute-python.js';
import { table } from './timing.js';

const FILE = join(fileURLToPath(new URL('..', import.meta.url)), 'scenarios', 'experiments', 'fashion-2nn-iid.yaml');
/** The wall time of 100 rounds before issue #17 (BENCHMARKS.md, "Fashion-MNIST …": 4 min 53 s, wasm). */
const BEFORE_SECONDS_100_ROUNDS = 293;

interface RunTimes {
  total: number;
  /** Seconds of each round (the first includes loading the data). */
  rounds: number[];
  accuracy: Array<number | undefined>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function runFedsim(rounds: number, log: (line: string) => void): Promise<RunTimes> {
  const scenario = await loadScenario(FILE, { params: { rounds } });
  const marks: number[] = [];
  const started = performance.now();
  const outcome = await runScenario(scenario, {
    keepLog: false,
    progress: {
      next: (update) => {
        marks.push(performance.now());
        if (marks.length % 10 === 0 || marks.length === rounds) log(`fedsim: ${update.label}`);
      },
    },
  });
  const total = (performance.now() - started) / 1000;
  const result = outcome.result as FedAvgExperimentResult | undefined;
  if (!outcome.ok || !result) {
    const why = outcome.failures.map((f) => `${f.name}: ${f.message}`).join('; ');
    throw new Error(`fedavg-e2e: ${FILE} failed (${why}); run \`fedsim run ${FILE} --param rounds=${rounds}\` to see the whole run`);
  }
  if (marks.length !== rounds) throw new Error(`fedavg-e2e: expected ${rounds} progress updates (one per round), got ${marks.length}`);
  return {
    total,
    rounds: marks.map((t, i) => (t - (i === 0 ? started : marks[i - 1])) / 1000),
    accuracy: result.perRound.map((r) => r.testAccuracy),
  };
}

interface PythonSummary {
  rounds: Array<{ round: number; seconds: number; trainSeconds: number; testAccuracy: number }>;
  setupSeconds: number;
  totalSeconds: number;
  torch: string;
  threads: number;
}

async function runPytorch(python: string, experiment: Record<string, any>, rounds: number, log: (line: string) => void): Promise<PythonSummary> {
  const args = [
    pythonScript('fedavg.py'),
    '--data', experiment.data.dir,
    '--rounds', String(rounds),
    '--clients', String(experiment.data.clients),
    '--fraction', String(experiment.fraction),
    '--epochs', String(experiment.localEpochs),
    '--batch', String(experiment.batchSize),
    '--lr', String(experiment.lr),
    '--layers', experiment.model.layers.join(','),
    '--seed', String(experiment.seed ?? 0),
  ];
  const child = spawn(python, args, { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  createInterface({ input: child.stderr }).on('line', (line) => {
    try {
      const row = JSON.parse(line) as { round: number; testAccuracy: number };
      if (row.round % 10 === 0 || row.round === rounds) log(`PyTorch: round ${row.round}/${rounds}, test accuracy ${row.testAccuracy.toFixed(4)}`);
    } catch {
      errors = (errors + line + '\n').slice(-4000);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`fedavg-e2e: ${python} ${args.join(' ')} exited with ${code}:\n${errors}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PythonSummary;
}

const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(', ');
const minutes = (s: number) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

export const benchmark = {
  name: 'fedavg-e2e',
  title: 'FedAvg end to end: Fashion-MNIST 2NN IID (100 clients, C = 0.1, E = 1, B = 10), fedsim vs a plain PyTorch loop (issue #17)',
  async run(): Promise<string> {
    const rounds = numberOption('rounds', 100, 1);
    if (!Number.isInteger(rounds)) throw new Error(`--rounds ${rounds}: expected a whole number of rounds`);
    const experiment = parse(readFileSync(FILE, 'utf8')) as Record<string, any>;
    if (!existsSync(experiment.data.dir)) {
      return `Skipped: the data set is not at ${experiment.data.dir} (${FILE} reads it); install it with \`apt-get install dataset-fashion-mnist\`.`;
    }
    const log = (line: string) => console.error(`[fedavg-e2e] ${line}`);
    const out: string[] = [];
    const backend = await initBackend(benchOption('backend') as BackendName | undefined);
    out.push(`${rounds} rounds; fedsim backend ${backend} ${describeBackend().version} (${describeBackend().detail}); ${new Date().toISOString()}`);

    out.push(`load average before fedsim (1, 5, 15 min): ${loadNow()}`);
    log(`fedsim: ${rounds} rounds of ${FILE}`);
    const fedsim = await runFedsim(rounds, log);

    const python = findTorchPython();
    let torch: PythonSummary | undefined;
    if (!python) out.push(INSTALL_HINT);
    else {
      out.push(`load average before PyTorch (1, 5, 15 min): ${loadNow()}`);
      log(`PyTorch: ${rounds} rounds (${python} bench/python/fedavg.py)`);
      torch = await runPytorch(python, experiment, rounds, log);
    }
    out.push(`load average at end (1, 5, 15 min): ${loadNow()}`, '');

    const perRoundFedsim = median(fedsim.rounds.slice(1));
    const perRoundTorch = torch ? median(torch.rounds.slice(1).map((r) => r.seconds)) : NaN;
    const at = (accuracy: ReadonlyArray<number | undefined>) => {
      const marks = [1, 10, 50, 100, rounds].filter((r, i, a) => r <= rounds && a.indexOf(r) === i);
      return marks.map((r) => `${r}: ${accuracy[r - 1]?.toFixed(4) ?? '—'}`).join(', ');
    };
    const rows: Array<Record<string, string>> = [
      {
        run: `fedsim ${backend}, \`runScenario\` of fashion-2nn-iid.yaml`,
        'wall time': minutes(fedsim.total),
        'first round (incl. loading data)': `${fedsim.rounds[0].toFixed(2)} s`,
        'per round (median of the rest)': Number.isNaN(perRoundFedsim) ? '—' : `${perRoundFedsim.toFixed(3)} s`,
        '100 rounds at that pace': Number.isNaN(perRoundFedsim) ? '—' : minutes(fedsim.rounds[0] + 99 * perRoundFedsim),
        'test accuracy after round': at(fedsim.accuracy),
        'per round vs PyTorch': torch ? `${(perRoundFedsim / perRoundTorch).toFixed(2)}×` : '—',
      },
    ];
    if (torch) {
      rows.push({
        run: `PyTorch ${torch.torch}, ${torch.threads} thread, bench/python/fedavg.py`,
        'wall time': minutes(torch.totalSeconds),
        'first round (incl. loading data)': `${(torch.setupSeconds + torch.rounds[0].seconds).toFixed(2)} s`,
        'per round (median of the rest)': `${perRoundTorch.toFixed(3)} s (training ${median(torch.rounds.slice(1).map((r) => r.trainSeconds)).toFixed(3)} s)`,
        '100 rounds at that pace': minutes(torch.setupSeconds + torch.rounds[0].seconds + 99 * perRoundTorch),
        'test accuracy after round': at(torch.rounds.map((r) => r.testAccuracy)),
        'per round vs PyTorch': '1.00×',
      });
    }
    rows.push({
      run: 'fedsim wasm before issue #17 (BENCHMARKS.md, `fedsim run`, 100 rounds)',
      'wall time': minutes(BEFORE_SECONDS_100_ROUNDS),
      'first round (incl. loading data)': '—',
      'per round (median of the rest)': `${(BEFORE_SECONDS_100_ROUNDS / 100).toFixed(2)} s (mean)`,
      '100 rounds at that pace': minutes(BEFORE_SECONDS_100_ROUNDS),
      'test accuracy after round': '100: 0.867',
      'per round vs PyTorch': torch ? `${(BEFORE_SECONDS_100_ROUNDS / 100 / perRoundTorch).toFixed(2)}×` : '—',
    });
    out.push(table(rows));
    return out.join('\n');
  },
};
