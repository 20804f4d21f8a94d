/**
 * An experiment's per-round rows (results.json `result.perRound`) as one flat table: the
 * shape both the CSV and the TensorBoard export read.
 *
 * Nested objects are flattened into dotted columns (`drops.offline`); lists (a skipped
 * round's `failures`) stay whole, as JSON text. Columns come in the order of their first
 * appearance, row by row, so the order is a function of results.json alone: the same run
 * always gives the same columns, and a field that only some rounds have (`skipped`,
 * `epsilon`) is still one column, empty where the round lacks it. A header that must not
 * depend on the run at all names its columns with withColumns (round-rows.ts ROUND_COLUMNS,
 * client-table.ts).
 */

/** A cell: a number, text, or absent (NaN, and what results.json wrote as "NaN", count as absent). */
export type Cell = number | string | undefined;

export interface MetricsTable {
  columns: string[];
  rows: Array<Record<string, Cell>>;
}

/** Writes `value`'s leaves into `out`; a leaf without a value (NaN, null) still names its column in `columns`. */
function flattenInto(out: Record<string, Cell>, columns: Set<string>, prefix: string, value: unknown): void {
  if (value === undefined) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) flattenInto(out, columns, prefix === '' ? key : `${prefix}.${key}`, inner);
    return;
  }
  columns.add(prefix);
  if (typeof value === 'number') {
    if (!Number.isNaN(value)) out[prefix] = value;
  } else if (typeof value === 'string') {
    // toJsonSafe wrote non-finite numbers as text; NaN means "no value", ±Infinity is kept as the text it is.
    if (value !== 'NaN') out[prefix] = value;
  } else if (typeof value === 'boolean') {
    out[prefix] = String(value);
  } else if (Array.isArray(value)) {
    out[prefix] = JSON.stringify(value);
  }
}

/**
 * `table` with `fixed` as its leading columns whether or not a row has them (empty cells
 * where none does), then any other column it has: the same header for every run of a kind.
 */
export function withColumns(table: MetricsTable, fixed: readonly string[]): MetricsTable {
  return { columns: [...fixed, ...table.columns.filter((c) => !fixed.includes(c))], rows: table.rows };
}

/** The table of `rows` (objects, one per round); `first` columns lead when present (e.g. round). */
export function metricsTable(rows: readonly unknown[], first: readonly string[] = ['round']): MetricsTable {
  const seen = new Set<string>();
  const flat = rows.map((row) => {
    const out: Record<string, Cell> = {};
    flattenInto(out, seen, '', row);
    return out;
  });
  const leading = first.filter((c) => seen.has(c));
  return { columns: [...leading, ...[...seen].filter((c) => !leading.includes(c))], rows: flat };
}
