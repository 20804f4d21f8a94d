/**
 * The README's TypeScript examples, read from README.md at test time so that a
 * later edit of the README is covered without touching the tests.
 *
 * The rule: a ```ts block that imports from the package ('fedsim' or
 * 'fedsim/…') is a runnable example — a complete program a user could paste
 * into a project that installed fedsim. Blocks without such an import are
 * fragments that continue the prose (they are not compiled). No ts block may
 * import from a relative path: the README shows the package as users get it.
 */
export interface CodeBlock {
  /** The nearest `##`/`###` heading above the block. */
  heading: string;
  /** 1-based line of the opening fence in the markdown file. */
  line: number;
  code: string;
}

export interface ReadmeExample extends CodeBlock {
  /** A file name for the example, from its heading: `readme-workers-and-pointers-in-one-example`. */
  name: string;
}

const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)/;
const TS_LANGS = new Set(['ts', 'typescript', 'mts']);
/** `from 'x'`, `import 'x'` and `import('x')`, with either quote. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g;

/** Every fenced TypeScript block of a markdown text, in order. */
export function typescriptBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const title = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (title) heading = title[1].trim();
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, fence, lang] = open;
    // A block closes at a fence of the same character, at least as long (CommonMark).
    const close = new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !close.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: a code block opened here is never closed`);
    if (TS_LANGS.has(lang.toLowerCase())) blocks.push({ heading, line: start + 1, code: body.join('\n') + '\n' });
  }
  return blocks;
}

/** The module specifiers a piece of TypeScript imports. */
export function importedSpecifiers(code: string): string[] {
  return [...code.matchAll(SPECIFIER)].map((m) => m[2]);
}

export const isPackageSpecifier = (specifier: string) => specifier === 'fedsim' || specifier.startsWith('fedsim/');
export const isRelativeSpecifier = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/');

/** The runnable examples of a markdown text (see the rule above), each with a distinct file name. */
export function runnableExamples(markdown: string): ReadmeExample[] {
  const used = new Map<string, number>();
  return typescriptBlocks(markdown)
    .filter((block) => importedSpecifiers(block.code).some(isPackageSpecifier))
    .map((block) => {
      const base = 'readme-' + (block.heading.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'example');
      const count = (used.get(base) ?? 0) + 1;
      used.set(base, count);
      return { ...block, name: count === 1 ? base : `${base}-${count}` };
    });
}

/** Blocks that import a relative path (never allowed in the README), as `README.md:line (heading): 'spec'`. */
export function relativeImports(markdown: string): string[] {
  return typescriptBlocks(markdown).flatMap((block) =>
    importedSpecifiers(block.code)
      .filter(isRelativeSpecifier)
      .map((spec) => `README.md:${block.line} (${block.heading}): '${spec}'`),
  );
}
