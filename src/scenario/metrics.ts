/**
 * Metric series: what a scenario returns under `result.metrics` for reports to plot
 * (per-round accuracy, loss, bytes…). Several shapes are accepted so that scenario
 * code can return whatever is natural; `normalizeMetrics` turns them into series.
 *
 *   metrics: [{ name: 'accuracy', points: [[1, 0.71], [2, 0.80]] }]
 *   metrics: { accuracy: [[1, 0.71], [2, 0.80]], loss: [0.9, 0.5, 0.3] }   // bare numbers: x = 1, 2, …
 */
export interface MetricSeries {
  name: string;
  points: Array<[number, number]>;
  /** Series with the same chart name are drawn together (default: one chart per series). */
  chart?: string;
  /** Axis labels. */
  x?: string;
  y?: string;
}

function pointsOf(value: unknown): Array<[number, number]> | null {
  if (!Array.isArray(value)) return null;
  const points: Array<[number, number]> = [];
  for (const [i, item] of value.entries()) {
    if (typeof item === 'number') points.push([i + 1, item]);
    else if (Array.isArray(item) && item.length >= 2 && typeof item[0] === 'number' && typeof item[1] === 'number') points.push([item[0], item[1]]);
    else if (item && typeof item === 'object' && typeof (item as any).x === 'number' && typeof (item as any).y === 'number') points.push([(item as any).x, (item as any).y]);
    else return null;
  }
  return points;
}

function seriesOf(name: string, value: unknown): MetricSeries | null {
  const direct = pointsOf(value);
  if (direct) return { name, points: direct };
  if (value && typeof value === 'object' && 'points' in value) {
    const v = value as Partial<MetricSeries>;
    const points = pointsOf(v.points);
    if (!points) return null;
    return { name: typeof v.name === 'string' ? v.name : name, points, chart: v.chart, x: v.x, y: v.y };
  }
  return null;
}

/** The series in `result.metrics`, whatever its shape; unreadable entries are skipped. */
export function normalizeMetrics(metrics: unknown): MetricSeries[] {
  if (!metrics || typeof metrics !== 'object') return [];
  const entries: Array<[string, unknown]> = Array.isArray(metrics)
    ? metrics.map((m, i) => [typeof m?.name === 'string' ? m.name : `series ${i + 1}`, m])
    : Object.entries(metrics);
  return entries.map(([name, value]) => seriesOf(name, value)).filter((s): s is MetricSeries => s !== null);
}

/** The series grouped into charts: by `chart`, else one chart per series, in first-seen order. */
export function chartsOf(series: readonly MetricSeries[]): Array<{ title: string; series: MetricSeries[] }> {
  const charts = new Map<string, MetricSeries[]>();
  for (const s of series) {
    const key = s.chart ?? s.name;
    charts.set(key, [...(charts.get(key) ?? []), s]);
  }
  return [...charts].map(([title, list]) => ({ title, series: list }));
}
