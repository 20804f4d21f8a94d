/**
 * Issue #17 benchmark: fedsim's local training against the same model in PyTorch, one
 * thread each, in one run.
 *
 *   npm run bench -- compute [--reps 5] [--seconds 1] [--backends wasm,cpu] [--check-steps 5]
 *
 * Models (fedsim built-ins; the same modules in torch, bench/python/torch_worker.py):
 *  - McMahan's 2NN, mlp 784-200-200-10, at B = 10 and B = 50;
 *  - McMahan's CNN (cnn spec: conv5×5·32, pool, conv5×5·64, pool, dense 512, dense 10), B = 10;
 *  - a LeNet-5-sized configuration of the same cnn (conv 6, conv 16, dense 120), B = 10.
 * Sides: fedsim's `trainLocal` on each tfjs backend that starts here (wasm, cpu; tfjs-node
 * when installed), and PyTorch in a long-lived Python child (torch.set_num_threads(1), plain
 * torch.optim.SGD, lr 0.05, the loop a PyTorch FL client runs).
 *
 * 1. Identical maths: both start from fedsim's seeded initial weights (converted to torch's
 *    layout, compute-layout.ts) and take the same batches in the same order — each step is
 *    one `trainLocal` call on exactly one batch, so fedsim's shuffle only permutes rows
 *    inside the batch, which leaves its mean loss and gradient as they are. The losses of
 *    the first steps must agree to 1e-4, and so must the weights after them; a mismatch is
 *    printed and makes the command exit non-zero.
 * 2. Throughput: 600 samples (a FedAvg client's share of MNIST), E epochs sized so one
 *    repetition lasts about --seconds (a side too slow for one epoch trains on fewer samples),
 *    repeated --reps times with the sides interleaved (fedsim, PyTorch, fedsim on the next
 *    backend; reversed on every other repetition, so a drift in the machine's load is shared).
 *    Each side times only its training call in its own process; the median is reported.
 * 3. The machine's fp32 peak: numpy's float32 matmul of a 2048² square on one thread, by the
 *    same Python (so on the same BLAS), best of 10, before and after the cases (load from other
 *    processes only ever lowers it); each side's throughput × FLOP per sample
 *    (compute-flops.ts) is reported as a fraction of it.
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { createModel, nn, trainLocal, type ClientData } from '../src/fl/index.js';
import type { BuiltinSpec } from '../src/fl/models/spec.js';
import { BackendUnavailableError, describeBackend, initBackend, type BackendName } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/index.js';
import { benchOption, numberOption } from './bench-options.js';
import { sampleFlops } from './compute-flops.js';
import { toTorchInputs, toTorchParams, torchInputShape } from './compute-layout.js';
import { INSTALL_HINT, type TorchHello, TorchWorker, findTorchPython, float32FromBase64, toBase64 } from './compute-python.js';
import { fmt, table } from './timing.js';

const SEED = 1;
const LR = 0.05;
/** Samples per client in McMahan's MNIST runs (60,000 / 100): the size of one local data set. */
const CLIENT_SAMPLES = 600;
const TOLERANCE = 1e-4;

interface Case {
  label: string;
  spec: BuiltinSpec;
  batch: number;
}

const MLP = nn.mlp([784, 200, 200, 10]);
const CNN = nn.cnn();
const LENET = nn.cnn({ filters: [6, 16], hidden: 120 });
const CASES: Case[] = [
  { label: '2NN 784-200-200-10', spec: MLP, batch: 10 },
  { label: '2NN 784-200-200-10', spec: MLP, batch: 50 },
  { label: 'CNN conv32-conv64-dense512 (McMahan)', spec: CNN, batch: 10 },
  { label: 'CNN conv6-conv16-dense120 (LeNet-5-sized)', spec: LENET, batch: 10 },
];

/** Seeded synthetic 28×28 "images" in [0, 1]: a mean pattern per class plus noise (the values do not change the work). */
function makeData(n: number): ClientData {
  const rng = createStream(SEED, 'bench/compute-data');
  const features = 784;
  const means = Array.from({ length: 10 }, () => Float32Array.from({ length: features }, () => rng.next()));
  const x = new Float32Array(n * features);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(10);
    for (let j = 0; j < features; j++) x[i * features + j] = means[y[i]][j] * 0.5 + rng.next() * 0.5;
  }
  return { x, y };
}

const rowsOf = (data: ClientData, start: number, end: number): ClientData => ({ x: data.x.subarray(start * 784, end * 784), y: data.y.subarray(start, end) });

/** fedsim's seeded initial weights of `spec` (the same for every backend and for PyTorch). */
function initialModel(spec: BuiltinSpec) {
  return createModel(spec, createStream(SEED, 'model/init'));
}

