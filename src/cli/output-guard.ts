/**
 * Refuses an output path that is one of the command's own inputs.
 *
 * `fedsim view`, `fedsim export` and `fedsim compare` write files derived from a run; given
 * `--out RUN/run.jsonl` (or `--csv RUN/results.json`) they would replace the very file they
 * read, destroying the run. Paths are compared as the files they name — symbolic links and
 * `..` resolved, hard links by device and inode — and the write's `.partial` twin is checked
 * too (writing FILE.partial truncates it first, which would destroy a stopped run's
 * run.jsonl.partial).
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CHECKPOINTS_DIR } from '../fl/checkpoint/checkpoint-file.js';
import { FINAL_MODEL_BIN, FINAL_MODEL_JSON } from '../fl/export/final-model-file.js';
import { displayPath } from '../scenario/index.js';
import { CliError } from './cli-error.js';
import { PARTIAL } from './run-outputs.js';

/** Every file that makes up the run in `dir` (those that exist): its log, results, report, final model and checkpoints. */
export function runDirectoryFiles(dir: string): string[] {
  const names = ['run.jsonl', 'run.jsonl' + PARTIAL, 'results.json', 'report.html', FINAL_MODEL_JSON, FINAL_MODEL_BIN];
  const files = names.map((name) => join(dir, name)).filter((file) => existsSync(file));
  const checkpoints = join(dir, CHECKPOINTS_DIR);
  if (existsSync(checkpoints) && statSync(checkpoints).isDirectory()) {
    for (const name of readdirSync(checkpoints)) files.push(join(checkpoints, name));
  }
  return files;
}

/**
 * Throws a usage error (exit 2, before anything is written) when `output` — or the
 * `output.partial` it is written through — is one of `inputs`. `what` names the option:
 * `--out runs/x/run.jsonl`.
 */
export function refuseInputAsOutput(output: string, inputs: readonly string[], what: string): void {
  for (const candidate of [output, output + PARTIAL]) {
    const written = identity(candidate);
    for (const input of inputs) {
      if (!sameFile(written, identity(input))) continue;
      const via = candidate === output ? '' : ` (it is written through ${displayPath(resolve(candidate))}, which is that file)`;
      throw new CliError(
        `${what}: ${displayPath(resolve(output))} is one of this command's inputs (${displayPath(resolve(input))})${via}; writing it would destroy the run. ` +
          'Give an output path outside the run\'s own files (or leave the option\'s default).',
      );
    }
  }
}

interface FileIdentity {
  /** The real path: symbolic links in it (and of the file itself) resolved. */
  path: string;
  /** Device and inode when the file exists, so hard links to one file match. */
  inode?: string;
}

function identity(file: string): FileIdentity {
  const absolute = resolve(file);
  try {
    const real = realpathSync(absolute);
    const stats = statSync(real);
    return { path: real, inode: `${stats.dev}:${stats.ino}` };
  } catch {
    // Not there (yet): its directory may still be reached through a symbolic link.
    try {
      return { path: join(realpathSync(dirname(absolute)), basename(absolute)) };
    } catch {
      return { path: absolute };
    }
  }
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.path === b.path || (a.inode !== undefined && a.inode === b.inode);
}
