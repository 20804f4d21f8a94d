/**
 * TrainingPool: worker threads that train fits (training-task.ts) while the simulation
 * runs on its own thread, and hand each result back SYNCHRONOUSLY.
 *
 * Why synchronous: actor handlers are synchronous (DESIGN.md), and a client's handler is
 * where the result is needed, in the middle of a simulation step. So the simulation never
 * awaits a worker: it sends a round's trainings off as soon as their fits are sent (the
 * prefetcher, fit-prefetcher.ts), keeps stepping, and when a fit is delivered the client
 * takes its result — blocking in Atomics.wait until that worker is done if it is not yet,
 * then reading the result with receiveMessageOnPort. Nothing about the threads — how many,
 * which finished first — reaches the simulation: the steps, their order and every value
 * are what they would be without the pool. (This is also why the pool is not piscina or
 * tinypool: both hand results back only through the event loop, which a blocked step
 * never returns to.)
 *
 * Workers start the simulation's tfjs backend (backend.ts); `ready()` refuses a pool whose
 * threads run another backend or kernel build than the simulation's thread, whose results
 * could differ in the last bit.
 *
 * A worker thread loads fedsim itself: from dist/ as plain JavaScript, or, in a source
 * checkout, from src/ through tsx, which it registers first (bootstrap below).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { type BackendDescription, type BackendName, BACKEND_NAMES, activeBackend, describeBackend } from '../../runtime/backend.js';
import { FlConfigError, FlFault, FlInvariantError } from '../errors.js';
import type { TaskOutcome, TrainingTask } from './training-task.js';
import type { TrainingWorkerData } from './training-worker.js';

/** More threads than this is a mistake (each holds its own tfjs backend and model copies), not a speed-up. */
export const MAX_WORKERS = 64;

/** Checks a worker count (`--workers`, runFederated's `workers`): a whole number from 1 to MAX_WORKERS. */
export function parseWorkers(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new FlConfigError(
      `${where}: expected a whole number of worker threads from 1 to ${MAX_WORKERS}, got ${JSON.stringify(value)}; 1 trains every client on the simulation's thread, and this machine has ${availableParallelism()} cores, so up to ${availableParallelism()} threads help`,
      { field: 'workers' },
    );
  }
  return n;
}

interface PoolThread {
  worker: Worker;
  results: MessagePort;
  /** Tasks sent and not yet answered (to send the next task to the least loaded thread). */
  queued: number;
  ready: Promise<BackendDescription>;
}

/** The file a thread runs: next to this one, .ts in a source checkout, .js in dist/. */
function workerFile(): URL {
  const self = import.meta.url;
  return new URL(`./training-worker${self.endsWith('.ts') ? '.ts' : '.js'}`, self);
}

/**
 * What a thread runs first: an import of the worker file — after registering tsx in the
 * thread when the file is TypeScript (tsx's --import hooks do not reach ES modules a worker
 * thread imports, and bin/fedsim.js registers tsx in-process anyway).
 */
