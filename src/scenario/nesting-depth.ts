/**
 * How deeply a YAML/JSON file nests its collections, found before the file is built.
 *
 * Building a document from YAML, and validating it, recurse once per level: a file of
 * a few thousand `[` ends in "Maximum call stack size exceeded" from inside the YAML
 * library. The YAML parser's token tree (its CST) is built without recursion, so it is
 * walked here with a stack of its own, and the first collection past the limit is
 * reported with its line — before anything recursive touches the file.
 */
import { type CST, LineCounter, Parser } from 'yaml';

export interface TooDeep {
  /** 1-based line and column of the first collection past the limit. */
  line: number;
  col: number;
}

/** The place of the first collection nested deeper than `maxDepth`, or undefined when none is. */
export function firstTooDeep(text: string, maxDepth: number): TooDeep | undefined {
  const lines = new LineCounter();
  const pending: Array<[CST.Token, number]> = [];
  for (const token of new Parser(lines.addNewLine).parse(text)) pending.push([token, 0]);
  while (pending.length > 0) {
    const [token, depth] = pending.pop()!;
    const children = childrenOf(token);
    if (children === undefined) continue;
    const inside = token.type === 'document' ? depth : depth + 1;
    if (inside > maxDepth) return lines.linePos(token.offset);
    for (const child of children) pending.push([child, inside]);
  }
  return undefined;
}

/** The tokens inside a document or collection (undefined for anything else). */
function childrenOf(token: CST.Token): CST.Token[] | undefined {
  switch (token.type) {
    case 'document':
      return token.value ? [token.value] : [];
    case 'block-map':
    case 'block-seq':
    case 'flow-collection':
      return token.items.flatMap((item) => [item.key, item.value].filter((t): t is CST.Token => t !== undefined && t !== null));
    default:
      return undefined;
  }
}
