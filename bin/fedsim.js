#!/usr/bin/env node
// The `fedsim` command.
//
// Installed from npm, the package holds dist/ (plain JavaScript built by `prepack`)
// and this file: the command runs dist/cli/main.js. In a source checkout there is
// no build step to run by hand: the command runs src/ — bundled by esbuild once per
// version of the sources (bin/source-build.js says why and what stays the same), or
// src/cli/main.ts itself through tsx when it cannot be bundled. The package's own name
// ('fedsim', 'fedsim/fl', … in scenario files) resolves to src/ through the
// 'fedsim-source' export condition (see package.json "exports"; bin/source-condition.js
// then points it at the bundle), so a stale dist/ is never used and the CLI and the
// scenarios share one copy of every module.
//
// Scenario files are usually TypeScript, so tsx is registered (and in a checkout, the
// condition's hook). Node 20 runs module hooks on a thread of their own, and every module
// loaded once they are registered pays a round trip to it — hundreds at start-up. So when
// fedsim's own code needs no hooks (dist/, the bundle), they are registered only when a
// command is about to import a user's module (src/scenario/user-module-loader.ts calls
// the function installed below); compare, diff, export, privacy and a YAML experiment's
// run never need them.
//
// tsx turns Node's source maps on, and Node then decodes the map of every module as it
// loads (about a tenth of a command's start-up, several hundred modules). Stack traces are
// printed only with --debug, so the maps are kept only then (or when Node was started
// with --enable-source-maps): a --debug stack points at .ts lines, and other commands
// start faster.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const sourceMapsWanted = process.sourceMapsEnabled || process.argv.includes('--debug');
process.setSourceMapsEnabled(sourceMapsWanted);
const sourceEntry = new URL('../src/cli/main.ts', import.meta.url);
const checkout = existsSync(fileURLToPath(sourceEntry));
const bundle = checkout ? await (await import('./source-build.js')).sourceBuild(fileURLToPath(new URL('..', import.meta.url))) : undefined;

async function registerModuleHooks() {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  process.setSourceMapsEnabled(sourceMapsWanted);
  // Registered after tsx, so it runs first and tsx resolves with the condition added.
  if (checkout) register('./source-condition.js', import.meta.url, { data: { redirects: bundle?.redirects } });
}

if (checkout && !bundle) {
  // src/*.ts itself: every module needs tsx.
  await registerModuleHooks();
  await import(sourceEntry.href);
} else {
  let registered;
  globalThis[Symbol.for('fedsim.prepareUserModuleImport')] = () => (registered ??= registerModuleHooks());
  await import(bundle ? bundle.main : '../dist/cli/main.js');
}
