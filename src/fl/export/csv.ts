/**
 * A metrics table as CSV (RFC 4180): comma-separated, CRLF line ends, a header row, and a
 * field quoted (with inner quotes doubled) exactly when it holds a comma, a quote, CR or LF.
 * An absent value (or NaN) is an empty field.
 *
 * Numbers: an integer is written exactly (counts, bytes, virtual ms up to 2^53); any other
 * number is rounded to CSV_SIGNIFICANT_DIGITS (15) significant digits and written in the
 * shortest text that reads back to that rounded value. A double holds 15.9 significant
 * digits, so this drops only the last bit or two of noise that sums of floats leave
 * (99960.00000000001 → 99960, 0.1 + 0.2 → 0.3) and keeps every digit that can tell two
 * runs apart (losses and accuracies differ from the 8th digit on when anything changed;
 * float32 model values have ~7). Exponent form as JSON writes it (1e-7, 1.5e+21).
 */
import type { Cell, MetricsTable } from './metrics-table.js';

export const CSV_SIGNIFICANT_DIGITS = 15;

/** How a number is written in fedsim's CSV files (see the file comment). */
export function csvNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(CSV_SIGNIFICANT_DIGITS)));
}

function field(cell: Cell | string): string {
  if (cell === undefined) return '';
  const text = typeof cell === 'number' ? csvNumber(cell) : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(table: MetricsTable): string {
  const lines = [table.columns.map(field).join(',')];
  for (const row of table.rows) lines.push(table.columns.map((c) => field(row[c])).join(','));
  return lines.map((line) => line + '\r\n').join('');
}
