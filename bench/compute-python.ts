/**
 * The PyTorch side of the compute benchmarks: finds a Python that can `import torch`, and
 * drives bench/python/torch_worker.py as a long-lived child over JSON lines.
 *
 * Which Python: $FEDSIM_BENCH_PYTHON if set, else `python3` on PATH, else Debian's
 * /usr/bin/python3 (where apt's python3-torch lives even when PATH has another Python, a
 * pyenv one for instance). Every child runs on one thread (OMP_NUM_THREADS=1 and
 * OPENBLAS_NUM_THREADS=1: torch.set_num_threads alone does not reach a pthreads OpenBLAS).
 * $FEDSIM_BENCH_BLAS_DIR, if set, is put first on the child's LD_LIBRARY_PATH, to run
 * Debian's torch on another libblas.so.3 without changing the system (see BENCHMARKS.md).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PYTHON_ENV_VAR = 'FEDSIM_BENCH_PYTHON';
export const BLAS_DIR_ENV_VAR = 'FEDSIM_BENCH_BLAS_DIR';

/** How to get PyTorch when no candidate Python has it (printed instead of the comparison). */
export const INSTALL_HINT =
  'PyTorch is not importable by any candidate Python ($FEDSIM_BENCH_PYTHON, python3, /usr/bin/python3), so the comparison is skipped. ' +
  'Install it with `apt-get install python3-torch python3-numpy` (Debian/Ubuntu; it lands in /usr/bin/python3), or point ' +
  `${PYTHON_ENV_VAR} at a Python that has torch and numpy.`;

/** The environment of every Python child: one thread, and the optional BLAS directory first. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const blasDir = process.env[BLAS_DIR_ENV_VAR];
  if (blasDir) env.LD_LIBRARY_PATH = [blasDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/** The first candidate Python that imports torch and numpy, or undefined (then print INSTALL_HINT). */
export function findTorchPython(): string | undefined {
  const candidates = [process.env[PYTHON_ENV_VAR], 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  for (const python of new Set(candidates)) {
    const probe = spawnSync(python, ['-c', 'import torch, numpy'], { env: pythonEnv(), stdio: 'ignore', timeout: 120_000 });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/** The path of a script in bench/python/. */
export function pythonScript(name: string): string {
  return fileURLToPath(new URL(`./python/${name}`, import.meta.url));
}

export interface TorchHello {
  python: string;
  executable: string;
  torch: string;
  numpy: string;
  threads: number;
  mkldnn: boolean;
  /** OpenBLAS, MKL, BLIS, or "reference BLAS (libblas3)" (slow: see BENCHMARKS.md). */
  blas: string;
  blasLibraries: string[];
}

/** torch_worker.py as a child process; one request at a time (the bench is sequential). */
export class TorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: AsyncIterator<string>;
  private stderr = '';

  constructor(readonly python: string) {
    this.child = spawn(python, [pythonScript('torch_worker.py')], { env: pythonEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.answers = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async request<T>(request: { op: string } & Record<string, unknown>): Promise<T> {
    this.child.stdin.write(JSON.stringify(request) + '\n');
    const next = await this.answers.next();
    if (next.done) throw new Error(`torch_worker.py (${this.python}) exited during '${request.op}'; its stderr:\n${this.stderr}`);
    const answer = JSON.parse(next.value) as { ok: boolean; error?: string } & T;
    if (!answer.ok) throw new Error(`torch_worker.py '${request.op}' failed: ${answer.error}`);
    return answer;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** A Float32Array (or Int32Array) as base64 of its little-endian bytes, as the worker reads it. */
export function toBase64(array: Float32Array | Int32Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

export function float32FromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes); // aligned, own buffer
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
