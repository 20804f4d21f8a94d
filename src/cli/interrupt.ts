/**
 * Ctrl-C during a run: stop at once, keep what the run wrote, say so.
 *
 * A simulation runs synchronously: a federated run does its rounds without returning to
 * Node's event loop, so a `process.on('SIGINT')` handler would only run once the run had
 * finished. Node can break synchronous code on SIGINT in one place: a `vm` script run
 * with `breakOnSigint`. So the steps of the run go through `runInterruptibly`
 * (SimulationOptions.runStretch: every await and settle, in stretches of at most
 * STRETCH_STEPS steps), which runs them inside such a script. On Ctrl-C V8 stops the
 * stretch wherever it is, the simulation stops with an InterruptedError, and the command
 * reports it.
 *
 * Starting a `breakOnSigint` script costs about 0.2 ms (Node starts a watchdog thread),
 * more than a whole stretch of a run made of short awaits (a pointer scenario: a few
 * microseconds each). So a stretch is protected only while stretches take long — their
 * wall time, averaged, is at least SLOW_STRETCH_MS, as it is from the start — which is
 * where a run spends minutes (federated rounds, message loops). Elsewhere, and for SIGTERM always, Node's default
 * applies: the process ends at once. In every case the log written so far stays under its
 * `.partial` name (see run-outputs.ts), complete up to its last 64 KiB chunk.
 *
 * Wall time here decides only whether a stretch can be interrupted, never what it does.
 */
import { Script, createContext } from 'node:vm';
import { FedsimError } from '../runtime/index.js';

/** 128 + SIGINT (2), what a shell reports for a command ended by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

export class InterruptedError extends FedsimError {
  override name = 'InterruptedError';
  constructor(readonly signal = 'SIGINT') {
    super(`the run was interrupted (${signal === 'SIGINT' ? 'Ctrl-C' : signal})`);
  }
}

export function isInterrupted(error: unknown): error is InterruptedError {
  return error instanceof InterruptedError;
}

const context = createContext({ stretch: (): void => undefined });
const runStretchScript = new Script('stretch()', { filename: 'fedsim-interruptible-stretch' });

/** Stretches averaging at least this long are run so that Ctrl-C can stop them. */
export const SLOW_STRETCH_MS = 1;
/** Moving average of stretch wall times (ms): weight of the newest. */
const NEWEST = 0.2;
/** Starts slow: the first stretch of a run may be all of it (one await of a whole federated run). */
let averageMs = SLOW_STRETCH_MS;

/** Runs `stretch` so that Ctrl-C stops it (throwing InterruptedError) when stretches are slow; other errors pass through. */
export function runInterruptibly(stretch: () => void): void {
  const started = performance.now();
  try {
    if (averageMs >= SLOW_STRETCH_MS) runBreakingOnSigint(stretch);
    else stretch();
  } finally {
    averageMs = (1 - NEWEST) * averageMs + NEWEST * (performance.now() - started);
  }
}

function runBreakingOnSigint(stretch: () => void): void {
  context.stretch = stretch;
  try {
    runStretchScript.runInContext(context, { breakOnSigint: true });
  } catch (error) {
    if ((error as { code?: string } | null)?.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new InterruptedError('SIGINT');
    throw error;
  } finally {
    context.stretch = () => undefined;
  }
}
