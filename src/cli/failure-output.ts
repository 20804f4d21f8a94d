/**
 * How the command line shows a failure: one line with the reason on stderr, never a
 * stack trace unless `--debug` asked for one.
 *
 * Errors reach the user three ways, and all three end here: a command throws (main's
 * catch), a run fails (the command prints its outcome's error), or something fails
 * outside any await — an RxJS subscriber without an error handler, a rejected promise
 * nobody awaited, an uncaught exception. The last kind used to end the process with
 * exit code 7 and a screen of minified tfjs-wasm source; `installCrashHandlers` turns
 * it into the same one-line reason and exit code 1.
 */
import { config as rxjsConfig } from 'rxjs';
import { FedsimError } from '../runtime/errors.js';
import { FlError } from '../fl/errors.js';
import { EXIT_FAILED } from './cli-error.js';
import { dim, red } from './style.js';
import { terminalText } from './terminal-text.js';

let debug = false;
/** Errors already shown (a run's failure can come back as an RxJS unhandled error): each is printed once. */
const shown = new WeakSet<object>();

export function setDebug(on: boolean): void {
  debug = on;
}

export function isDebug(): boolean {
  return debug;
}

/** `Name: message` of any thrown value. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The stack below an error's message (just the `at …` frames), or '' when there is none. */
function framesOf(error: unknown): string {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return '';
  const firstFrame = stack.search(/\n\s+at /);
  return firstFrame < 0 ? '' : stack.slice(firstFrame + 1);
}

/**
 * Writes `label: Name: message` to stderr; with --debug, the stack follows. Returns
 * false (and writes nothing) for an error that was already shown.
 */
export function printFailure(label: string, error: unknown, stream: NodeJS.WriteStream = process.stderr): boolean {
  if (typeof error === 'object' && error !== null) {
    if (shown.has(error)) return false;
    shown.add(error);
  }
  // A usage error's message is the whole story; other errors keep their name (DeadlockError, …).
  const usage = error instanceof Error && error.name === 'CliError';
  stream.write(`${red(`${label}:`, stream)} ${terminalText(usage ? (error as Error).message : reasonOf(error), { lines: true })}\n`);
  if (debug) {
    const frames = framesOf(error);
    if (frames) stream.write(`${frames}\n`);
  } else if (!usage && (!(error instanceof FedsimError) || (error instanceof FlError && error.kind === 'bug'))) {
    // fedsim's own errors explain themselves; anything else, or a broken invariant, is unexpected, and its stack is the clue.
    stream.write(dim('(run again with --debug to see the stack trace)', stream) + '\n');
  }
  return true;
}

/** Marks an error as already reported (so a later echo of it is not printed again). */
export function markShown(error: unknown): void {
  if (typeof error === 'object' && error !== null) shown.add(error);
}

/**
 * Catches what escapes every await: RxJS errors with no error handler, unhandled
 * rejections, uncaught exceptions. Each is printed as a reason (a stack with --debug)
 * and makes the command exit 1.
 */
export function installCrashHandlers(): void {
  rxjsConfig.onUnhandledError = (error) => {
    if (printFailure('error (in an RxJS subscriber without an error handler)', error)) process.exitCode = EXIT_FAILED;
  };
  process.on('unhandledRejection', (reason) => {
    if (printFailure('error (a promise rejected and nobody awaited it)', reason)) process.exitCode = EXIT_FAILED;
  });
  // `fedsim … | head` closes the pipe early: that is the reader's choice, not a failure to report.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
  }
  process.on('uncaughtException', (error) => {
    printFailure('fedsim crashed', error);
    process.exit(EXIT_FAILED);
  });
}
