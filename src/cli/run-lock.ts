/**
 * An exclusive lock on a run directory, held while `fedsim resume` (or `fedsim run --out`)
 * writes into it.
 *
 * Two processes writing one run race on its files: one renames run.jsonl.partial away from
 * under the other (ENOENT) and the loser leaves final-model.*.partial debris. The lock is a
 * file created exclusively (link(2), like O_EXCL) holding the owner's pid, so exactly one process gets it; the
 * second is refused (exit 2) before it touches anything. A lock whose process is gone (it
 * was killed: no exit handler ran) is taken over, with a note, so a crash never leaves a
 * run that cannot be resumed.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath } from '../scenario/index.js';
import { CliError } from './cli-error.js';
import { terminalText } from './terminal-text.js';

export const RUN_LOCK_FILE = '.fedsim.lock';

export interface RunLock {
  /** Removes the lock file (idempotent; also done when the process exits). */
  release(): void;
}

/**
 * Takes the lock of run directory `dir` (which exists) for `activity` ("resumed", "written
 * by fedsim run"), or throws a usage error naming the process that holds it.
 */
export function lockRunDirectory(dir: string, activity: string): RunLock {
  const file = join(dir, RUN_LOCK_FILE);
  const shown = terminalText(displayPath(dir));
  const content = `${JSON.stringify({ pid: process.pid, activity })}\n`;
  // Twice at most: once, and once more after taking over a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      createFilled(file, content);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new CliError(`${shown}: cannot create the lock file ${terminalText(displayPath(file))} (${code ?? (error as Error).message}); the run directory must be writable.`);
      const holder = readHolder(file);
      if (holder === undefined) continue; // removed between our open and read: try again
      if (holder.pid !== undefined && isAlive(holder.pid)) {
        throw new CliError(
          `${shown} is being ${holder.activity ?? 'written'} by process ${holder.pid}; wait for it to finish, or stop it (kill ${holder.pid}) and run this again. ` +
            `(If process ${holder.pid} is not fedsim, the lock ${terminalText(displayPath(file))} is left over: remove it.)`,
        );
      }
      const who = holder.pid === undefined ? 'an unreadable lock' : `the lock of process ${holder.pid}, which is no longer running`;
      process.stderr.write(`note: ${shown}: taking over ${who} (${terminalText(displayPath(file))}; that process was killed or crashed)\n`);
      // Removed only if it is still the stale lock read above. (Two processes taking over one stale lock at
      // the same instant could still both pass this check; a lock is left stale only by a killed process.)
      if (readHolder(file)?.pid === holder.pid) {
        try {
          unlinkSync(file);
        } catch (unlinkError) {
          if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
        }
      }
      continue;
    }
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.off('exit', release);
      // Only our own lock: never one another process took over after ours was (wrongly) judged stale.
      if (readHolder(file)?.pid === process.pid) {
        try {
          unlinkSync(file);
        } catch {
          // Already gone: nothing to release.
        }
      }
    };
    process.on('exit', release);
    return { release };
  }
  throw new CliError(`${shown}: another process keeps taking the lock ${terminalText(displayPath(file))}; wait for it to finish and run this again.`);
}

/**
 * Creates `file` with `content`, failing with EEXIST when it exists. Written to a private file
 * first and hard-linked into place (link(2) is atomic and exclusive, like O_EXCL), so no other
 * process ever reads the lock empty and mistakes it for a torn, stale one.
 */
function createFilled(file: string, content: string): void {
  const own = `${file}.${process.pid}`;
  writeFileSync(own, content);
  try {
    linkSync(own, file);
  } finally {
    unlinkSync(own);
  }
}

function readHolder(file: string): { pid?: number; activity?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; activity?: unknown };
    return {
      pid: Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0 ? (parsed.pid as number) : undefined,
      activity: typeof parsed.activity === 'string' ? parsed.activity : undefined,
    };
  } catch {
    // Empty or torn: written by a process killed between creating and filling it.
    return {};
  }
}

/** Whether process `pid` exists (signal 0 checks without sending anything; EPERM: it exists, as another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
