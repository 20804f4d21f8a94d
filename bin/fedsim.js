#!/usr/bin/env node
// The `fedsim` command.
//
// Installed from npm, the package holds dist/ (plain JavaScript built by `prepack`)
// and this file: the command runs dist/cli/main.js. In a source checkout there is
// no build step: the command runs src/cli/main.ts, and the package's own name
// ('fedsim', 'fedsim/fl', … in scenario files) resolves to src/ through the
// 'fedsim-source' export condition (see package.json "exports"), so a stale dist/
// is never used and the CLI and the scenarios share one copy of every module.
//
// In both cases tsx is registered, because scenario files are usually TypeScript.
//
// tsx turns Node's source maps on, and Node then decodes the map of every module as it
// loads (about a tenth of a command's start-up, several hundred modules). Stack traces are
// printed only with --debug, so the maps are kept only then (or when Node was started
// with --enable-source-maps): a --debug stack points at .ts lines, and other commands
// start faster.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';

const sourceMapsWanted = process.sourceMapsEnabled || process.argv.includes('--debug');
registerTsx();
if (!sourceMapsWanted) process.setSourceMapsEnabled(false);
const sourceEntry = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(fileURLToPath(sourceEntry))) {
  // Registered after tsx, so it runs first and tsx resolves with the condition added.
  register('./source-condition.js', import.meta.url);
  await import(sourceEntry.href);
} else {
  await import('../dist/cli/main.js');
}
