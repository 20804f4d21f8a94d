#!/usr/bin/env node
// The `fedsim` command. tsx is registered first in every case: scenario files are
// usually TypeScript. A source checkout runs src/cli/main.ts (never a stale build);
// an installed package, which ships only dist/ and bin/, runs dist/cli/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(fileURLToPath(source)) ? source : new URL('../dist/cli/main.js', import.meta.url);
await import(entry.href);