/** One side of a case: what it trains on and how it is timed. */
interface Side {
  name: string;
  backend?: BackendName;
  /** Samples and epochs of one timed repetition (set by calibrate). */
  n: number;
  epochs: number;
  reps: number;
  rates: number[];
}

/** Trains once with fedsim on `backend`; returns samples/s (only trainLocal is timed). */
async function fedsimRun(spec: BuiltinSpec, backend: BackendName, data: ClientData, n: number, epochs: number, batch: number, rep: number): Promise<number> {
  await initBackend(backend);
  const model = initialModel(spec);
  try {
    const rng = createStream(SEED, `bench/compute-shuffle/${rep}`);
    const start = performance.now();
    const result = trainLocal(model, rowsOf(data, 0, n), { epochs, batchSize: batch, lr: LR }, rng);
    const seconds = (performance.now() - start) / 1000;
    if (!Number.isFinite(result.meanLoss)) throw new Error(`fedsim ${backend}: training diverged (mean loss ${result.meanLoss})`);
    return result.samplesSeen / seconds;
  } finally {
    model.dispose();
  }
}

async function torchRun(worker: TorchWorker, n: number, epochs: number, batch: number, rep: number): Promise<number> {
  const r = await worker.request<{ seconds: number; samples: number; meanLoss: number }>({ op: 'train', lr: LR, batch, epochs, n, seed: rep });
  if (!Number.isFinite(r.meanLoss)) throw new Error(`PyTorch: training diverged (mean loss ${r.meanLoss})`);
  return r.samples / r.seconds;
}

/**
 * Sizes one repetition to about `seconds`: a warm-up run on one batch (JIT, kernel set-up),
 * then one on an estimate, whose rate decides. A side too slow for a whole client epoch in
 * `seconds` trains on fewer samples (at least one batch) and repeats fewer times.
 */
async function calibrate(side: Side, run: (n: number, epochs: number, rep: number) => Promise<number>, batch: number, seconds: number, reps: number): Promise<void> {
  const size = (rate: number) => {
    const want = rate * seconds;
    if (want >= CLIENT_SAMPLES) return { n: CLIENT_SAMPLES, epochs: Math.max(1, Math.round(want / CLIENT_SAMPLES)) };
    return { n: Math.max(batch, Math.min(CLIENT_SAMPLES, Math.round(want / batch) * batch)), epochs: 1 };
  };
  let rate = await run(batch, 1, -1);
  let plan = size(rate);
  if (plan.n * plan.epochs > batch) {
    rate = await run(plan.n, plan.epochs, -2);
    plan = size(rate);
  }
  side.n = plan.n;
  side.epochs = plan.epochs;
  // Repetitions of a very slow side (the cpu backend's CNN: seconds per step) are capped at about 30 s in all.
  const repSeconds = (plan.n * plan.epochs) / rate;
  side.reps = Math.max(1, Math.min(reps, Math.floor(30 / repSeconds)));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface CheckRow {
  model: string;
  B: number;
  backend: string;
  fedsim: number[];
  torch: number[];
  lossDiff: number;
  weightDiff: number;
}

/** The identical-maths check of one case on one backend (torch's answer is shared by the backends). */
async function checkCase(c: Case, backend: BackendName, data: ClientData, steps: number, torch: { losses: number[]; params: { shape: number[]; data: string }[] }): Promise<CheckRow> {
  await initBackend(backend);
  const model = initialModel(c.spec);
  try {
    const rng = createStream(SEED, 'bench/compute-check');
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push(trainLocal(model, rowsOf(data, s * c.batch, (s + 1) * c.batch), { epochs: 1, batchSize: c.batch, lr: LR }, rng).meanLoss);
    const ours = toTorchParams(c.spec, model.getWeights());
    let weightDiff = 0;
    ours.forEach((p, i) => {
      const theirs = float32FromBase64(torch.params[i].data);
      if (theirs.length !== p.data.length) throw new Error(`identical-maths check: parameter ${i} has ${p.data.length} values in fedsim, ${theirs.length} in PyTorch`);
      for (let j = 0; j < theirs.length; j++) weightDiff = Math.max(weightDiff, Math.abs(theirs[j] - p.data[j]));
    });
    const lossDiff = Math.max(...losses.map((l, s) => Math.abs(l - torch.losses[s])));
    return { model: c.label, B: c.batch, backend, fedsim: losses, torch: torch.losses, lossDiff, weightDiff };
  } finally {
    model.dispose();
  }
}

/** The fedsim backends to compare, and a note on those that cannot start here. */
async function availableBackends(requested: BackendName[]): Promise<{ backends: BackendName[]; notes: string[] }> {
  const backends: BackendName[] = [];
  const notes: string[] = [];
  for (const name of ['tensorflow', ...requested.filter((b) => b !== 'tensorflow')] as BackendName[]) {
    try {
      await initBackend(name);
      backends.push(name);
      notes.push(`${name}: ${describeBackend().version} (${describeBackend().detail})`);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      notes.push(`${name === 'tensorflow' ? 'tensorflow (tfjs-node)' : name}: not measured — ${error.reason}${name === 'tensorflow' ? ' (optional dependency; its install downloads libtensorflow)' : ''}`);
    }
  }
  return { backends, notes };
}

function machine(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1].split(' ') ?? [];
  const simd = ['avx2', 'fma', 'avx512f'].filter((f) => flags.includes(f)).join(' ');
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1];
  return [`cpu: ${model}${mhz ? ` @ ${Math.round(Number(mhz))} MHz` : ''}, ${cpus().length} cores (${simd}); node ${process.version}; tfjs ${tf.version_core}`];
}

