/**
 * A line chart as inline SVG, for any `{ name, points: [x, y][] }` series: axes
 * with round ticks, one coloured line (with dots) per series, a legend.
 */
import type { MetricSeries } from '../../scenario/index.js';
import { PALETTE, esc, fmt, niceTicks } from './svg.js';

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** Legend entries per row (default 3); fewer leave room for long names (a comparison's run names). */
  legendColumns?: number;
}

export function renderLineChart(series: readonly MetricSeries[], options: ChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 300;
  const legend = series.length > 1 || series[0]?.name !== options.title;
  const columns = Math.max(1, options.legendColumns ?? 3);
  const legendRows = legend ? Math.ceil(series.length / columns) : 0;
  const margin = { top: 30 + legendRows * 15, right: 16, bottom: 44, left: 62 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const points = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const head = `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(options.title)}">`;
  const title = `<text x="${width / 2}" y="18" text-anchor="middle" class="chart-title">${esc(options.title)}</text>`;
  if (points.length === 0) return `${head}${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no data</text></svg>`;

  const pad = (lo: number, hi: number) => (hi > lo ? [lo, hi] : [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5]);
  const [x0, x1] = pad(Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0])));
  const [yLo, yHi] = pad(Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1])));
  const yTicks = niceTicks(yLo, yHi, 5);
  const xTicks = niceTicks(x0, x1, 6);
  const y0 = yTicks[0];
  const y1 = yTicks.length > 1 ? yTicks[yTicks.length - 1] : yHi;
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;

  const parts: string[] = [head, title];
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" class="plot"/>`);
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    if (t < x0 || t > x1) continue;
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}" class="axis"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle" class="tick">${fmt(t)}</text>`);
  }
  if (options.xLabel) parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 6}" text-anchor="middle" class="axis-label">${esc(options.xLabel)}</text>`);
  if (options.yLabel) {
    parts.push(`<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${esc(options.yLabel)}</text>`);
  }
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const path = valid.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    if (valid.length > 1) parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [x, y] of valid) {
      parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"><title>${esc(s.name)}: (${fmt(x)}, ${fmt(y)})</title></circle>`);
    }
  });
  if (legend) {
    // Above the plot, so it never hides a line.
    series.forEach((s, i) => {
      const y = 30 + Math.floor(i / columns) * 15;
      const x = margin.left + (i % columns) * Math.floor(plotW / columns);
      parts.push(`<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
      parts.push(`<text x="${x + 14}" y="${y}" dominant-baseline="middle" class="legend">${esc(s.name)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('');
}
