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
 */
import { accessSync, constants, mkdirSync, renameSync, statSync } from 'node:fs';
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
export function prepareRunOutputs(outDir: string, logPath: string, flags: { out: string; record?: string }): RunOutputs {
  ensureDirectory(outDir, flags.out);
  refuseDirectory(logPath, flags.record ?? flags.out);
  ensureDirectory(dirname(logPath), flags.record ?? flags.out);
  const results = join(outDir, 'results.json');
  const report = join(outDir, 'report.html');
  const partial = { log: logPath + PARTIAL, results: results + PARTIAL, report: report + PARTIAL };
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