/** A ratio with three decimals, or two significant digits when it is below 0.1 (the cpu backend's CNN: 0.00047×). */
const ratio = (r: number) => (r >= 0.1 ? r.toFixed(3) : r.toPrecision(2));

/** A fraction as a percentage, one decimal, or two significant digits below 1% (the cpu backend's CNN: 0.033%). */
const percent = (f: number) => (f >= 0.01 ? (100 * f).toFixed(1) : (100 * f).toPrecision(2));

async function measurePeak(worker: TorchWorker): Promise<{ gflops: number; blas: string }> {
  return worker.request<{ gflops: number; blas: string }>({ op: 'peak', size: 2048, repeats: 10 });
}

const loadNow = () => loadavg().map((l) => l.toFixed(2)).join(', ');

export const benchmark = {
  name: 'compute',
  title: 'Training speed: fedsim trainLocal vs PyTorch, one thread each (issue #17)',
  async run(): Promise<string> {
    const reps = numberOption('reps', 5, 1);
    const seconds = numberOption('seconds', 1, 0.05);
    const checkSteps = numberOption('check-steps', 5, 1);
    const requested = (benchOption('backends') ?? 'wasm,cpu').split(',').map((b) => b.trim()) as BackendName[];
    const out: string[] = [];
    const log = (line: string) => console.error(`[compute] ${line}`);

    out.push(...machine(), `load average at start (1, 5, 15 min): ${loadNow()}; ${new Date().toISOString()}`);
    const { backends, notes } = await availableBackends(requested);
    out.push(...notes.map((n) => `fedsim backend ${n}`));
    if (backends.length === 0) throw new Error(`compute: none of the backends ${requested.join(', ')} starts here`);

    const python = findTorchPython();
    let worker: TorchWorker | undefined;
    /** GFLOP/s measured before and after the cases: the other core's load lowers a measurement, never raises it, so the best one counts. */
    const peaks: Array<{ gflops: number; blas: string }> = [];
    let peak: number | undefined;
    if (!python) out.push('', INSTALL_HINT);
    else {
      worker = new TorchWorker(python);
      const hello = await worker.request<TorchHello>({ op: 'hello' });
      out.push(`PyTorch ${hello.torch} (${hello.executable}, Python ${hello.python}), numpy ${hello.numpy}, ${hello.threads} thread, BLAS: ${hello.blas} [${hello.blasLibraries.join(', ')}], oneDNN ${hello.mkldnn ? 'on' : 'off'}`);
      if (hello.blas.startsWith('reference')) {
        out.push(
          '**Warning: PyTorch and numpy run on the reference BLAS (Debian\'s libblas3, unoptimised Fortran), several times slower than an optimised one: ' +
            'the comparison below flatters fedsim and the "peak" is not the machine\'s.** Fix: `apt-get install libopenblas0-pthread` (switches libblas.so.3 system-wide), ' +
            'or without touching the system: `apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb /tmp/openblas` and ' +
            'FEDSIM_BENCH_BLAS_DIR=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread.',
        );
      }
      log('measuring the fp32 peak (numpy matmul, 2048², 1 thread)');
      peaks.push(await measurePeak(worker));
    }

    const data = makeData(CLIENT_SAMPLES);
    const checks: CheckRow[] = [];
    const measured: Array<{ c: Case; flops: number; sides: Side[] }> = [];
    try {
      for (const c of CASES) {
        const flops = sampleFlops(c.spec);
        if (worker) {
          const init = initialModel(c.spec);
          const params = toTorchParams(c.spec, init.getWeights()).map((p) => ({ shape: p.shape, data: toBase64(p.data) }));
          init.dispose();
          await worker.request({ op: 'model', spec: c.spec, inputShape: torchInputShape(c.spec), params });
          await worker.request({ op: 'data', n: CLIENT_SAMPLES, x: toBase64(toTorchInputs(c.spec, data.x, CLIENT_SAMPLES)), y: toBase64(data.y as Int32Array) });
          // The CNN on the cpu backend takes ~10 s a step: 3 steps say as much as 5.
          const steps = c.spec.kind === 'cnn' ? Math.min(checkSteps, 3) : checkSteps;
          log(`${c.label} B=${c.batch}: identical-maths check, ${steps} steps`);
          const torch = await worker.request<{ losses: number[]; params: { shape: number[]; data: string }[] }>({ op: 'steps', lr: LR, batch: c.batch, steps });
          for (const backend of backends) checks.push(await checkCase(c, backend, data, steps, torch));
        }

        const sides: Side[] = backends.map((backend) => ({ name: `fedsim ${backend}`, backend, n: 0, epochs: 0, reps: 0, rates: [] }));
        if (worker) sides.splice(1, 0, { name: 'PyTorch', n: 0, epochs: 0, reps: 0, rates: [] });
        const runOf = (side: Side) => (n: number, epochs: number, rep: number) => (side.backend ? fedsimRun(c.spec, side.backend, data, n, epochs, c.batch, rep) : torchRun(worker!, n, epochs, c.batch, rep));
        for (const side of sides) {
          log(`${c.label} B=${c.batch}: calibrating ${side.name}`);
          await calibrate(side, runOf(side), c.batch, seconds, reps);
        }
        for (let rep = 0; rep < reps; rep++) {
          const order = rep % 2 === 0 ? sides : [...sides].reverse();
          for (const side of order) if (rep < side.reps) side.rates.push(await runOf(side)(side.n, side.epochs, rep));
          log(`${c.label} B=${c.batch}: repetition ${rep + 1}/${reps}`);
        }
        measured.push({ c, flops: flops.training, sides });
      }
      if (worker) {
        log('measuring the fp32 peak again');
        peaks.push(await measurePeak(worker));
      }
    } finally {
      worker?.close();
    }

    if (peaks.length) {
      const best = peaks.reduce((a, b) => (b.gflops > a.gflops ? b : a));
      peak = best.gflops * 1e9;
      out.push(`fp32 peak, one thread: ${best.gflops.toFixed(1)} GFLOP/s (numpy float32 matmul 2048×2048, best of 10, ${best.blas}, OPENBLAS_NUM_THREADS=1; measured before and after the cases: ${peaks.map((p) => p.gflops.toFixed(1)).join(' and ')})`);
    }
    out.push(`load average at end (1, 5, 15 min): ${loadNow()}`, '');
    const rows: Array<Record<string, string>> = [];
    for (const { c, flops, sides } of measured) {
      const torchSide = sides.find((s) => !s.backend);
      const torchRate = torchSide ? median(torchSide.rates) : undefined;
      for (const side of sides) {
        const rate = median(side.rates);
        rows.push({
          model: c.label,
          B: String(c.batch),
          side: side.name,
          'samples/s (median)': fmt(rate),
          range: `${fmt(Math.min(...side.rates))}–${fmt(Math.max(...side.rates))}`,
          'work per rep': `${side.n} × ${side.epochs} ep × ${side.rates.length}`,
          'GFLOP/s': ((rate * flops) / 1e9).toFixed(2),
          'of fp32 peak': peak ? `${percent((rate * flops) / peak)}%` : '—',
          'fedsim / PyTorch': side.backend && torchRate ? `${ratio(rate / torchRate)}×` : '',
        });
      }
    }
    if (checks.length) {
      const failed = checks.filter((r) => !(r.lossDiff <= TOLERANCE && r.weightDiff <= TOLERANCE));
      out.push(
        `### Identical maths: same initial weights, same batches, loss of each step (before its update), tolerance ${TOLERANCE}`,
        '',
        table(
          checks.map((r) => ({
            model: r.model,
            B: String(r.B),
            backend: r.backend,
            'fedsim losses': r.fedsim.map((l) => l.toFixed(6)).join(' '),
            'PyTorch losses': r.torch.map((l) => l.toFixed(6)).join(' '),
            'max |Δ loss|': r.lossDiff.toExponential(1),
            'max |Δ weight| after these steps': r.weightDiff.toExponential(1),
            verdict: r.lossDiff <= TOLERANCE && r.weightDiff <= TOLERANCE ? 'same' : 'MISMATCH',
          })),
        ),
        '',
      );
      if (failed.length) {
        out.push(`**IDENTICAL-MATHS CHECK FAILED** for ${failed.map((r) => `${r.model} B=${r.B} on ${r.backend}`).join('; ')}: the throughput figures do not compare like with like.`, '');
        process.exitCode = 1;
      }
    }
    out.push(
      `### Throughput: samples/s, one thread each, lr ${LR}, plain SGD; FLOP per training sample: ` +
        CASES.filter((c, i) => CASES.findIndex((d) => d.spec === c.spec) === i)
          .map((c) => `${c.label.split(' (')[0]} ${fmt(sampleFlops(c.spec).training)}`)
          .join(', '),
      '',
      table(rows),
    );
    return out.join('\n');
  },
};
