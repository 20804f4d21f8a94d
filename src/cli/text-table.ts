/**
 * A two-or-more column text table with box-drawing borders, for terminal summaries.
 */
// Escape sequences take no columns on screen.
const visibleLength = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length;

export function renderTable(rows: ReadonlyArray<readonly string[]>, options: { title?: string; header?: readonly string[] } = {}): string {
  const all = options.header ? [options.header, ...rows] : [...rows];
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(1, ...all.map((r) => visibleLength(r[c] ?? ''))));
  const pad = (text: string, width: number) => text + ' '.repeat(width - visibleLength(text));
  const line = (cells: readonly string[]) => `│ ${widths.map((w, c) => pad(cells[c] ?? '', w)).join(' │ ')} │`;
  const rule = (left: string, middle: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right;
  const out: string[] = [];
  if (options.title) out.push(options.title);
  out.push(rule('┌', '┬', '┐'));
  if (options.header) {
    out.push(line(options.header));
    out.push(rule('├', '┼', '┤'));
  }
  for (const row of rows) out.push(line(row));
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}
