/**
 * An experiment's per-round rows (results.json `result.perRound`) as one flat table: the
 * shape both the CSV and the TensorBoard export read.
 *
 * Nested objects are flattened into dotted columns (`drops.offline`); lists (a skipped
 * round's `failures`) stay whole, as JSON text. Columns come in the order of their first
 * appearance, row by row, so the order is a function of results.json alone: the same run
 * always gives the same columns, and a field that only some rounds have (`skipped`,
 * `epsilon`) is still one column, empty where the round lacks it.
 */

/** A cell: a number, text, or absent (NaN, and what results.json wrote as "NaN", count as absent). */
export type Cell = number | string | undefined;

export interface MetricsTable {
  columns: string[];
  rows: Array<Record<string, Cell>>;
}

function flattenInto(out: Record<string, Cell>, prefix: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'number') {
    if (!Number.isNaN(value)) out[prefix] = value;
  } else if (typeof value === 'string') {
    // toJsonSafe wrote non-finite numbers as text; NaN means "no value", ±Infinity is kept as the text it is.
    if (value !== 'NaN') out[prefix] = value;
  } else if (typeof value === 'boolean') {
    out[prefix] = String(value);
  } else if (Array.isArray(value)) {
    out[prefix] = JSON.stringify(value);
  } else if (typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) flattenInto(out, prefix === '' ? key : `${prefix}.${key}`, inner);
  }
}

/** The table of `rows` (objects, one per round); `first` columns lead when present (e.g. round). */
export function metricsTable(rows: readonly unknown[], first: readonly string[] = ['round']): MetricsTable {
  const seen = new Set<string>();
  const flat = rows.map((row) => {
    const out: Record<string, Cell> = {};
    flattenInto(out, '', row);
    for (const key of Object.keys(out)) seen.add(key);
    return out;
  });
  const leading = first.filter((c) => seen.has(c));
  return { columns: [...leading, ...[...seen].filter((c) => !leading.includes(c))], rows: flat };
}
