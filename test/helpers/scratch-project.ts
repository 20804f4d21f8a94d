/**
 * A scratch npm project that installs fedsim the way a user would — from the
 * tarball `npm pack` makes — without the network.
 *
 * `npm install <tarball>` would ask the registry for every dependency's metadata.
 * Instead the scratch project gets a package-lock.json cut from this repository's
 * lockfile: the tarball, plus exactly the packages its dependencies (and the
 * project's own) reach, at the versions and integrity hashes this repository
 * uses. `npm ci --offline` then takes every tarball from the npm cache, which
 * `npm ci`/`npm install` of this repository filled. Only production dependencies
 * of fedsim are installed, so a module that dist/ imports but package.json lists
 * under devDependencies fails here as it would for a user.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for npm and the installed package's commands: this process's,
 * without what an outer `npm test` exports (npm_config_local_prefix would point npm
 * in the scratch project back at this repository). The cache location is kept.
 */
export function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return { ...env, ...extra };
}

/** Runs a command without a shell; never throws for a non-zero exit (the caller asserts on `code`). */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? cleanEnvironment(), maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && typeof error.code !== 'number' ? `${stderr}${error.message}` : stderr });
    });
  });
}

/** `npm pack` of the repository at `root` into `destination`; returns the tarball's path. It runs `prepack`, so `root`/dist is rebuilt. */
export async function packRepository(root: string, destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true });
  const packed = await run('npm', ['pack', '--pack-destination', destination, '--loglevel=error'], { cwd: root });
  if (packed.code !== 0) throw new Error(`npm pack failed (exit ${packed.code}):\n${packed.stdout}\n${packed.stderr}`);
  const tarballs = readdirSync(destination).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack should leave one .tgz in ${destination}, found: ${tarballs.join(', ') || 'none'}`);
  return join(destination, tarballs[0]);
}

/** The key of the lockfile entry that `name` resolves to from the package at `from` (Node's upward node_modules search). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const key = `${dir === '' ? '' : dir + '/'}node_modules/${name}`;
    if (packages[key]) return key;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('node_modules/');
    dir = dir.slice(0, Math.max(0, cut - 1));
  }
}

/**
 * The entries of `lock` that the dependency names `roots` reach from the top level:
 * dependencies, optional dependencies (npm skips those for other platforms) and
 * required peers, transitively. A required dependency missing from the lockfile is
 * an error: the repository's lockfile is out of date.
 */
export function lockClosure(lock: Lockfile, roots: Record<string, string>, from = ''): Set<string> {
  const reached = new Set<string>();
  const visit = (dependent: string, name: string, required: boolean) => {
    const key = resolveInLock(lock.packages, dependent, name);
    if (key === undefined) {
      if (required) throw new Error(`package-lock.json has no entry for '${name}' (needed by ${dependent || 'the root'}): run npm install`);
      return;
    }
    if (reached.has(key)) return;
    reached.add(key);
    const entry = lock.packages[key];
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(key, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(key, dep, false);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(key, dep, !entry.peerDependenciesMeta?.[dep]?.optional);
  };
  for (const name of Object.keys(roots)) visit(from, name, true);
  return reached;
}

export interface ScratchProject {
  dir: string;
  /** The installed package: `<dir>/node_modules/fedsim`. */
  packageDir: string;
}

/**
 * Makes a project in `dir` whose dependencies are the tarball and `extraDependencies`
 * (names of packages the repository's lockfile has, e.g. what the examples import),
 * and installs it offline from the npm cache.
 */
export async function installScratchProject(options: {
  dir: string;
  tarball: string;
  repositoryRoot: string;
  extraDependencies: readonly string[];
}): Promise<ScratchProject> {
  const { dir, tarball, repositoryRoot } = options;
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as Manifest;
  const lock = JSON.parse(readFileSync(join(repositoryRoot, 'package-lock.json'), 'utf8')) as Lockfile;
  if (lock.lockfileVersion < 2) throw new Error(`package-lock.json has lockfileVersion ${lock.lockfileVersion}; the scratch install needs version 2 or 3 (npm ≥ 7)`);

  const tarballSpec = `file:${tarball}`;
  const extras: Record<string, string> = {};
  for (const name of options.extraDependencies) {
    const entry = lock.packages[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`'${name}' is not a top-level package in package-lock.json, so the scratch project cannot install it offline`);
    extras[name] = entry.version;
  }
  // fedsim's own optional dependencies (tfjs-node, whose install downloads a native
  // library) are left out: the installed package must work without them.
  const reached = lockClosure(lock, { ...manifest.dependencies, ...extras });

  const packages: Record<string, LockEntry> = {
    '': { name: 'fedsim-scratch', version: '0.0.0', dependencies: { [manifest.name]: tarballSpec, ...extras } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: tarballSpec,
      integrity: 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64'),
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const key of [...reached].sort()) {
    // Drop the repository's dev/peer flags: here @types/node is a real dependency, and NODE_ENV=production
    // (which makes npm omit dev packages) must not skip it. Keep `optional`: it lets npm skip other
    // platforms' builds (esbuild's).
    const { dev, devOptional, peer, ...entry } = lock.packages[key];
    packages[key] = entry;
  }

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fedsim-scratch', version: '0.0.0', private: true, type: 'module', dependencies: packages[''].dependencies }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'fedsim-scratch', version: '0.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  // --ignore-scripts: no dependency needs its install script here (esbuild's binary
  // comes as an optional dependency); --offline: the cache or nothing.
  const installed = await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  if (installed.code !== 0) {
    throw new Error(
      `npm ci --offline in the scratch project failed (exit ${installed.code}). If a tarball is missing from the npm cache, ` +
        `run npm ci in the repository once (it fills the cache).\n${installed.stdout}\n${installed.stderr}`,
    );
  }
  return { dir, packageDir: join(dir, 'node_modules', manifest.name) };
}
