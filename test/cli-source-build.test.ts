/**
 * The `fedsim` command in a source checkout runs a bundle of src/ (bin/source-build.js):
 *   - a scenario run by it shares fedsim's modules with the command, as when src/ ran
 *     through tsx (FEDSIM_NO_SOURCE_BUILD=1, which still works);
 *   - the bundle is made once per version of src/ — an edit gives a new one — and its
 *     modules see their own src/ URL as import.meta.url.
 * That the checkpoint code digest means the same in the bundle is checkpoint-resume.test.ts's
 * resume through the real bin of a checkpoint recorded in-process; that --debug stacks name
 * src/*.ts lines is cli-failures.test.ts's.
 */
import test from 'ava';
import { copyFileSync, cpSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, fedsimWith, tempDir } from './helpers/fedsim-cli.js';

interface SourceBuild {
  dir: string;
  main: string;
  redirects: Record<string, string>;
}
const { sourceBuild } = (await import(pathToFileURL(join(ROOT, 'bin', 'source-build.js')).href)) as { sourceBuild(root: string): Promise<SourceBuild | undefined> };

const ONE_COPY = 'test/fixtures/one-copy-of-fedsim.ts';

for (const [how, env] of [
  ['the bundle of src/', {}],
  ['src/ through tsx (FEDSIM_NO_SOURCE_BUILD=1)', { FEDSIM_NO_SOURCE_BUILD: '1' }],
] as const) {
  test(`a scenario run by the checkout's fedsim from ${how} imports the very modules the command runs`, async (t) => {
    const { code, stdout, stderr } = await fedsimWith({ env }, 'run', ONE_COPY, '--out', tempDir(t), '-q');
    t.is(code, 0, stdout + stderr);
    t.is(stderr, '');
  });
}

test('the bundle is made once per version of src/: an edit gives a new one, whose modules see their own src/ URL', async (t) => {
  // A checkout of its own (sharing node_modules), so that its src/ can be edited.
  const root = tempDir(t);
  cpSync(join(ROOT, 'src'), join(root, 'src'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const built = async (): Promise<SourceBuild> => {
    const bundle = await sourceBuild(root);
    if (!bundle) throw new Error('no bundle was made');
    // The cache is in the shared node_modules: leave nothing there.
    t.teardown(() => rmSync(bundle.dir, { recursive: true, force: true }));
    return bundle;
  };

  const first = await built();
  const madeAt = statSync(join(first.dir, 'manifest.json')).mtimeMs;
  const again = await built();
  t.deepEqual(again, first, 'the same sources: the same bundle');
  t.is(statSync(join(again.dir, 'manifest.json')).mtimeMs, madeAt, 'not made again');
  for (const entry of ['index.ts', 'fl/index.ts', 'scenario/index.ts']) {
    t.truthy(first.redirects[pathToFileURL(join(root, 'src', entry)).href], `'fedsim' imports of src/${entry} go to the bundle`);
  }
  // The code digest a checkpoint records hashes the folder its module came from: still src/.
  const ownUrl = JSON.stringify(pathToFileURL(join(root, 'src', 'fl', 'checkpoint', 'code-digest.ts')).href);
  const chunks = readdirSync(first.dir).filter((f) => f.endsWith('.js'));
  t.true(chunks.some((f) => readFileSync(join(first.dir, f), 'utf8').includes(ownUrl)), `some chunk holds ${ownUrl}`);

  writeFileSync(join(root, 'src', 'version.ts'), `${readFileSync(join(root, 'src', 'version.ts'), 'utf8')}\n// an edit\n`);
  const edited = await built();
  t.not(edited.dir, first.dir, 'an edit of src/: another bundle');
  t.not(edited.main, first.main);
});
