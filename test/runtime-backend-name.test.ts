/**
 * The log header names the backend a run computes on — the same name for the same
 * run, whatever was imported first and whether tfjs had chosen a backend yet. Each
 * case needs a process where tfjs has chosen nothing, so each runs in a child.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/fedsim-cli.js';

function probe(...args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'backend-name-probe.ts'), ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      if (error) reject(new Error(`probe ${args.join(' ')} failed: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

test('the header names the backend tensors will use, the same for identical runs and whatever the import order', async (t) => {
  // Each probe is a fresh process in which tfjs has chosen no backend when the first Simulation is made.
  const [codecOnly, backendOnly, viaPointers] = await Promise.all([probe('codec'), probe('backend', '--switch-to', 'wasm'), probe('pointers')]);
  t.regex(codecOnly.first, /^cpu \d+\.\d+\.\d+$/, 'tfjs chose its backend when the first header was written, not at the first tensor op');
  t.is(codecOnly.second, codecOnly.first, 'the next identical run names the same backend');
  t.is(backendOnly.first, codecOnly.first, 'one backend-name source, whichever module was imported');
  t.is(viaPointers.first, codecOnly.first);

  // A backend switched after the header was written is refused when the run closes (the header would lie)…
  t.regex(backendOnly.closeAfterSwitch, /the log header names 'cpu [^']+', but tensors now compute on 'wasm [^']+'/);
  // …and starting wasm left no process-wide error handler behind (its glue adds rethrowing ones).
  t.is(backendOnly.errorListeners, 0);
});

test('exactly one module in src/ registers the backend-name source', (t) => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.ts')) files.push(join(dir, entry.name));
    }
  };
  walk(join(ROOT, 'src'));
  const callers = files.filter((f) => /\bsetBackendNameSource\(/.test(readFileSync(f, 'utf8').replace(/export function setBackendNameSource\(/, '')));
  t.deepEqual(callers.map((f) => f.slice(ROOT.length)), ['src/runtime/backend.ts']);
});
