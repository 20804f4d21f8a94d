/**
 * Where a scenario lives, and how to name that place in a command a person can paste.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
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
