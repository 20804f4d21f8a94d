// The `fedsim` command's start-up in a source checkout: src/ bundled once by esbuild.
//
// Run straight from src/, every start of the command loads several hundred TypeScript modules
// through tsx's module hooks, which Node 20 runs on a thread of their own: each module is a
// round trip to that thread, and that was most of the ~2 s of CPU a `fedsim` start cost. So
// bin/fedsim.js runs a bundle of src/ instead: esbuild (tsx's own transpiler, so already
// installed) compiles the command line and fedsim's public entry points ('fedsim',
// 'fedsim/fl', 'fedsim/scenario') into a few chunks, once, and keeps them under
// node_modules/.cache/fedsim-cli/<key>/, where the key is a digest of every file under src/
// (path and bytes), of this file, of esbuild's version and of the checkout's path. Any edit
// under src/ gives a new key, hence a new bundle on the next start (about a second); a bundle
// is never used for sources other than its own.
//
// What stays as it was:
//   - scenario files: tsx is still registered (they are usually TypeScript), and their
//     imports of 'fedsim', 'fedsim/fl' and 'fedsim/scenario' are pointed at the bundle's entry
//     points (bin/source-condition.js), so the command and its scenarios share one copy of
//     every module, as before;
//   - every module sees its own `import.meta.url` (the plugin below writes each file's
//     src/ URL in its place): files next to a module (the fused-dense kernel's .wasm, the
//     training threads' worker module), the code digest a checkpoint records (it hashes
//     src/, src/fl/checkpoint/code-digest.ts) and the command's own path mean what they did;
//   - --debug stacks: the bundle has source maps, so frames name src/*.ts lines.
//
// FEDSIM_NO_SOURCE_BUILD=1 runs src/ through tsx as before (to tell a bundling problem from
// another); so does a checkout whose esbuild cannot be found or fails (with a warning).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The bundle's entry points: the command line, and what scenario files import fedsim by. */
const ENTRIES = ['cli/main.ts', 'index.ts', 'fl/index.ts', 'scenario/index.ts'];
/**
 * Packages the bundle imports from node_modules rather than holding a copy of: those scenario
 * files import too and hand objects of to fedsim (tfjs tensors, xstate machines, rxjs
 * observables: one instance for both), tfjs's also because they load their .wasm files from
 * where they are installed, the tools (tsx, esbuild), and those only some commands load (the
 * NATS client of live runs, the progress bar). The rest (zod alone is ~100 modules, the noble
 * crypto, commander, yaml, …) is bundled.
 */
const EXTERNAL_PACKAGES = ['@tensorflow/*', 'xstate', 'rxjs', 'tsx', 'esbuild', '@nats-io/*', 'cli-progress'];
/**
 * When a new bundle is built, those no command started from for this long are removed (not
 * at once: a command started from one may still be running, and import its lazily loaded
 * chunks). Each start marks its bundle's folder as used (its mtime).
 */
const STALE_MS = 24 * 3600 * 1000;

/**
 * The bundle of `root`/src: `{ dir, main, redirects }` — where it is, the URL of the command
 * line's module, and for each entry point's src/ URL its bundled URL. Builds it first when the sources changed.
 * Undefined when it cannot be built (the caller then runs src/ as it is).
 */
