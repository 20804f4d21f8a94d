/**
 * The self-contained HTML report of `fedsim compare`: a line per run, the runs' settings
 * side by side (the ones that differ highlighted), and their curves overlaid. Like the run
 * report it is inline CSS and SVG only and holds no wall-clock data: the same runs give the
 * same bytes.
 */
import type { Comparison } from '../compare/comparison.js';
import { REPORT_STYLE } from './html-report.js';
import { renderLineChart } from './line-chart.js';
import { esc, fmt } from './svg.js';

export interface CompareReportModel {
  title: string;
  comparison: Comparison;
  /** Per run, in order: its results.json and report.html relative to the report's folder (links). */
  links: Array<{ results: string; report?: string }>;
}

const COMPARE_STYLE = `
tr.differs th,tr.differs td{background:#fff4d6}tr.differs th::before{content:"≠ ";color:#b26a00;font-weight:700}
td.unset{color:#999}.num{text-align:right;font-variant-numeric:tabular-nums}
`;

/** Virtual time in the unit that reads best: ms, s or h. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${fmt(ms)} ms`;
  if (ms < 3_600_000) return `${fmt(ms / 1000)} s`;
  return `${fmt(ms / 3_600_000)} h`;
}

export function renderCompareReport(model: CompareReportModel): string {
  const { comparison } = model;
  const html: string[] = [];
  html.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  html.push(`<title>${esc(model.title)} — fedsim comparison</title><style>${REPORT_STYLE}${COMPARE_STYLE}</style></head><body><main>`);
  html.push(`<h1>${esc(model.title)}</h1>`);

  // No wall time: results.json holds no wall-clock data (so that the same run gives the same bytes).
  html.push('<h2>Runs</h2><table><tr><th>run</th><th>status</th><th>final test accuracy</th><th>rounds</th><th>skipped rounds</th><th>virtual time</th><th>files</th></tr>');
  comparison.runs.forEach((run, i) => {
    const link = model.links[i];
    html.push(
      `<tr><th>${esc(run.label)}</th><td class="${run.ok ? 'ok' : 'bad'}">${run.ok ? '✓ passed' : '✗ failed'}</td>` +
        `<td class="num">${run.finalTestAccuracy === undefined ? '—' : esc(run.finalTestAccuracy.toFixed(4))}</td>` +
        `<td class="num">${run.rounds ?? '—'}</td><td class="num">${run.skippedRounds}</td><td class="num">${esc(formatDuration(run.virtualTimeMs))}</td>` +
        `<td><a href="${esc(link.results)}">results.json</a>${link.report ? ` · <a href="${esc(link.report)}">report</a>` : ''}</td></tr>`,
    );
  });
  html.push('</table>');

  html.push('<h2>Settings</h2>');
  const differing = comparison.settings.filter((s) => s.differs).length;
  html.push(`<p class="muted">${differing === 0 ? 'The runs have the same settings.' : `Highlighted (≠): the ${differing} setting${differing === 1 ? '' : 's'} that differ.`} — means the run does not set it (the experiment's default).</p>`);
  html.push(`<table><tr><th>setting</th>${comparison.runs.map((r) => `<th>${esc(r.label)}</th>`).join('')}</tr>`);
  for (const row of comparison.settings) {
    const cells = row.values.map((v) => (v === undefined ? '<td class="unset">—</td>' : `<td>${esc(v)}</td>`)).join('');
    html.push(`<tr${row.differs ? ' class="differs"' : ''}><th>${esc(row.key)}</th>${cells}</tr>`);
  }
  html.push('</table>');
  if (comparison.withoutSettings.length) {
    html.push(`<p class="muted">${esc(comparison.withoutSettings.join(', '))}: results.json records no experiment settings (written by an older fedsim); only seed, scheduler, faults and backend are shown for ${comparison.withoutSettings.length === 1 ? 'it' : 'them'}.</p>`);
  }

  html.push('<h2>Curves</h2><div class="charts">');
  for (const chart of comparison.charts) html.push(renderLineChart(chart.series, { title: chart.title, xLabel: chart.x, yLabel: chart.y, width: 720, legendColumns: 2 }));
  html.push('</div>');
  html.push('</main></body></html>\n');
  return html.join('\n');
}
