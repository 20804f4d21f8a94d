/**
 * A metrics table as CSV (RFC 4180): comma-separated, CRLF line ends, a header row, and a
 * field quoted (with inner quotes doubled) exactly when it holds a comma, a quote, CR or LF.
 *
 * Numbers are written as JSON writes them (Number's shortest round-trip text: 0.1, 1e-7,
 * 27896), so a value reads back to the same double; an absent value (or NaN) is an empty
 * field.
 */
import type { Cell, MetricsTable } from './metrics-table.js';

function field(cell: Cell | string): string {
  if (cell === undefined) return '';
  const text = typeof cell === 'number' ? String(cell) : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(table: MetricsTable): string {
  const lines = [table.columns.map(field).join(',')];
  for (const row of table.rows) lines.push(table.columns.map((c) => field(row[c])).join(','));
  return lines.map((line) => line + '\r\n').join('');
}
