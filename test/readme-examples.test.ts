/**
 * The README's examples say what they print, in comments; these run the examples (as the
 * README has them, importing 'fedsim' from this checkout) and check that they print it. The
 * package test (test/package.test.ts) compiles and runs every example against the packed
 * package, but only checks that it exits 0: a comment like "{1: …, 3: …}" could go stale
 * (it did: the listing also showed four intermediate results nobody had freed).
 *
 * Each checked output must appear in a comment of its example *and* in what the example
 * prints, so the README and this test cannot drift apart silently. Every TypeScript block of
 * the README must be a complete program, as the README claims.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importedSpecifiers, isPackageSpecifier, runnableExamples, typescriptBlocks } from './helpers/readme-examples.js';
import { ROOT } from './helpers/fedsim-cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** README heading → what its example prints (each quoted in a comment of the example). */
const PRINTS: Record<string, string[]> = {
  'Workers and pointers in one example': ['[[70],]', '{1: tensor([1, 2, 3, 4, 5]), 3: tensor([1, 1, 1, 1, 1])}'],
  'Fixed precision, additive sharing and secure aggregation': ['[0.249, -0.201, -1.201]', '[0.25, -0.5]'],
  'Privacy model': ['[1.75, 2]', 'true'],
};

const squeeze = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Runs an example in this process (its top-level awaits included) and returns what it printed. */
async function printed(code: string, name: string): Promise<string> {
  // Inside the checkout, so that 'fedsim' resolves to this package (the fedsim-source condition: src/) and tfjs to its node_modules.
  const base = join(ROOT, '.fedsim');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'readme-'));
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, code);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

test('every TypeScript block of the README is a complete program (it imports the package), as the README says', (t) => {
  const fragments = typescriptBlocks(README).filter((block) => !importedSpecifiers(block.code).some(isPackageSpecifier));
  t.deepEqual(
    fragments.map((block) => `README.md:${block.line} (${block.heading})`),
    [],
    'a block that does not import fedsim is a fragment; the README promises complete programs',
  );
});

for (const [heading, outputs] of Object.entries(PRINTS)) {
  test.serial(`README example '${heading}' prints what its comments say`, async (t) => {
    const example = runnableExamples(README).find((e) => e.heading === heading);
    if (!example) return t.fail(`README.md has no runnable example under '${heading}'`);
    const comments = example.code
      .split('\n')
      .map((line) => line.slice(line.indexOf('//') + 2))
      .filter((_, i) => example.code.split('\n')[i].includes('//'));
    const out = squeeze(await printed(example.code, example.name));
    for (const output of outputs) {
      t.true(comments.some((comment) => comment.includes(output)), `README.md:${example.line}: no comment of the example quotes ${output}`);
      t.true(out.includes(squeeze(output)), `README.md:${example.line}: the example printed\n${out}\nwhich does not include ${output}`);
    }
  });
}
