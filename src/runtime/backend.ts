/**
 * Chooses and starts the tfjs compute backend every simulated actor trains on.
 *
 * Order of preference when nothing is requested: `tensorflow` (native
 * libtensorflow via @tensorflow/tfjs-node, an optional dependency whose
 * install downloads a binary, so it is often absent) → `wasm` (XNNPACK
 * compiled to WebAssembly, several times faster than cpu) → `cpu` (plain JS,
 * always there). A requested backend (argument, else the FEDSIM_BACKEND
 * environment variable) is used exactly or not at all: silently training on
 * a slower or numerically different backend than asked would make runs
 * incomparable.
 */
import { setBackendNameSource } from './backend-name.js';
import { FUSED_CNN_VERSION, FUSED_DENSE_VERSION, fusedCnnEnabled, fusedDenseEnabled, fusedDenseLabel } from './fused-dense/module.js';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerWasmKernels } from './wasm-kernels/register.js';

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_ENV_VAR = 'FEDSIM_BACKEND';

/** What a run log header records about the backend. */
export interface BackendDescription {
  /** tfjs backend name, e.g. `wasm`. */
  name: string;
  /** Version of the package providing it, e.g. `4.22.0`. */
  version: string;
  /** Build features and how the choice was made, for humans. */
  detail: string;
}

/** A backend that exists in principle but cannot run in this process. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
    readonly remedy: string,
    source: string,
  ) {
    super(
      `Compute backend '${backend}' is unavailable (${source}): ${reason}. ` +
        `To fix: ${remedy}. Alternatively request another backend ` +
        `(${BACKEND_NAMES.filter((n) => n !== backend).join(' or ')}), or leave ` +
        `${BACKEND_ENV_VAR} unset to choose automatically (${BACKEND_NAMES.join(' → ')}).`,
    );
    this.name = 'BackendUnavailableError';
  }
}

/** Why a backend could not be used: reason + what the user can do about it. */
interface Unavailable {
  reason: string;
  remedy: string;
}

interface WasmInfo {
  version: string;
  simd: boolean;
  /** XNNPACK's thread count, read once the backend exists. */
  threads: () => number;
  /** Kernels served by fedsim's code instead of the native build (see wasm-kernels/). */
  jsKernels: readonly string[];
}

/** The last initBackend() request, so a repeat of it can be a no-op. */
let current: { key: string; promise: Promise<string> } | undefined;
/** How the active backend was chosen, for describeBackend(). */
let choiceNote = '';
let wasmLoad: Promise<WasmInfo> | undefined;
let wasmInfo: WasmInfo | undefined;
let nodeProbe: Promise<{ version: string } | Unavailable> | undefined;
let nodeInfo: { version: string } | undefined;

/**
 * Starts the compute backend and returns its tfjs name. `preferred`, else
 * FEDSIM_BACKEND, pins the choice; otherwise the first available of
 * tensorflow → wasm → cpu wins. Calling again with the same choice while that
 * backend is still active is a no-op (concurrent calls share one start-up).
 */
export async function initBackend(preferred?: BackendName): Promise<string> {
  const envValue = process.env[BACKEND_ENV_VAR]?.trim() ?? '';
  // An explicit argument (a CLI flag, a test) is more specific than the
  // environment, so it wins.
  const requested = preferred ?? (envValue === '' ? undefined : envValue);
  const source =
    preferred !== undefined ? 'requested explicitly' : `requested by ${BACKEND_ENV_VAR}=${envValue}`;
  if (requested !== undefined && !isBackendName(requested)) {
    throw new Error(
      `Unknown compute backend '${requested}' (${source}). Valid names: ` +
        `${BACKEND_NAMES.join(', ')}; leave ${BACKEND_ENV_VAR} unset to choose automatically.`,
    );
  }
  const key = requested ?? 'auto';
  if (current?.key === key) {
    const name = await current.promise.catch(() => undefined);
    if (name !== undefined && tf.getBackend() === name) return name;
  }
  const promise =
    requested === undefined ? chooseAutomatically() : activate(requested, source);
  current = { key, promise };
  return promise;
}

