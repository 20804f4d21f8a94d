/**
 * Where a scenario lives, and how to name that place in a command a person can paste.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file URL (`import.meta.url`) or a path, as an absolute path. */
export function toFilePath(location: string | URL): string {
  const text = String(location);
  return text.startsWith('file:') ? fileURLToPath(text) : resolve(text);
}

/**
 * The file that called `defineScenario`, read from the stack, for scenarios that did
 * not pass `path`. Best effort: undefined when the stack does not say.
 */
export function callerFile(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const match = /(file:\/\/[^\s)]+?|\/[^\s():]+?):\d+:\d+\)?$/.exec(frame.trim());
    if (!match) continue;
    const file = toFilePath(match[1]);
    if (file.includes(`${sep}src${sep}scenario${sep}`) || file.includes(`${sep}node_modules${sep}`)) continue;
    if (/\.(m?[jt]s)$/.test(file) && existsSync(file)) return file;
  }
  return undefined;
}

/** A path as a person would type it from the current directory (relative when inside it). */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return path;
  return rel.split(sep).join('/');
}

/** Quotes a shell word only when it needs it (POSIX single quotes). */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The nearest directory at or above `path`'s directory that holds a package.json, or undefined. */
export function projectRoot(path: string): string | undefined {
  let dir = dirname(resolve(path));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * A file as a log header records it: relative to its project (the nearest package.json
 * above it), with `/` separators — the same bytes whichever directory the run was
 * started from. A file in no project is recorded by its absolute path.
 */
export function projectPath(path: string): string {
  const absolute = resolve(path);
  const root = projectRoot(absolute);
  if (root === undefined) return absolute.split(sep).join('/');
  return relative(root, absolute).split(sep).join('/');
}

/**
 * Where the file a log header recorded (see projectPath) may be now: under the project
 * of the working directory, under the project of the log, or (older logs) relative to
 * the working directory or the log's directory. The first that exists wins.
 */
export function recordedFileCandidates(recorded: string, logFile: string, cwd = process.cwd()): string[] {
  if (isAbsolute(recorded)) return [recorded];
  const roots = [projectRoot(join(cwd, 'x')), projectRoot(resolve(logFile))].filter((r): r is string => r !== undefined);
  const candidates = [...roots.map((root) => resolve(root, recorded)), resolve(cwd, recorded), resolve(dirname(resolve(logFile)), recorded)];
  return [...new Set(candidates)];
}
