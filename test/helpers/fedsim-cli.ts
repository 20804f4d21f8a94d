/**
 * Runs the real `fedsim` bin in a child process, as a user would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
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

export interface RunningFedsim {
  child: ChildProcess;
  /** How it ended: `signal` is set when a signal ended it (then `code` is null). */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `fedsim` started and left running, for tests that signal it (Ctrl-C) while it works. */
export function startFedsim(options: { cwd?: string; env?: Record<string, string> }, ...args: string[]): RunningFedsim {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, ended };
}