/** The tfjs backend now in use. Throws if none was started yet. */
export function activeBackend(): string {
  const name = tf.getBackend() as string | undefined;
  if (!name) throw new Error('No compute backend is active yet: await initBackend() first.');
  return name;
}

/** Name, version and build details of the active backend, for a run log header. */
export function describeBackend(): BackendDescription {
  const name = activeBackend();
  const core = `tfjs-core ${tf.version_core}`;
  const note = choiceNote ? `; ${choiceNote}` : '';
  if (name === 'cpu') {
    return { name, version: tf.version['tfjs-backend-cpu'] ?? tf.version_core, detail: `plain JS; ${core}${note}` };
  }
  if (name === 'wasm' && wasmInfo) {
    const kernels = wasmInfo.jsKernels.length ? `, JS kernels ${wasmInfo.jsKernels.join(' ')}` : '';
    // Dense models and the built-in cnn train in fedsim's own kernels (fused-dense/): their versions change the numbers.
    const fused = fusedDenseEnabled(name) ? `, fused dense v${FUSED_DENSE_VERSION}, fused cnn ${fusedCnnEnabled(name) ? `v${FUSED_CNN_VERSION}` : 'off'}` : ', fused dense off';
    const threads = wasmInfo.threads();
    const build = `${wasmInfo.simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${kernels}${fused}`;
    return { name, version: wasmInfo.version, detail: `${build}; ${core}${note}` };
  }
  if (name === 'tensorflow' && nodeInfo) {
    return { name, version: nodeInfo.version, detail: `native libtensorflow; ${core}${note}` };
  }
  // Someone called tf.setBackend() with a backend fedsim did not start.
  return { name, version: 'unknown', detail: `not started by fedsim; ${core}` };
}

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

async function chooseAutomatically(): Promise<string> {
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const active = await activate(name, 'automatic choice');
      choiceNote = skipped.length ? `chosen automatically after ${skipped.join('; ')}` : 'chosen automatically';
      return active;
    } catch (err) {
      // Only "not available here" moves on to the next candidate; anything
      // else is a bug that falling back would hide.
      if (!(err instanceof BackendUnavailableError)) throw err;
      skipped.push(`${name}: ${err.reason}`);
    }
  }
  throw new Error(`No compute backend could be started (${skipped.join('; ')}).`);
}

async function activate(name: BackendName, source: string): Promise<string> {
  if (name === 'tensorflow') {
    const probe = await (nodeProbe ??= probeTfjsNode());
    if ('reason' in probe) throw new BackendUnavailableError(name, probe.reason, probe.remedy, source);
    nodeInfo = probe;
  } else if (name === 'wasm') {
    const load = (wasmLoad ??= loadWasm());
    // A failed load is not cached: the next request gets the same clear error.
    load.catch(() => {
      if (wasmLoad === load) wasmLoad = undefined;
    });
    try {
      wasmInfo = await load;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new BackendUnavailableError(name, reason, 'reinstall @tensorflow/tfjs-backend-wasm (npm ci)', source);
    }
  }
  if (!(await withoutProcessHandlers(() => tf.setBackend(name)))) {
    throw new BackendUnavailableError(
      name,
      `tf.setBackend('${name}') failed (tfjs printed the cause after "Initialization of backend ${name} failed")`,
      `reinstall ${name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : name === 'cpu' ? '@tensorflow/tfjs' : '@tensorflow/tfjs-node'}`,
      source,
    );
  }
  choiceNote = source;
  return activeBackend();
}

/**
 * Runs `start` and removes the process-wide error handlers it installed. The wasm
 * backend's Emscripten glue adds `uncaughtException` and `unhandledRejection` listeners
 * that rethrow: with them, any error that escapes a program (not only a tfjs one) ends
 * the process with exit code 7 and a screen of minified wasm glue instead of the
 * error's own message. Without them Node reports such errors as usual, and the
 * program's own handlers (the CLI has some) decide.
 */
