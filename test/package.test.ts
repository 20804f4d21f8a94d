/**
 * fedsim as users get it: the package's exports, the README's examples and the
 * scenario files use only what the package exports, and the tarball `npm pack`
 * makes installs and works — the README examples compile against its types and
 * run on plain Node, and its `fedsim` command runs a scenario.
 *
 * The install test packs (which builds dist/), installs offline into a scratch
 * project and compiles there, which takes about a minute: it runs when
 * FEDSIM_PACKAGE_TEST=1 (.ci/run sets it). The checks above it always run.
 */
import test from 'ava';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importedSpecifiers, isPackageSpecifier, isRelativeSpecifier, relativeImports, runnableExamples, typescriptBlocks } from './helpers/readme-examples.js';
import { cleanEnvironment, installScratchProject, packRepository, run, type CommandResult } from './helpers/scratch-project.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string | Record<string, string>>;
};
/** The export condition that points the package's own name at src/ in this checkout (bin/source-condition.js, ava, tsconfig). */
const SOURCE_CONDITION = 'fedsim-source';
const PACKAGE_TEST_FLAG = 'FEDSIM_PACKAGE_TEST';

/** `@scope/name/deep` → `@scope/name`; `name/deep` → `name`. */
const packageNameOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);

function scenarioFiles(dir = join(ROOT, 'scenarios')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? scenarioFiles(join(dir, entry.name)) : /\.m?ts$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** The conditional exports of the package: subpath → { condition → target }. */
const conditionalExports = Object.entries(manifest.exports).filter((e): e is [string, Record<string, string>] => typeof e[1] === 'object');
const exportSpecifiers = conditionalExports.map(([subpath]) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`));

test('every ts block of the README is either a fragment (no imports) or a runnable example importing the package, never a relative path', (t) => {
  t.deepEqual(relativeImports(README), [], 'README examples must import from the package (fedsim, fedsim/fl, …), as a user would');
  const importing = typescriptBlocks(README).filter((block) => importedSpecifiers(block.code).length > 0);
  const runnable = runnableExamples(README);
  t.deepEqual(
    importing.filter((block) => !runnable.some((example) => example.line === block.line)).map((block) => `README.md:${block.line}`),
    [],
    'a block with imports but none from the package would silently escape the install test',
  );
  t.true(runnable.length >= 1, 'the README has runnable examples');
  for (const example of runnable) {
    const unexported = importedSpecifiers(example.code).filter((s) => isPackageSpecifier(s) && !exportSpecifiers.includes(s));
    t.deepEqual(unexported, [], `README.md:${example.line} imports a subpath the package does not export`);
  }
});

test('scenario files import only the package, other packages, and other scenario files', (t) => {
  const scenariosDir = join(ROOT, 'scenarios');
  const offenders: string[] = [];
  for (const file of scenarioFiles()) {
    for (const specifier of importedSpecifiers(readFileSync(file, 'utf8'))) {
      const where = `${relative(ROOT, file)}: '${specifier}'`;
      if (isRelativeSpecifier(specifier)) {
        if (relative(scenariosDir, resolve(dirname(file), specifier)).startsWith('..')) offenders.push(`${where} reaches outside scenarios/`);
      } else if (isPackageSpecifier(specifier) && !exportSpecifiers.includes(specifier)) {
        offenders.push(`${where} is not an export of the package`);
      }
    }
  }
  t.deepEqual(offenders, []);
});

test('each export runs src/ in this checkout and publishes the same module, built, under dist/', (t) => {
  t.true(conditionalExports.length >= 3, 'fedsim, fedsim/fl and fedsim/scenario at least');
  for (const [subpath, targets] of conditionalExports) {
    const source = targets[SOURCE_CONDITION];
    t.truthy(source, `${subpath}: a '${SOURCE_CONDITION}' target, so this checkout needs no build`);
    t.is(Object.keys(targets)[0], SOURCE_CONDITION, `${subpath}: '${SOURCE_CONDITION}' comes first (the first matching condition wins)`);
    t.true(existsSync(join(ROOT, source)), `${subpath}: ${source} exists`);
    const built = source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '');
    t.deepEqual({ types: targets.types, import: targets.import }, { types: `${built}.d.ts`, import: `${built}.js` }, `${subpath}: published targets`);
    // This process runs with --conditions=fedsim-source (package.json "ava"), as npm scripts and bin/fedsim.js do.
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    t.is(import.meta.resolve(specifier), new URL(source, new URL('..', import.meta.url)).href, `${specifier} resolves to src/`);
  }
  t.false(manifest.files.includes('src'), 'src/ is not published: its absence is how bin/fedsim.js tells an installed package from a checkout');
});

const packageTestEnabled = process.env[PACKAGE_TEST_FLAG] === '1';

if (!packageTestEnabled) {
  test.skip(`the packed tarball installs and works (slow: set ${PACKAGE_TEST_FLAG}=1; .ci/run does)`, () => {});
} else {
  /** The scenario the installed command runs: the smallest one (actors only, no tensors). */
  const CLI_SCENARIO = 'scenarios/ping-pong.ts';
  const examples = runnableExamples(README);
  const work = mkdtempSync(join(tmpdir(), 'fedsim-package-'));
  const projectDir = join(work, 'project');
  const nodeEnv = () => cleanEnvironment({ FEDSIM_BACKEND: 'wasm', NO_COLOR: '1' });

  interface Prepared {
    packageDir: string;
    compiled: CommandResult;
  }

  let prepared: Prepared;

  test.before(async () => {
    const tarball = await packRepository(ROOT, join(work, 'pack'));
    // The project depends on what its code imports besides fedsim, as a user's would.
    const userCode = [...examples.map((e) => e.code), ...scenarioFiles().map((f) => readFileSync(f, 'utf8'))];
    const imported = new Set(userCode.flatMap(importedSpecifiers).filter((s) => !isRelativeSpecifier(s) && !isPackageSpecifier(s) && !isBuiltin(s)).map(packageNameOf));
    const { packageDir } = await installScratchProject({ dir: projectDir, tarball, repositoryRoot: ROOT, extraDependencies: [...imported, '@types/node'] });

    // The user's code: the README examples and a copy of scenarios/.
    mkdirSync(join(projectDir, 'examples'));
    for (const example of examples) writeFileSync(join(projectDir, 'examples', `${example.name}.ts`), example.code);
    cpSync(join(ROOT, 'scenarios'), join(projectDir, 'scenarios'), { recursive: true });
    writeFileSync(
      join(projectDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], rootDir: '.', outDir: 'out' },
        include: ['examples/**/*.ts', 'scenarios/**/*.ts'],
      }),
    );
    // This repository's TypeScript, so the scratch project need not install it.
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: projectDir });
    prepared = { packageDir, compiled };
  });

  test.after.always(() => rmSync(work, { recursive: true, force: true }));

  test('the tarball holds the built package and its command, not the sources', (t) => {
    const { packageDir } = prepared;
    for (const [subpath, targets] of conditionalExports) {
      for (const condition of ['types', 'import']) t.true(existsSync(join(packageDir, targets[condition])), `${subpath} → ${targets[condition]} is in the tarball`);
    }
    for (const bin of Object.values(manifest.bin)) t.true(existsSync(join(packageDir, bin)), `${bin} is in the tarball`);
    for (const absent of ['src', 'test', 'scenarios', 'bench', 'bin/source-condition.js', 'bin/source-build.js', 'tsconfig.json']) t.false(existsSync(join(packageDir, absent)), `${absent} is not in the tarball`);
  });

  test("the README examples and scenarios/ compile against the installed package's types", (t) => {
    const { compiled } = prepared;
    t.is(compiled.code, 0, `tsc in the scratch project:\n${compiled.stdout}${compiled.stderr}`);
  });

  for (const example of examples) {
    test(`README example '${example.heading}' (README.md:${example.line}) runs on plain Node with the installed package`, async (t) => {
      // tsc emits even when a type check fails, so this runs (and reports) independently of the compile test.
      const result = await run(process.execPath, [join('out', 'examples', `${example.name}.js`)], { cwd: projectDir, env: nodeEnv() });
      t.is(result.code, 0, `node out/examples/${example.name}.js (FEDSIM_BACKEND=wasm):\n${result.stdout}\n${result.stderr}`);
    });
  }

  test('the installed fedsim command prints its help and runs a TypeScript scenario on the wasm backend, with the same log as this checkout', async (t) => {
    const help = await run('npx', ['--no', '--', 'fedsim', '--help'], { cwd: projectDir, env: nodeEnv() });
    t.is(help.code, 0, help.stderr);
    t.regex(help.stdout, /Usage: fedsim/);

    const runArgs = (out: string) => ['run', CLI_SCENARIO, '--seed', '3', '--backend', 'wasm', '--out', out, '--quiet'];
    const installedOut = join(projectDir, 'runs', 'installed');
    const checkoutOut = join(work, 'checkout-run');
    const [installed, checkout] = await Promise.all([
      run('npx', ['--no', '--', 'fedsim', ...runArgs(installedOut)], { cwd: projectDir, env: nodeEnv() }),
      run(process.execPath, [join(ROOT, manifest.bin.fedsim), ...runArgs(checkoutOut)], { cwd: ROOT, env: nodeEnv() }),
    ]);
    t.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    t.regex(installed.stdout, /passed/);
    t.true(JSON.parse(readFileSync(join(installedOut, 'results.json'), 'utf8')).ok, 'results.json says the checks held');
    const log = readFileSync(join(installedOut, 'run.jsonl'), 'utf8');
    t.regex(JSON.parse(log.split('\n')[0]).backend, /^wasm /, 'the wasm backend found its .wasm files from the installed location');
    // dist/ is src/ compiled: one seed gives the same event log, header included, as the checkout's sources.
    t.is(checkout.code, 0, `${checkout.stdout}\n${checkout.stderr}`);
    t.true(log === readFileSync(join(checkoutOut, 'run.jsonl'), 'utf8'), 'the installed package and the checkout log the same run');
  });

  test('the installed fedsim trains an experiment in worker threads (dist/ workers) and logs the run of one thread in this checkout', async (t) => {
    const file = join(projectDir, 'workers.yaml');
    writeFileSync(file, 'kind: fedavg\ndata: { source: synthetic, alpha: 1, beta: 1, devices: 8, features: 6, classes: 3, maxSamplesPerDevice: 20 }\nmodel: { kind: mlp, layers: [6, 8, 3] }\nrounds: 2\nfraction: 0.5\nlocalEpochs: 1\nbatchSize: 5\nlr: 0.1\n');
    const runArgs = (out: string, workers: string) => ['run', file, '--backend', 'wasm', '--workers', workers, '--out', out, '--quiet'];
    const installedOut = join(projectDir, 'runs', 'installed-workers');
    const checkoutOut = join(work, 'checkout-one-thread');
    const installed = await run('npx', ['--no', '--', 'fedsim', ...runArgs(installedOut, '2')], { cwd: projectDir, env: nodeEnv() });
    const checkout = await run(process.execPath, [join(ROOT, manifest.bin.fedsim), ...runArgs(checkoutOut, '1')], { cwd: projectDir, env: nodeEnv() });
    t.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    t.is(checkout.code, 0, `${checkout.stdout}\n${checkout.stderr}`);
    t.true(readFileSync(join(installedOut, 'run.jsonl'), 'utf8') === readFileSync(join(checkoutOut, 'run.jsonl'), 'utf8'), 'two threads from dist/ log the one-thread run of src/');
  });
}
