/**
 * A digest of the code that runs: every file of fedsim's source tree (the folder this module
 * was loaded from, src/ or the built dist/), by relative path and bytes, in sorted order.
 *
 * A checkpoint records it, so that `fedsim resume` can say "the code changed since the run
 * was started" before it re-executes anything: the version number alone changes only at a
 * release, while a run may be resumed after any edit. It covers fedsim's own files, not
 * node_modules (the tfjs backend is named in the log header, which resume checks too).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** fedsim's code root: two folders up from src/fl/checkpoint/ (or dist/fl/checkpoint/). */
const CODE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let cached: string | undefined;

export function codeSha256(root = CODE_ROOT): string {
  if (root === CODE_ROOT && cached !== undefined) return cached;
  const hash = createHash('sha256');
  for (const file of filesUnder(root)) {
    const name = relative(root, file).split(sep).join('/');
    hash.update(`${name}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  const digest = hash.digest('hex');
  if (root === CODE_ROOT) cached = digest;
  return digest;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