async function withoutProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  const events = ['uncaughtException', 'unhandledRejection'];
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = events.map((event) => new Set(emitter.listeners(event)));
  try {
    return await start();
  } finally {
    events.forEach((event, i) => {
      for (const listener of emitter.listeners(event)) if (!before[i].has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    });
  }
}

/**
 * Dynamically imports @tensorflow/tfjs-node. A missing package is the normal
 * case (optional dependency), so it is reported, never thrown.
 */
async function probeTfjsNode(): Promise<{ version: string } | Unavailable> {
  // A variable specifier keeps TypeScript from requiring the package's types.
  const specifier = '@tensorflow/tfjs-node';
  let mod: { version?: Record<string, string> };
  try {
    mod = await import(specifier);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${specifier}'`);
    return missing
      ? {
          reason: `${specifier} is not installed`,
          remedy:
            `npm install ${specifier}@${tf.version_core} on a machine with network access ` +
            `(its install script downloads libtensorflow)`,
        }
      : {
          reason: `${specifier} is installed but failed to load (${e?.message ?? String(err)})`,
          remedy: `npm rebuild ${specifier}, or reinstall it`,
        };
  }
  // tfjs-node registers 'tensorflow' with the tfjs-core it resolves; if that is
  // a different copy from ours the backend is invisible to fedsim's tensors.
  if (tf.findBackendFactory('tensorflow') == null) {
    return {
      reason: `${specifier} loaded but registered its backend with another copy of @tensorflow/tfjs-core`,
      remedy: `install ${specifier} at the same version as @tensorflow/tfjs (${tf.version_core})`,
    };
  }
  return { version: mod.version?.['tfjs-node'] ?? 'unknown' };
}

/**
 * Loads tfjs-backend-wasm and points it at its binaries. Runs once per process:
 * setWasmPaths must precede the backend's first initialisation.
 */
async function loadWasm(): Promise<WasmInfo> {
  // Resolve the binaries through Node's resolver, relative to this file, so
  // the path is right whatever the cwd and wherever npm hoisted the package.
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
  } catch (err) {
    throw new Error(`its .wasm binaries were not found (${(err as Error).message.split('\n')[0]})`);
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(dir + path.sep);
  // Use the SIMD build without threads. tfjs already reports no thread support
  // in Node (the threaded build starts its workers from Blob URLs, which Node
  // cannot run; tfjs issue #3830); pinning the flag keeps it so if that
  // detection changes, and one thread also fixes the order of float sums,
  // which keeps runs bit-for-bit reproducible.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  // Register before the first setBackend('wasm') so no op can run without them.
  const jsKernels = registerWasmKernels();
  return { version: wasm.version_wasm, simd, threads: wasm.getThreadsCount, jsKernels };
}

/**
 * The backend a run computes on, as a log header names it ("wasm 4.22.0"). This is the
 * process's only backend-name source (the tensor codec imports this module for it), so
 * the name cannot depend on which module happened to be imported last.
 *
 * When tfjs has not chosen a backend yet, it is made to choose now — exactly what its
 * first tensor op would do — so a Simulation created before any tensor exists names the
 * backend its tensors will run on, instead of "none" for this run and "cpu 4.22.0" for
 * the next identical one.
 */
export function activeBackendLabel(): string {
  try {
    tf.backend();
  } catch (error) {
    throw new BackendNotReadyError(error instanceof Error ? error.message : String(error));
  }
  const { version } = describeBackend();
  const name = activeBackend();
  // The fused dense kernels change the numbers a run computes, so the label names them too.
  return `${name} ${version}${fusedDenseLabel(name)}`;
}

/** tfjs cannot name its backend yet: its preferred one starts asynchronously and nobody awaited it. */
export class BackendNotReadyError extends Error {
  override name = 'BackendNotReadyError';
  constructor(tfjsMessage: string) {
    super(
      `No tfjs backend is ready, so the log header cannot name the backend this run computes on (tfjs: ${tfjsMessage}). ` +
        'Call `await initBackend()` (or `await tf.setBackend(name)`) before creating a Simulation.',
    );
  }
}

setBackendNameSource(activeBackendLabel);
