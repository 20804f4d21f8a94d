/**
 * The self-contained HTML report of one run: status, summary, checks, metric
 * charts, lane diagram, fault plan and result. Everything is inline (CSS, SVG), so
 * the file can be attached to a CI run or mailed; nothing is fetched. It holds no
 * wall-clock data, so the same run gives the same bytes.
 */
import { chartsOf, type CheckResult, type MetricSeries } from '../../scenario/index.js';
import { type SkippedRound, skippedByReason } from '../skipped-rounds.js';
import { renderLaneDiagram, type LaneEvent } from './lane-diagram.js';
import { renderLineChart } from './line-chart.js';
import { esc } from './svg.js';

export interface ReportModel {
  title: string;
  description?: string;
  ok: boolean;
  /** The error that ended the run, if any. */
  error?: string;
  /** Label/value rows (seed, strategy, events, …). */
  summary: Array<[string, string]>;
  checks: CheckResult[];
  /** Rounds that left the global model unchanged, with the reason. */
  skipped?: SkippedRound[];
  metrics: MetricSeries[];
  /** Parsed log lines, at least the first ones. */
  events: LaneEvent[];
  totalEvents: number;
  faultPlan: unknown;
  result: unknown;
  /** Lines the scenario printed (`result.printed`), if any. */
  transcript?: string[];
  /** Where the log and results were written, as shown to the user. */
  files: Array<[string, string]>;
}

/** The reports' stylesheet (also the comparison report's, compare-report.ts). */
export const REPORT_STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:20px 28px 60px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.status{display:inline-block;padding:3px 10px;border-radius:4px;font-weight:600;color:#fff}
.pass{background:#2e7d32}.fail{background:#c62828}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #e0e0e0;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}.ok{color:#2e7d32}.bad{color:#c62828}
pre{background:#fff;border:1px solid #e0e0e0;padding:10px;overflow:auto;max-height:420px;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.scroll{overflow:auto;border:1px solid #e0e0e0;background:#fff;max-height:900px}
.muted{fill:#888;color:#888;font-size:12px}.error-box{background:#fff3f3;border:1px solid #e57373;padding:8px 12px;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
svg text{font-family:system-ui,sans-serif}.chart{background:#fff;border:1px solid #e0e0e0}
.chart-title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#555}.axis-label{font-size:11px;fill:#333}.legend{font-size:11px;fill:#333}
.plot{fill:none;stroke:#ccc}.grid{stroke:#eee}.axis{stroke:#999}
.lane{stroke:#bbb;stroke-width:1}.lane-name{font-size:12px;font-weight:600}.time-rule{stroke:#f2f2f2}
.timer{fill:#fff;stroke:#555;stroke-width:1.2}.error{fill:#d32f2f}.drop-cross{stroke:#d32f2f;stroke-width:2;fill:none}
.delay-mark{fill:#fff;stroke:#333;stroke-width:1}.crashed{stroke:#d32f2f;stroke-width:4}.restarted{stroke:#2e7d32;stroke-width:4}
.crashed-text{fill:#d32f2f}.restarted-text{fill:#2e7d32}.note{font-size:10px;fill:#444}
.mark{stroke:#999;stroke-dasharray:4,3}.partition{stroke:#8e24aa;stroke-dasharray:6,3}.pending{stroke-width:1;stroke-dasharray:2,4;opacity:.6}
`;

export function renderHtmlReport(model: ReportModel): string {
  const status = model.ok ? '<span class="status pass">PASS</span>' : '<span class="status fail">FAIL</span>';
  const html: string[] = [];
  html.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  html.push(`<title>${esc(model.title)} — fedsim report</title><style>${REPORT_STYLE}</style></head><body><main>`);
  html.push(`<h1>${esc(model.title)} ${status}</h1>`);
  if (model.description) html.push(`<p>${esc(model.description)}</p>`);
  if (model.error) html.push(`<div class="error-box">${esc(model.error)}</div>`);

  html.push('<h2>Summary</h2><table>');
  for (const [label, value] of model.summary) html.push(`<tr><th>${esc(label)}</th><td>${esc(value)}</td></tr>`);
  html.push('</table>');

  if (model.transcript?.length) {
    html.push('<h2>Transcript</h2>');
    html.push(`<pre>${esc(model.transcript.join('\n'))}</pre>`);
  }

  html.push('<h2>Checks</h2>');
  if (model.checks.length === 0) html.push('<p class="muted">No checks were evaluated.</p>');
  else {
    html.push('<table><tr><th></th><th>check</th><th>message</th></tr>');
    for (const c of model.checks) {
      html.push(`<tr><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✓' : '✗'}</td><td>${esc(c.name)}</td><td>${esc(c.message)}</td></tr>`);
    }
    html.push('</table>');
  }

  if (model.skipped?.length) {
    html.push(`<h2>Skipped rounds</h2><p>${model.skipped.length} round${model.skipped.length === 1 ? '' : 's'} left the global model unchanged:</p>`);
    html.push('<table><tr><th>rounds</th><th>why</th></tr>');
    for (const group of skippedByReason(model.skipped)) html.push(`<tr><td>${esc(group.rounds)}</td><td>${esc(group.reason)}</td></tr>`);
    html.push('</table>');
  }

  html.push('<h2>Metrics</h2>');
  const charts = chartsOf(model.metrics);
  if (charts.length === 0) html.push('<p class="muted">The scenario returned no metric series (<code>result.metrics</code>).</p>');
  else {
    html.push('<div class="charts">');
    for (const chart of charts) html.push(renderLineChart(chart.series, { title: chart.title, xLabel: chart.series[0].x, yLabel: chart.series[0].y }));
    html.push('</div>');
  }

  html.push('<h2>Messages</h2>');
  html.push('<p class="muted">One lane per actor; time flows down one row per event; arrows go from send to delivery, coloured by message type. Hover for details.</p>');
  html.push(`<div class="scroll">${renderLaneDiagram(model.events, { total: model.totalEvents })}</div>`);

  html.push('<h2>Fault plan</h2>');
  html.push(`<pre>${esc(JSON.stringify(model.faultPlan, null, 2))}</pre>`);
  html.push('<h2>Result</h2>');
  html.push(`<details><summary>result (JSON)</summary><pre>${esc(JSON.stringify(model.result, null, 2) ?? 'undefined')}</pre></details>`);
  html.push('<h2>Files</h2><table>');
  for (const [label, path] of model.files) html.push(`<tr><th>${esc(label)}</th><td><code>${esc(path)}</code></td></tr>`);
  html.push('</table>');
  html.push('</main></body></html>\n');
  return html.join('\n');
}
