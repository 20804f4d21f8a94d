/**
 * "Did you mean …?" for unknown fields of an experiment file: the fields the schema
 * allows at that place, and the one closest to what was typed (`localEpoch` →
 * `localEpochs`, `lR` → `lr`).
 */
import type { z } from 'zod';

type Path = readonly PropertyKey[];

/** zod's schema definition, as far as walking it needs. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: readonly z.ZodType[];
  element?: z.ZodType;
  valueType?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
  values?: readonly unknown[];
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a value at `path` may have to match (several behind a union). */
function schemasAt(schema: z.ZodType, path: Path, depth = 0): z.ZodType[] {
  if (depth > 64) return [];
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return schemasAt(def.innerType!, path, depth + 1);
    case 'pipe':
      return schemasAt(def.in!, path, depth + 1);
    case 'lazy':
      return schemasAt(def.getter!(), path, depth + 1);
    case 'union':
      return def.options!.flatMap((option) => schemasAt(option, path, depth + 1));
    case 'intersection':
      return [...schemasAt(def.left!, path, depth + 1), ...schemasAt(def.right!, path, depth + 1)];
  }
  if (path.length === 0) return [schema];
  const [key, ...rest] = path;
  if (def.type === 'object' && typeof key === 'string' && def.shape![key]) return schemasAt(def.shape![key], rest, depth + 1);
  if (def.type === 'array' && typeof key === 'number') return schemasAt(def.element!, rest, depth + 1);
  if (def.type === 'record') return schemasAt(def.valueType!, rest, depth + 1);
  return [];
}

/** The literal fields of an object schema (a union's discriminators: `name: fedprox`), with their values. */
function literalFields(shape: Record<string, z.ZodType>): Array<[string, readonly unknown[]]> {
  return Object.entries(shape).flatMap(([key, field]) => {
    const def = defOf(field);
    return def.type === 'literal' ? [[key, def.values ?? []] as [string, readonly unknown[]]] : [];
  });
}

/** Does `value` take the branch `shape` of a union (its literal fields, e.g. `name: fedavg`, match)? Unknown values match every branch. */
function takesBranch(shape: Record<string, z.ZodType>, value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return literalFields(shape).every(([key, values]) => !(key in value) || values.includes((value as Record<string, unknown>)[key]));
}

/**
 * Field names a mapping at `path` may have, per `schema` (empty when it is not known).
 * Given the mapping (`value`), only the union branches it takes count: `mu` is a field
 * of `name: fedprox`, not of `name: fedavg`.
 */
export function knownFieldsAt(schema: z.ZodType, path: Path, value?: unknown): string[] {
  const names = objectShapesAt(schema, path)
    .filter((shape) => takesBranch(shape, value))
    .flatMap((shape) => Object.keys(shape));
  return [...new Set(names)];
}

/** The other union branches that have field `key` at `path`, named by their literal fields (`name: fedprox`). */
export function branchesWithField(schema: z.ZodType, path: Path, value: unknown, key: string): string[] {
  const labels = objectShapesAt(schema, path)
    .filter((shape) => key in shape && !takesBranch(shape, value))
    .flatMap((shape) => {
      const literals = literalFields(shape);
      return literals.length ? [literals.map(([k, values]) => `${k}: ${values.map(String).join(' | ')}`).join(', ')] : [];
    });
  return [...new Set(labels)];
}

/**
 * Dotted paths of every field named `key` anywhere in `schema` (`mu` → `algorithm.mu`), at
 * most `limit`: where a --set that put `key` in the wrong place probably meant it to go.
 */
export function fieldPathsNamed(schema: z.ZodType, key: string, limit = 3): string[] {
  const found = new Set<string>();
  const seen = new Set<z.ZodType>();
  const walk = (s: z.ZodType, prefix: string[], depth: number) => {
    // Schemas may be recursive (lazy) or shared: each is walked once, a few levels deep.
    if (depth > 8 || found.size >= limit || seen.has(s)) return;
    seen.add(s);
    for (const shape of objectShapesAt(s, [])) {
      for (const [name, field] of Object.entries(shape)) {
        if (name === key) found.add([...prefix, name].join('.'));
        walk(field, [...prefix, name], depth + 1);
      }
    }
  };
  walk(schema, [], 0);
  return [...found].slice(0, limit);
}

const objectShapesAt = (schema: z.ZodType, path: Path) =>
  schemasAt(schema, path).flatMap((s) => {
    const def = defOf(s);
    return def.type === 'object' ? [def.shape!] : [];
  });

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}

/** The known name closest to `typed`, when it is close enough to be a typo (else undefined). */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.toLowerCase() === typed.toLowerCase() ? 0.5 : editDistance(typed.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best === undefined) return undefined;
  // A third of the name, at least one edit: 'lR' → 'lr', 'localEpoch' → 'localEpochs', not 'seed' → 'name'.
  return best.distance <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}
