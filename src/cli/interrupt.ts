/**
 * Ctrl-C during a run: stop at once, keep what the run wrote, say so.
 *
 * A simulation runs synchronously: a federated run does its rounds without returning to
 * Node's event loop, so a `process.on('SIGINT')` handler would only run once the run had
 * finished. Node can break synchronous code on SIGINT in one place: a `vm` script run
 * with `breakOnSigint`. So the steps of every await and settle go through
 * `runInterruptibly` (SimulationOptions.runSteps), which runs them inside such a script.
 * On Ctrl-C V8 stops the steps wherever they are, the simulation stops with an
 * InterruptedError, and the command reports it.
 *
 * Starting a `breakOnSigint` script costs about 0.2 ms (Node starts a watchdog thread),
 * more than a whole await of a run made of short awaits (a pointer scenario: a few
 * microseconds each). So the steps of an await run directly while awaits are quick, and
 * under the watchdog — all its remaining steps, under one watchdog — when it is long:
 *   - when awaits have been taking long (a moving average of their wall time of at least
 *     SLOW_AWAIT_MS; so from the start, since the first await may be a whole federated run);
 *   - otherwise once it has run for SLOW_AWAIT_MS, or QUICK_STEPS steps (a message loop, a
 *     long settle). Its direct steps go in doubling chunks with the clock read between
 *     them, so a few slow steps (local training: milliseconds each) end the direct part
 *     as soon as a few fast ones would; counting steps alone would leave thousands of
 *     such steps — seconds — where Ctrl-C kills the process without a word.
 * A run spends its minutes in such awaits. Ctrl-C anywhere else (loading, short awaits,
 * scenario code between awaits — a `while (true) {}` in run() — writing the outputs), and
 * SIGTERM always, keeps Node's default: the process ends at once. That holds only while no
 * `process.on('SIGINT')` listener exists (one would replace the default with a handler that
 * waits for synchronous code to return, i.e. forever): the CLI installs none, and a test
 * checks that scenario code runs with none. (A SIGINT sent to a shell script that runs
 * fedsim in the foreground does not reach fedsim: the shell waits for it to end; Ctrl-C in a
 * terminal signals the whole foreground process group.)
 * In every case the log written so far stays under its `.partial` name (see
 * run-outputs.ts), complete up to its last 64 KiB chunk.
 *
 * Wall time here decides only whether steps can be interrupted, never which steps run.
 */
import { Script, createContext } from 'node:vm';
import { FedsimError, type StepRunner } from '../runtime/index.js';

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

/** Awaits averaging at least this long run under the watchdog from their first step; others after running this long directly. */
export const SLOW_AWAIT_MS = 1;
/** An await runs at most this many steps directly (a message loop of cheap steps), the rest under the watchdog. */
export const QUICK_STEPS = 10_000;
/** Weight of the newest await in the moving average. */
const NEWEST = 0.2;
/** Starts slow: the first await of a run may be all of it. */
let averageMs = SLOW_AWAIT_MS;

const context = createContext({ steps: (): void => undefined });
const interruptible = new Script('steps()', { filename: 'fedsim-interruptible-steps' });

/** A StepRunner under which Ctrl-C stops a long await or settle with an InterruptedError. */
export const runInterruptibly: StepRunner = (advance) => {
  const started = performance.now();
  try {
    if (averageMs >= SLOW_AWAIT_MS || !advanceWhileQuick(advance, started)) {
      runBreakingOnSigint(() => {
        while (!advance(Infinity));
      });
    }
  } finally {
    averageMs = (1 - NEWEST) * averageMs + NEWEST * (performance.now() - started);
  }
};

/** Runs steps directly, in chunks of 1, 2, 4, … steps, while the await is quick; true when it finished. */
function advanceWhileQuick(advance: (maxSteps: number) => boolean, started: number): boolean {
  for (let done = 0, chunk = 1; done < QUICK_STEPS; done += chunk, chunk *= 2) {
    if (advance(Math.min(chunk, QUICK_STEPS - done))) return true;
    if (performance.now() - started >= SLOW_AWAIT_MS) return false;
  }
  return false;
}

function runBreakingOnSigint(steps: () => void): void {
  context.steps = steps;
  try {
    interruptible.runInContext(context, { breakOnSigint: true });
  } catch (error) {
    if ((error as { code?: string } | null)?.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new InterruptedError('SIGINT');
    throw error;
  } finally {
    context.steps = () => undefined;
  }
}
