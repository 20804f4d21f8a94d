/**
 * The exact `fedsim resume DIR` command for a stopped run that has checkpoints, so that a
 * newcomer who stopped a run (Ctrl-C) or tried to export an unfinished one learns how to
 * continue it instead of starting over.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINTS_DIR } from '../fl/checkpoint/checkpoint-file.js';
import { displayPath, shellQuote } from '../scenario/index.js';
import { fedsimCommand } from './invocation.js';

/** `node bin/fedsim.js resume runs/x` (as this fedsim is invoked here), or undefined when `dir` has no checkpoints to resume from. */
export function resumeCommandFor(dir: string): string | undefined {
  const checkpoints = join(dir, CHECKPOINTS_DIR);
  if (!existsSync(checkpoints)) return undefined;
  let names: string[];
  try {
    names = readdirSync(checkpoints);
  } catch {
    return undefined;
  }
  if (!names.some((name) => /^round-\d{6,}\.json$/.test(name))) return undefined;
  return `${fedsimCommand()} resume ${shellQuote(displayPath(dir))}`;
}
