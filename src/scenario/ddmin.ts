/**
 * Delta debugging (Zeller & Hildebrandt, "Simplifying and Isolating
 * Failure-Inducing Input", 2002): the ddmin algorithm finds a 1-minimal subset of
 * `items` for which `fails` still holds — removing any single item makes the
 * failure go away. Each test here is a whole simulation run, so results are cached
 * by subset.
 */

export interface DdminResult<T> {
  items: T[];
  /** How many distinct subsets were tested. */
  tests: number;
}

export async function ddmin<T>(items: readonly T[], fails: (subset: T[]) => boolean | Promise<boolean>, options: { maxTests?: number } = {}): Promise<DdminResult<T>> {
  const maxTests = options.maxTests ?? 2000;
  const cache = new Map<string, boolean>();
  const index = new Map(items.map((item, i) => [item, i]));
  let tests = 0;
  const test = async (subset: T[]): Promise<boolean> => {
    const key = subset.map((item) => index.get(item)).join(',');
    const known = cache.get(key);
    if (known !== undefined) return known;
    tests++;
    const result = await fails(subset);
    cache.set(key, result);
    return result;
  };

  let current = [...items];
  let granularity = 2;
  while (current.length >= 2 && tests < maxTests) {
    const chunks = split(current, granularity);
    let reduced = false;
    for (const chunk of chunks) {
      if (await test(chunk)) {
        current = chunk;
        granularity = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && granularity > 2) {
      for (let i = 0; i < chunks.length; i++) {
        const complement = chunks.flatMap((c, j) => (j === i ? [] : c));
        if (await test(complement)) {
          current = complement;
          granularity = Math.max(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= current.length) break;
      granularity = Math.min(current.length, granularity * 2);
    }
  }
  return { items: current, tests };
}

/** `items` cut into `n` contiguous chunks of near-equal size. */
function split<T>(items: T[], n: number): T[][] {
  const chunks: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + Math.floor((items.length - start) / (n - i));
    if (end > start) chunks.push(items.slice(start, end));
    start = end;
  }
  return chunks;
}
