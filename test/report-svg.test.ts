import test from 'ava';
import staleUpdate from '../scenarios/stale-update-bug.js';
import { eventLine } from '../src/runtime/index.js';
import { renderHtmlReport } from '../src/cli/report/html-report.js';
import { renderLaneDiagram, type LaneEvent } from '../src/cli/report/lane-diagram.js';
import { renderLineChart } from '../src/cli/report/line-chart.js';
import { niceTicks } from '../src/cli/report/svg.js';
import { chartsOf, normalizeMetrics, runScenario } from '../src/scenario/index.js';

test('metric series are read from several shapes and grouped into charts', (t) => {
  const series = normalizeMetrics({ accuracy: [0.5, 0.7, 0.8], loss: [[1, 2], [2, 1]], bytes: { points: [{ x: 1, y: 10 }], chart: 'traffic' }, junk: 'nope' });
  t.deepEqual(series.map((s) => s.name), ['accuracy', 'loss', 'bytes']);
  t.deepEqual(series[0].points, [[1, 0.5], [2, 0.7], [3, 0.8]]);
  t.deepEqual(chartsOf(series).map((c) => c.title), ['accuracy', 'loss', 'traffic']);
  t.deepEqual(normalizeMetrics([{ name: 'a', points: [[0, 1]], chart: 'c' }, { name: 'b', points: [[0, 2]], chart: 'c' }]).length, 2);
});

test('the line chart draws one path per series, with round ticks and a legend', (t) => {
  const svg = renderLineChart(
    [
      { name: 'train', points: [[1, 0.9], [2, 0.5], [3, 0.31]] },
      { name: 'test', points: [[1, 1], [2, 0.7], [3, 0.42]] },
    ],
    { title: 'loss', xLabel: 'round' },
  );
  t.true(svg.startsWith('<svg class="chart"'));
  t.is(svg.match(/<path d="M/g)?.length, 2);
  t.true(svg.includes('>train<') && svg.includes('>test<'));
  t.deepEqual(niceTicks(0.31, 1), [0.2, 0.4, 0.6, 0.8, 1]);
  t.true(renderLineChart([], { title: 'empty' }).includes('no data'));
});

test('the lane diagram shows lanes, arrows by type, dropped and delayed messages', async (t) => {
  const faults = { links: [{ from: 'client-1', to: 'server', drop: 0.5, delay: { rate: 0.5, dist: { kind: 'fixed' as const, ms: 5 } } }] };
  const outcome = await runScenario(staleUpdate, { seed: 3, faults });
  const events = outcome.sim.log.events.map((e) => JSON.parse(eventLine(e)) as LaneEvent);
  t.true(events.some((e) => e.ev === 'dropped'), 'the plan dropped something');
  const svg = renderLaneDiagram(events, { total: events.length, limit: 120 });
  for (const lane of ['me', 'server', 'client-1', 'client-4']) t.true(svg.includes(`class="lane-name">${lane}<`), lane);
  t.true(svg.includes('class="drop-cross"'));
  t.true(svg.includes('class="delay-mark"'));
  t.true(svg.includes('marker-end="url(#arrow-'));
  t.true(svg.includes(`first 120 of ${events.length} events`));
  t.true(svg.includes('class="timer"'), 'the round deadline timer');

  const html = renderHtmlReport({
    title: 'x <y>',
    ok: false,
    summary: [['seed', '3']],
    checks: outcome.checks,
    metrics: normalizeMetrics((outcome.result as { metrics: unknown }).metrics),
    events,
    totalEvents: events.length,
    faultPlan: faults,
    result: outcome.result,
    files: [],
  });
  t.true(html.includes('<title>x &lt;y&gt; — fedsim report</title>'), 'escaped');
  t.true(html.includes('FAIL'));
  t.is(html.match(/<svg class="chart"/g)?.length, 2, 'loss, and updates per round');
});
