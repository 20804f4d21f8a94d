/**
 * The command that starts this fedsim from the working directory, for the commands
 * the CLI prints ("replay it: …", "reproduce: …"): a printed command must work when
 * pasted where the user is.
 *
 *   fedsim                 when a `fedsim` on PATH is this one (a global install)
 *   npx fedsim             in a project that has this fedsim in node_modules/.bin, or in
 *                          fedsim's own checkout (npx runs a project's own bin)
 *   node <path>/fedsim.js  otherwise
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { displayPath, projectRoot, shellQuote } from '../scenario/index.js';

/** This installation's bin/fedsim.js (two levels above this module in src/ and in dist/). */
const OWN_BIN = fileURLToPath(new URL('../../bin/fedsim.js', import.meta.url));

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

let cached: { cwd: string; command: string } | undefined;

export function fedsimCommand(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  if (cached?.cwd === cwd) return cached.command;
  const command = findCommand(cwd, env);
  cached = { cwd, command };
  return command;
}

function findCommand(cwd: string, env: NodeJS.ProcessEnv): string {
  const own = realOrUndefined(OWN_BIN) ?? OWN_BIN;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (realOrUndefined(join(dir, 'fedsim')) === own) return 'fedsim';
  }
  const root = projectRoot(join(cwd, 'x'));
  if (root !== undefined) {
    if (realOrUndefined(join(root, 'node_modules', '.bin', 'fedsim')) === own) return 'npx fedsim';
    if (realOrUndefined(join(root, 'bin', 'fedsim.js')) === own && isFedsimPackage(join(root, 'package.json'))) return 'npx fedsim';
  }
  return `node ${shellQuote(displayPath(own, cwd))}`;
}

function isFedsimPackage(packageJson: string): boolean {
  try {
    return existsSync(packageJson) && (JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown }).name === 'fedsim';
  } catch {
    return false;
  }
}