function bootstrap(file: URL): string {
  const load = `import(${JSON.stringify(file.href)})`;
  if (!file.pathname.endsWith('.ts')) return load;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return ${load}; })`;
}

/** The backend's identity without how it was chosen (which differs between threads and says nothing of the numbers). */
const buildOf = (b: BackendDescription) => `${b.name} ${b.version} (${b.detail.split(';')[0]})`;

export class TrainingPool {
  readonly threads: number;
  readonly #pool: PoolThread[] = [];
  /**
   * [0] is bumped by a worker after each outcome it posts: what a waiting thread sleeps on;
   * [1 + i] is set when thread i exits, so a wait for a task it held ends (that client trains inline).
   */
  readonly #signal: Int32Array;
  /** The thread each pending task was sent to. */
  readonly #threadOf = new Map<number, number>();
  /** Outcomes received and not yet taken, of tasks still wanted. */
  readonly #outcomes = new Map<number, TaskOutcome>();
  readonly #wanted = new Set<number>();
  #nextId = 0;
  #closed = false;
  /** Outcomes handed to clients: trained results, and failures (the client then trained inline). For tests and benches; the simulation never reads it. */
  readonly stats = { taken: 0, failed: 0 };
  readonly #backend: BackendName;

  /** Starts `threads` workers (1 ≤ threads ≤ MAX_WORKERS) on the tfjs backend this thread runs. */
  constructor(threads: number) {
    this.threads = parseWorkers(threads, 'TrainingPool');
    const backend = activeBackend();
    if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
      throw new FlConfigError(`TrainingPool: the simulation runs tfjs backend '${backend}', which fedsim cannot start in a worker thread; start one of ${BACKEND_NAMES.join(', ')} (initBackend) or train without workers`, { field: 'workers' });
    }
    this.#backend = backend as BackendName;
    this.#signal = new Int32Array(new SharedArrayBuffer(4 * (1 + this.threads)));
    const code = bootstrap(workerFile());
    for (let i = 0; i < this.threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const workerData: TrainingWorkerData = { backend: this.#backend, results: port2, signal: this.#signal, index: i };
      const worker = new Worker(code, { eval: true, workerData, transferList: [port2] });
      // A pool nobody closed must not keep the process alive.
      worker.unref();
      port1.unref();
      const ready = new Promise<BackendDescription>((resolve, reject) => {
        const onMessage = (message: { kind: string; backend?: BackendDescription; error?: string }) => {
          worker.off('error', reject);
          if (message.kind === 'ready') resolve(message.backend!);
          else reject(new FlFault(message.error ?? 'the worker thread failed to start', { op: 'TrainingPool' }));
        };
        worker.once('message', onMessage);
        worker.once('error', reject);
      });
      ready.catch(() => {}); // surfaced by ready()
      this.#pool.push({ worker, results: port1, queued: 0, ready });
    }
  }

  /**
   * Resolves once every thread runs the simulation's backend; rejects, saying which differs,
   * when one runs another (its results could differ) or could not start. Call it before any
   * task's result is used.
   */
  async ready(): Promise<void> {
    const expected = buildOf(describeBackend());
    for (const [i, thread] of this.#pool.entries()) {
      let found: BackendDescription;
      try {
        found = await thread.ready;
      } catch (error) {
        throw new FlConfigError(`TrainingPool: worker thread ${i} did not start: ${(error as Error).message}`, { field: 'workers' });
      }
      if (buildOf(found) !== expected) {
        throw new FlConfigError(`TrainingPool: worker thread ${i} runs ${buildOf(found)}, the simulation ${expected}; their results could differ in the last bit, so the pool is not used. Train without workers, or start the same backend build in both`, { field: 'workers' });
      }
    }
  }

  /** Sends a task to the least loaded thread; returns its id for `wait` or `discard`. */
  submit(task: TrainingTask): number {
    if (this.#closed) throw new FlConfigError('TrainingPool.submit: the pool is closed; pass a pool that is still open (or `workers: N`, which makes one per run)', { op: 'TrainingPool.submit' });
    this.#drain();
    const id = this.#nextId++;
    const index = this.#pool.reduce((best, t, i) => (t.queued < this.#pool[best].queued ? i : best), 0);
    const thread = this.#pool[index];
    thread.queued++;
    this.#wanted.add(id);
    this.#threadOf.set(id, index);
    thread.worker.postMessage({ id, task });
    return id;
  }

  /** The outcome of task `id`, blocking this thread until its worker has answered. */
  wait(id: number): TaskOutcome {
    if (!this.#wanted.has(id)) throw new FlInvariantError(`TrainingPool.wait(${id}): no such task is pending (already taken or discarded)`, { op: 'TrainingPool.wait' });
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      this.#drain();
      const outcome = this.#outcomes.get(id);
      if (outcome) {
        this.#forget(id);
        if (outcome.ok) this.stats.taken++;
        else this.stats.failed++;
        return outcome;
      }
      if (Atomics.load(this.#signal, 1 + this.#threadOf.get(id)!) !== 0) {
        this.#forget(id);
        this.stats.failed++;
        return { id, ok: false, error: `worker thread ${this.#threadOf.get(id)} exited before answering` };
      }
      // Sleeps until a worker posts another outcome (or at once, if one did since `seen` was read).
      Atomics.wait(this.#signal, 0, seen);
    }
  }

  /** Forgets task `id`: its outcome is dropped when it arrives. */
  discard(id: number): void {
    this.#forget(id);
  }

  #forget(id: number): void {
    this.#wanted.delete(id);
    this.#outcomes.delete(id);
    this.#threadOf.delete(id);
  }

  /** Tasks sent and not yet answered, over all threads (for tests and diagnostics). */
  get inFlight(): number {
    this.#drain();
    return this.#pool.reduce((n, t) => n + t.queued, 0);
  }

  /** Stops the threads (tasks under way are abandoned). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#outcomes.clear();
    this.#wanted.clear();
    this.#threadOf.clear();
    await Promise.all(this.#pool.map(async (t) => {
      t.results.close();
      await t.worker.terminate();
    }));
  }

  /** Takes every outcome the threads have posted so far. */
  #drain(): void {
    for (const thread of this.#pool) {
      for (let received = receiveMessageOnPort(thread.results); received !== undefined; received = receiveMessageOnPort(thread.results)) {
        const outcome = received.message as TaskOutcome;
        thread.queued--;
        if (this.#wanted.has(outcome.id)) this.#outcomes.set(outcome.id, outcome);
      }
    }
  }
}
