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
 * What crosses to a thread per task is small: a client's data set and a round's global weights
 * go to a thread once and stay in its bounded cache (bounded-cache.ts), keyed by the data
 * set's id and the weights' digest (content-keys.ts); the pool keeps a picture of each
 * thread's cache, made by the same operations in the same order, and sends a value only when
 * the picture says the thread lacks it — as a fresh copy whose buffer is transferred, not
 * structured-cloned. A client goes back to the thread that holds its data unless that thread
 * has more than one task more than the least loaded (so the 10 clients of a round split
 * evenly, round after round, without moving data). A thread that says it lacks what a task
 * names (it restarted; the picture was wrong) gets the task again, carrying it.
 *
 * A thread that dies (terminate(), running out of memory) fails the tasks it held — those
 * clients train inline — and is started afresh for the next task sent its way.
 *
 * A worker thread loads fedsim itself: from dist/ as plain JavaScript, or, in a source
 * checkout, from src/ through tsx, which it registers first (bootstrap below).
 */
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { type BackendName, BACKEND_NAMES, activeBackend, describeBackend } from '../../runtime/backend.js';
import { BoundedCache, type CacheLimits } from './bounded-cache.js';
import { backendBuild } from './backend-build.js';
import { datasetBytes, weightsBytes } from './content-keys.js';
import { FlConfigError, FlFault, FlInvariantError } from '../errors.js';
import { parseWorkers } from './workers-count.js';
import type { TaskOutcome, ThreadTask, TrainingTask } from './training-task.js';
import { acceptChecks } from './result-checks.js';
import type { TrainingWorkerData } from './training-worker.js';

export { MAX_WORKERS, parseWorkers } from './workers-count.js';

interface PoolThread {
  worker: Worker;
  results: MessagePort;
  /** Tasks sent and not yet answered (to send the next task to the least loaded thread). */
  queued: number;
  /** Resolves to the backend build the thread runs (backend-build.ts). */
  ready: Promise<string>;
  /** The pool's picture of the thread's cache: the keys it holds, evicted as the thread evicts. */
  holds: BoundedCache<true>;
}

/** What each thread may keep of client data and global weights (per thread). */
export const DEFAULT_THREAD_CACHE: CacheLimits = { entries: 1024, bytes: 256 * 1024 * 1024 };

/**
 * What the pool's threads run instead of training themselves: a module that takes the same
 * TrainingWorkerData plus `settings`, answers tasks on the same result port, and says `ready`
 * with the backend build its results come from (the NATS bridge: src/fl/distributed/).
 */
export interface ThreadProgram {
  /** The module (a .ts file in a source checkout, .js in dist/). */
  file: URL;
  /** Passed to the thread as workerData.settings (structured-cloned). */
  settings: unknown;
  /** What error messages call a thread, e.g. 'NATS bridge'. */
  name: string;
}

export interface TrainingPoolOptions {
  /** Threads that forward tasks instead of training them (default: they train). */
  program?: ThreadProgram;
  /** The per-thread cache's limits (default DEFAULT_THREAD_CACHE): past them a thread forgets the least recently used, and gets it again when a task needs it. */
  cache?: Partial<CacheLimits>;
}

