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

test('a Simulation created before tfjs chose a backend names the one its tensors will use, and the next identical run names the same', async (t) => {
  const { first, second } = await probe('codec');
  t.regex(first, /^cpu \d+\.\d+\.\d+$/, 'tfjs chose its backend when the first header was written, not at the first tensor op');
  t.is(second, first);
});

test('the name does not depend on import order (one backend-name source)', async (t) => {
  const [codecFirst, backendFirst, viaPointers] = await Promise.all([probe('codec,backend'), probe('backend,codec'), probe('pointers')]);
  t.is(codecFirst.first, backendFirst.first);
  t.is(viaPointers.first, backendFirst.first);
});

test('a backend switched after the header was written is refused when the run closes (the header would lie)', async (t) => {
  const { closeAfterSwitch, errorListeners } = await probe('backend', '--switch-to', 'wasm');
  t.regex(closeAfterSwitch, /the log header names 'cpu [^']+', but tensors now compute on 'wasm [^']+'/);
  t.is(errorListeners, 0, 'starting wasm left no uncaughtException/unhandledRejection listener behind');
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
