/**
 * Where `fedsim run` writes, and how: its three outputs (event log, results.json,
 * report.html) are written under `.partial` names and renamed into place only once all
 * three are complete, so the outputs of a finished run are never replaced by those of a
 * run that was interrupted or crashed. A run that is stopped leaves `run.jsonl.partial`:
 * the log up to where it stopped.
 *
 * Directories are checked and created before the run, one level at a time: a path
 * through a file, or under a directory that takes no new entries (/proc), is a usage
 * error naming the part that is wrong — not EEXIST or ENOTDIR from deep inside the run,
 * nor the endless loop of Node's recursive mkdir under /proc.
 *
 * The rename replaces whatever has the final name, so each final name is checked first:
 *   - a symbolic link is followed (link after link), and the file is written and renamed
 *     at its target, so the link stays a link and points at the new outputs;
 *   - anything that is neither a regular file nor absent (a device such as /dev/null, a
 *     fifo, a socket) is refused with a usage error: a rename would replace the device
 *     itself by a regular file (as root, `--record /dev/null` would destroy /dev/null),
 *     and writing to it directly would leave a log that cannot be read back, while
 *     results.json names the log's sha256 and the log is what replay needs.
 */
import { accessSync, constants, lstatSync, mkdirSync, readlinkSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { displayPath } from '../scenario/index.js';
import { CliError } from './cli-error.js';

export const PARTIAL = '.partial';

export interface RunOutputs {
  /** Final paths. */
  log: string;
  results: string;
  report: string;
  /** Where each is written until the run is complete. */
  partial: { log: string; results: string; report: string };
  /** Renames the complete outputs into place: the log first, since results.json names its sha256. */
  commit(): void;
}

/** Checks and creates the output directory and the log's directory; `outFlag`/`logFlag` are the options as typed (for errors). */
export function prepareRunOutputs(outDir: string, givenLogPath: string, flags: { out: string; record?: string }): RunOutputs {
  ensureDirectory(outDir, flags.out);
  const logFlag = flags.record ?? flags.out;
  const logPath = replaceableTarget(givenLogPath, logFlag);
  refuseDirectory(logPath, logFlag);
  ensureDirectory(dirname(logPath), logFlag);
  const results = replaceableTarget(join(outDir, 'results.json'), flags.out);
  const report = replaceableTarget(join(outDir, 'report.html'), flags.out);
  for (const target of [results, report]) ensureDirectory(dirname(target), flags.out);
  const partial = { log: logPath + PARTIAL, results: results + PARTIAL, report: report + PARTIAL };
  for (const [file, flag] of [[partial.log, logFlag], [partial.results, flags.out], [partial.report, flags.out]] as const) clearPartial(file, flag);
  return {
    log: logPath,
    results,
    report,
    partial,
    commit() {
      renameSync(partial.log, logPath);
      renameSync(partial.results, results);
      renameSync(partial.report, report);
    },
  };
}

/** `what` names the option for messages: `--out runs/x`. */
export function ensureDirectory(path: string, what: string): void {
  const absolute = resolve(path);
  const missing: string[] = [];
  let existing = absolute;
  for (;;) {
    const kind = kindOf(existing);
    if (kind === 'directory') break;
    if (kind === 'other') {
      throw new CliError(`${what}: ${displayPath(existing)} is a file, not a directory; give a directory (or remove the file).`);
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (missing.length === 0) return;
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new CliError(`${what}: cannot create ${displayPath(missing[0])}: ${displayPath(existing)} is not writable.`);
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && kindOf(dir) === 'directory') continue; // made meanwhile by someone else
      const why = code === 'ENOENT' ? `${displayPath(dirname(dir))} does not accept new directories` : (error as Error).message;
      throw new CliError(`${what}: cannot create the directory ${displayPath(dir)} (${why}); choose another place.`);
    }
  }
}

/** Symbolic links are followed at most this many times (as the kernel's ELOOP limit). */
const MAX_LINKS = 40;

/**
 * The path the output is finally renamed to: `path` itself, or the file its symbolic links
 * lead to (even a link to a file that does not exist yet), refused when that is a device,
 * a fifo or a socket (see the file comment).
 */
export function replaceableTarget(path: string, what: string): string {
  let target = resolve(path);
  for (let links = 0; ; links++) {
    let stats;
    try {
      stats = lstatSync(target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return target; // a new file (ENOTDIR: ensureDirectory names the file in the way)
      throw new CliError(`${what}: cannot use ${displayPath(target)}: ${(error as Error).message}`);
    }
    if (stats.isSymbolicLink()) {
      if (links === MAX_LINKS) throw new CliError(`${what}: ${displayPath(resolve(path))} is a symbolic link through more than ${MAX_LINKS} links (a loop?); give a file path.`);
      target = resolve(dirname(target), readlinkSync(target));
      continue;
    }
    if (stats.isFile() || stats.isDirectory()) return target; // a directory: refused by the callers, with their own hint
    const kind = stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isFIFO() ? 'a fifo (named pipe)' : stats.isSocket() ? 'a socket' : 'not a regular file';
    const via = target === resolve(path) ? '' : ` (the target of the symbolic link ${displayPath(resolve(path))})`;
    throw new CliError(
      `${what}: ${displayPath(target)}${via} is ${kind}, not a regular file; fedsim writes its outputs to files (renamed into place when the run is complete) ` +
        'and would replace it. Give the path of a file (a new one, or a regular file to overwrite).',
    );
  }
}

/**
 * Removes a `.partial` left by an earlier run (a stopped run's log is kept under that name
 * until the next run into the same place). Removed, not written through: a `.partial` that
 * is a symbolic link or a device would otherwise have the new output written into whatever
 * it points at.
 */
function clearPartial(path: string, what: string): void {
  let entry;
  try {
    entry = lstatSync(path); // the entry itself: a link is removed, never followed (even a dangling one)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CliError(`${what}: cannot use ${displayPath(path)}: ${(error as Error).message}`);
  }
  if (entry.isDirectory()) throw new CliError(`${what}: ${displayPath(resolve(path))} is a directory; fedsim writes its output there while the run goes: remove it.`);
  unlinkSync(path);
}

function refuseDirectory(path: string, what: string): void {
  if (kindOf(path) === 'directory') throw new CliError(`${what}: ${displayPath(resolve(path))} is a directory; the event log needs a file name (e.g. ${displayPath(join(resolve(path), 'run.jsonl'))}).`);
}

function kindOf(path: string): 'directory' | 'other' | 'none' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'none';
    // ENOTDIR: a parent is a file; the walk up reaches it and names it.
    if (code === 'ENOTDIR') return 'none';
    throw new CliError(`cannot use ${displayPath(path)}: ${(error as Error).message}`);
  }
}

