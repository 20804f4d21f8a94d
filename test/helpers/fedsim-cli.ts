/**
 * Runs the real `fedsim` bin in a child process, as a user would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'fedsim.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function fedsim(...args: string[]): Promise<CliResult> {
  return fedsimWith({}, ...args);
}

/** `fedsim` started from another working directory and/or with extra environment variables. */
export function fedsimWith(options: { cwd?: string; env?: Record<string, string> }, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', ...options.env };
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh temporary directory, removed when the test (or hook) that asked for it ends. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'fedsim-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