export async function sourceBuild(root) {
  if (process.env.FEDSIM_NO_SOURCE_BUILD === '1') return undefined;
  root = resolve(root);
  const src = join(root, 'src');
  const require = createRequire(join(root, 'package.json'));
  let esbuildVersion;
  try {
    // Its version only: esbuild itself is loaded when a bundle is built.
    esbuildVersion = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
  const cache = join(root, 'node_modules', '.cache', 'fedsim-cli');
  const key = () => sourceKey(root, src, esbuildVersion);
  const dir = join(cache, key());
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    try {
      await build(require('esbuild'), src, cache, dir, key);
    } catch (error) {
      const reason = error?.errors?.[0] ? `${error.errors[0].location?.file ?? ''}: ${error.errors[0].text}` : String(error?.message ?? error).split('\n')[0];
      process.stderr.write(`warning: could not bundle src/ for a faster start (${reason}); running it through tsx (FEDSIM_NO_SOURCE_BUILD=1 skips the bundling)\n`);
      return undefined;
    }
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const now = new Date();
  utimesSync(dir, now, now);
  const url = (file) => pathToFileURL(join(dir, file)).href;
  return {
    dir,
    main: url(manifest.entries['cli/main.ts']),
    redirects: Object.fromEntries(Object.entries(manifest.entries).map(([entry, file]) => [pathToFileURL(join(src, entry)).href, url(file)])),
  };
}

/** Digest of what the bundle is made of: src/ (paths and bytes), this file, esbuild's version, and where the checkout is. */
function sourceKey(root, src, esbuildVersion) {
  const hash = createHash('sha256');
  hash.update(`${root}\0${esbuildVersion}\0`);
  hash.update(readFileSync(new URL(import.meta.url)));
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  for (const file of files) {
    hash.update(`\0${relative(src, file).split(sep).join('/')}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 24);
}

/**
 * Builds into a directory of its own and renames it into place, so that commands starting at
 * the same time (a test suite runs several) never see half a bundle: the first rename wins,
 * the others find it there and drop theirs. `key` is the sources' key now (see sourceKey).
 */
async function build(esbuild, src, cache, dir, key) {
  const scratch = `${dir}.${process.pid}.partial`;
  rmSync(scratch, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: src,
    entryPoints: ENTRIES.map((entry) => join(src, entry)),
    outdir: scratch,
    outbase: src,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL_PACKAGES.flatMap((name) => (name.endsWith('/*') ? [name] : [name, `${name}/*`])),
    conditions: ['fedsim-source'],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [ownImportMetaUrl(src), tfjsThroughRequire()],
    // For tfjsThroughRequire: esbuild's require() calls in an ES module need a `require`.
    banner: { js: "import { createRequire as __fedsimCreateRequire } from 'node:module';\nconst require = __fedsimCreateRequire(import.meta.url);" },
  });
  const entries = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!output.entryPoint) continue;
    // The metafile's paths are relative to absWorkingDir (src/).
    entries[output.entryPoint.split(sep).join('/')] = relative(scratch, resolve(src, file)).split(sep).join('/');
  }
  for (const entry of ENTRIES) if (!entries[entry]) throw new Error(`esbuild made no module for src/${entry}`);
  for (const file of Object.keys(result.metafile.outputs)) {
    if (file.endsWith('.map')) absoluteSources(resolve(src, file));
    // The banner's `require` is in every chunk's top scope, which esbuild did not check: a module
    // declaring one of its own there would make the chunk fail to load. Parsing each chunk finds it now.
    else await esbuild.transform(readFileSync(resolve(src, file), 'utf8'), { format: 'esm', loader: 'js', sourcefile: file, logLevel: 'silent' });
  }
  // An edit while esbuild read the files: the bundle may mix versions, and must not be kept under the key of either.
  if (join(cache, key()) !== dir) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error('src/ changed while it was bundled');
  }
  writeFileSync(join(scratch, 'manifest.json'), `${JSON.stringify({ entries }, null, 2)}\n`);
  try {
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, 'manifest.json'))) throw error;
  }
  removeStale(cache, dir);
}

/**
 * A source map's sources as file URLs. esbuild writes them relative to the map, and Node
 * resolves them from the map's real path: through a symlinked node_modules (a git worktree
 * sharing another checkout's) they would name the other checkout's files.
 */
function absoluteSources(mapFile) {
  const map = JSON.parse(readFileSync(mapFile, 'utf8'));
  map.sources = map.sources.map((source) => pathToFileURL(resolve(dirname(mapFile), source)).href);
  writeFileSync(mapFile, JSON.stringify(map));
}

/** Each src/ module's `import.meta.url` as its own file's URL, not the bundle chunk's. */
function ownImportMetaUrl(src) {
  return {
    name: 'fedsim-own-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (!args.path.startsWith(src + sep)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const contents = text.includes('import.meta.url') ? text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)) : text;
        return { contents, loader: args.path.endsWith('ts') ? 'ts' : 'js' };
      });
    },
  };
}

/**
 * tfjs through require(), not import: its packages are CommonJS, and an ES module's import of
 * one makes Node scan the sources of tfjs and of every package it re-exports (core, layers,
 * converter, data, two backends: megabytes) for the names they export, which cost more than
 * loading them (a third of a command's start-up). A required module is the same instance a scenario's `import` of tfjs gets
 * (Node's CommonJS cache), so tensors still cross between them.
 */
function tfjsThroughRequire() {
  return {
    name: 'fedsim-tfjs-through-require',
    setup(build) {
      build.onResolve({ filter: /^@tensorflow\// }, (args) => {
        // A dynamic import (the wasm backend, loaded when chosen) stays one: its exports are read as Node gives them.
        if (args.kind !== 'import-statement') return { path: args.path, external: true };
        return { path: args.path, namespace: 'fedsim-required' };
      });
      build.onLoad({ filter: /.*/, namespace: 'fedsim-required' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    },
  };
}

function removeStale(cache, keep) {
  const now = Date.now();
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (path === keep) continue;
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another command removed it first.
    }
  }
}