/** Module `name` (no extension) relative to `base` (a module's import.meta.url): .ts in a source checkout, .js in dist/. */
export function moduleFile(base: string, name: string): URL {
  return new URL(`${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
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

/**
 * A copy of `array` in a buffer of its own, to transfer: a structured clone of a big array costs
 * several times a copy (and `slice()` several times `set`, measured on V8 12: 6 ms vs 1.6 ms for 1.9 MB).
 */
function ownCopy<T extends Float32Array | Int32Array>(array: T): T {
  const copy = new (array.constructor as new (length: number) => T)(array.length);
  copy.set(array);
  return copy;
}

export class TrainingPool {
  readonly threads: number;
  readonly #pool: PoolThread[] = [];
  /**
   * [0] is bumped by a worker after each outcome it posts: what a waiting thread sleeps on;
   * [1 + i] is set when thread i exits, so a wait for a task it held ends (that client trains inline).
   */
  readonly #signal: Int32Array;
  readonly #cache: CacheLimits;
  readonly #backend: BackendName;
  readonly #build: string;
  readonly #code: string;
  readonly #program: ThreadProgram | undefined;
  /** What messages call a thread. */
  readonly #threadName: string;
  /** Each pending task, and the thread it was sent to (a task is sent again, whole, when a thread says it lacks its data). */
  readonly #pending = new Map<number, { task: TrainingTask; thread: number }>();
  /** Outcomes received and not yet taken, of tasks still wanted. */
  readonly #outcomes = new Map<number, TaskOutcome>();
  #nextId = 0;
  #closed = false;
  /**
   * Outcomes handed to clients (trained results, and failures: the client then trained inline);
   * data sets and weights sent to threads; tasks sent again because a thread lacked what they
   * named; threads started afresh. For tests and benches; the simulation never reads it.
   */
  readonly stats = { taken: 0, failed: 0, dataSent: 0, weightsSent: 0, resent: 0, restarts: 0 };

  /** Starts `threads` workers (1 ≤ threads ≤ MAX_WORKERS) on the tfjs backend this thread runs. */
  constructor(threads: number, options: TrainingPoolOptions = {}) {
    this.threads = parseWorkers(threads, 'TrainingPool');
    const backend = activeBackend();
    if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
      throw new FlConfigError(`TrainingPool: the simulation runs tfjs backend '${backend}', which fedsim cannot start in a worker thread; start one of ${BACKEND_NAMES.join(', ')} (initBackend) or train without workers`, { field: 'workers' });
    }
    this.#backend = backend as BackendName;
    this.#build = backendBuild(describeBackend());
    this.#cache = { ...DEFAULT_THREAD_CACHE, ...options.cache };
    for (const [name, value] of Object.entries(this.#cache)) {
      if (!Number.isInteger(value) || value < 1) throw new FlConfigError(`TrainingPool: cache.${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`, { field: `cache.${name}` });
    }
    this.#signal = new Int32Array(new SharedArrayBuffer(4 * (1 + this.threads)));
    this.#program = options.program;
    this.#threadName = options.program?.name ?? 'worker thread';
    this.#code = bootstrap(options.program?.file ?? moduleFile(import.meta.url, './training-worker'));
    for (let i = 0; i < this.threads; i++) this.#pool.push(this.#startThread(i));
  }

  #startThread(index: number): PoolThread {
    const { port1, port2 } = new MessageChannel();
    const workerData: TrainingWorkerData = { backend: this.#backend, build: this.#build, results: port2, signal: this.#signal, index, cache: this.#cache, settings: this.#program?.settings };
    const worker = new Worker(this.#code, { eval: true, workerData, transferList: [port2] });
    // A pool nobody closed must not keep the process alive.
    worker.unref();
    port1.unref();
    const ready = new Promise<string>((resolve, reject) => {
      const onMessage = (message: { kind: string; build?: string; error?: string }) => {
        worker.off('error', reject);
        if (message.kind === 'ready') resolve(message.build!);
        else reject(new FlFault(message.error ?? `the ${this.#threadName} failed to start`, { op: 'TrainingPool' }));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
    });
    ready.catch(() => {}); // surfaced by ready()
    // The thread's own exit hook does not run when it is terminated or dies hard; this one does, whenever this
    // thread's event loop runs (a thread started afresh in its place reuses the flag: only the current one may set it).
    worker.once('exit', () => {
      if (this.#pool[index]?.worker === worker) this.#markDead(index);
    });
    return { worker, results: port1, queued: 0, ready, holds: new BoundedCache<true>(this.#cache) };
  }

  /**
   * Resolves once every thread runs the simulation's backend; rejects, saying which differs,
   * when one runs another (its results could differ) or could not start. Call it before any
   * task's result is used. (A thread started afresh later checks its build itself, and
   * fails its tasks if it differs: training-worker.ts.)
   */
  async ready(): Promise<void> {
    for (const [i, thread] of this.#pool.entries()) {
      let found: string;
      try {
        found = await thread.ready;
      } catch (error) {
        throw new FlConfigError(`TrainingPool: ${this.#threadName} ${i} did not start: ${(error as Error).message}`, { field: 'workers' });
      }
      if (found !== this.#build) {
        throw new FlConfigError(`TrainingPool: ${this.#threadName} ${i} runs ${found}, the simulation ${this.#build}; their results could differ in the last bit, so the pool is not used. Train without workers, or start the same backend build in both`, { field: 'workers' });
      }
    }
  }

  /**
   * Sends a task to a thread — the one holding the client's data unless it has more than one
   * task more than the least loaded — and returns its id for `wait` or `discard`.
   */
  submit(task: TrainingTask): number {
    if (this.#closed) throw new FlConfigError('TrainingPool.submit: the pool is closed; pass a pool that is still open (or `workers: N`, which makes one per run)', { op: 'TrainingPool.submit' });
    this.#drain();
    const id = this.#nextId++;
    const least = this.#pool.reduce((best, t, i) => (t.queued < this.#pool[best].queued ? i : best), 0);
    const holder = this.#pool.findIndex((t) => t.holds.has(task.dataKey));
    const index = holder >= 0 && this.#pool[holder].queued <= this.#pool[least].queued + 1 ? holder : least;
    this.#pending.set(id, { task, thread: index });
    this.#send(id);
    return id;
  }

  /** Posts pending task `id` to its thread, carrying the data and weights the thread does not hold (restarting the thread if it died). */
  #send(id: number): void {
    const pending = this.#pending.get(id)!;
    if (Atomics.load(this.#signal, 1 + pending.thread) !== 0) this.#restart(pending.thread);
    const thread = this.#pool[pending.thread];
    const { task } = pending;
    const { weights, ...ins } = task.ins;
    const message: ThreadTask = { id, client: task.client, seed: task.seed, spec: task.spec, dataKey: task.dataKey, weightsKey: task.weightsKey, ins, state: task.state, hooks: task.hooks };
    const transfer: ArrayBuffer[] = [];
    // The same operations, in the same order, as the thread's cache makes on receiving it.
    if (thread.holds.get(task.dataKey) === undefined) {
      message.data = { x: ownCopy(task.data.x), y: ownCopy(task.data.y) };
      transfer.push(message.data.x.buffer as ArrayBuffer, message.data.y.buffer as ArrayBuffer);
      thread.holds.set(task.dataKey, true, datasetBytes(task.data));
      this.stats.dataSent++;
    }
    if (thread.holds.get(task.weightsKey) === undefined) {
      message.weights = weights.map(ownCopy);
      transfer.push(...message.weights.map((w) => w.buffer as ArrayBuffer));
      thread.holds.set(task.weightsKey, true, weightsBytes(weights));
      this.stats.weightsSent++;
    }
    thread.queued++;
    thread.worker.postMessage(message, transfer);
  }

  /** Replaces dead thread `index` by a fresh one (empty cache); the tasks it held fail (their clients train inline). */
  #restart(index: number): void {
    this.#drain();
    for (const [id, pending] of this.#pending) {
      if (pending.thread === index && !this.#outcomes.has(id)) this.#outcomes.set(id, { id, ok: false, error: `worker thread ${index} exited before answering` });
    }
    const dead = this.#pool[index];
    dead.results.close();
    void dead.worker.terminate();
    Atomics.store(this.#signal, 1 + index, 0);
    this.#pool[index] = this.#startThread(index);
    this.stats.restarts++;
  }

  /**
   * The outcome of task `id`, blocking this thread until its worker has answered. A trained result
   * comes with its weights sealed by the digests its thread computed, and whether they are finite
   * (result-checks.ts).
   */
  wait(id: number): TaskOutcome {
    if (!this.#pending.has(id)) throw new FlInvariantError(`TrainingPool.wait(${id}): no such task is pending (already taken or discarded)`, { op: 'TrainingPool.wait' });
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      this.#drain();
      const outcome = this.#outcomes.get(id);
      if (outcome) {
        this.#forget(id);
        if (!outcome.ok) {
          this.stats.failed++;
          return outcome;
        }
        this.stats.taken++;
        return { ...outcome, result: acceptChecks(outcome.result, outcome.checks) };
      }
      const thread = this.#pending.get(id)!.thread;
      if (Atomics.load(this.#signal, 1 + thread) !== 0) {
        this.#forget(id);
        this.stats.failed++;
        return { id, ok: false, error: `worker thread ${thread} exited before answering` };
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
    this.#pending.delete(id);
    this.#outcomes.delete(id);
  }

  /** Tasks sent and not yet answered, over all threads (for tests and diagnostics). */
  get inFlight(): number {
    this.#drain();
    return this.#pool.reduce((n, t) => n + t.queued, 0);
  }

  /**
   * Stops thread `index` as a crash would (for tests and diagnostics): the tasks it held
   * fail, and the next task sent its way starts it afresh.
   */
  async terminateThread(index: number): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || index >= this.threads) throw new FlConfigError(`TrainingPool.terminateThread: no thread ${JSON.stringify(index)}; the pool has threads 0 to ${this.threads - 1}`, { op: 'TrainingPool.terminateThread' });
    // Marked dead at once: the caller may be inside a simulation step, which never returns to the event loop.
    const terminated = this.#pool[index].worker.terminate();
    this.#markDead(index);
    await terminated;
  }

  /** Sets thread `index`'s exit flag, and wakes a wait that may be for one of its tasks. */
  #markDead(index: number): void {
    Atomics.store(this.#signal, 1 + index, 1);
    Atomics.add(this.#signal, 0, 1);
    Atomics.notify(this.#signal, 0);
  }

  /** Stops the threads (tasks under way are abandoned). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#outcomes.clear();
    this.#pending.clear();
    await Promise.all(this.#pool.map(async (t) => {
      t.results.close();
      await t.worker.terminate();
    }));
  }

  /** Takes every outcome the threads have posted so far; a task a thread lacked the data for goes back to it, carrying the data. */
  #drain(): void {
    for (const thread of this.#pool) {
      for (let received = receiveMessageOnPort(thread.results); received !== undefined; received = receiveMessageOnPort(thread.results)) {
        const outcome = received.message as TaskOutcome;
        thread.queued--;
        if (!this.#pending.has(outcome.id)) continue;
        if (!outcome.ok && outcome.missing) {
          const { thread: index } = this.#pending.get(outcome.id)!;
          // The thread lacks what the picture said it holds: the picture is wrong; start it over.
          this.#pool[index].holds.clear();
          this.stats.resent++;
          this.#send(outcome.id);
        } else this.#outcomes.set(outcome.id, outcome);
      }
    }
  }
}
