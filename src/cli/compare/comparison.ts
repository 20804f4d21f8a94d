/**
 * What `fedsim compare` shows, built from the runs' results.json alone: a label per run,
 * their settings side by side with the differing ones marked, a summary line per run, and
 * the per-round curves overlaid. A pure function of the files' contents and the order the
 * runs were given in, so the same runs give the same report byte for byte.
 */
import { describeFaultPlan, type MetricSeries } from '../../scenario/index.js';
import { CliError } from '../cli-error.js';
import { type RoundRow, type RunResults, runDirName } from './read-run.js';

export interface RunSummary {
  label: string;
  ok: boolean;
  finalTestAccuracy?: number;
  rounds?: number;
  /** Virtual time of the whole run, ms (results.json stats.virtualTime). */
  virtualTimeMs?: number;
  skippedRounds: number;
}

export interface SettingRow {
  key: string;
  /** One per run, in the runs' order; undefined where the run does not set it (the experiment's default). */
  values: Array<string | undefined>;
  differs: boolean;
}

export interface ComparisonChart {
  title: string;
  x: string;
  y: string;
  series: MetricSeries[];
}

export interface Comparison {
  runs: RunSummary[];
  settings: SettingRow[];
  charts: ComparisonChart[];
  /** Runs whose results.json records no settings (written before fedsim recorded them). */
  withoutSettings: string[];
}

/** Longer values (an inline fault plan, a list of slowdowns) are cut in the table. */
const MAX_VALUE_CHARS = 120;

export function compareRuns(runs: readonly RunResults[]): Comparison {
  refuseMixedKinds(runs);
  const labels = runLabels(runs);
  const perRun = runs.map(settingsOf);
  const keys: string[] = [];
  for (const settings of perRun) for (const key of settings.keys()) if (!keys.includes(key)) keys.push(key);
  const settings = keys.map((key) => {
    const values = perRun.map((s) => s.get(key));
    return { key, values, differs: new Set(values).size > 1 };
  });
  return {
    runs: runs.map((run, i) => summaryOf(run, labels[i])),
    settings,
    charts: chartsOf(runs, labels),
    withoutSettings: runs.filter((run) => run.json.settings === undefined).map((_, i) => labels[i]),
  };
}

/**
 * Only experiments have per-round metrics to overlay. A module scenario's results.json
 * (ping-pong, the pointer tutorials) has none: refused, naming it, rather than a report of
 * empty charts.
 */
function refuseMixedKinds(runs: readonly RunResults[]): void {
  const others = runs.filter((run) => run.kind !== 'experiment');
  if (others.length === 0) return;
  const describe = (run: RunResults) => `${run.argument} is a run of the ${run.kind} '${String((run.json.scenario as { name?: unknown }).name)}', which records no per-round metrics`;
  const what = others.length === runs.length ? 'nothing to compare' : 'runs of different kinds';
  throw new CliError(
    `compare: ${what}: ${others.map(describe).join('; ')}. fedsim compare overlays the per-round curves of experiment runs ` +
      '(YAML/JSON files of kind fedavg run with `fedsim run FILE --out DIR`); give only such runs' +
      (others.length === runs.length ? ' (for two runs of a module scenario, `fedsim diff A/run.jsonl B/run.jsonl` shows where their event logs differ).' : '.'),
  );
}

/** Each run's directory name; a name given twice gets its place on the command line (`a #1`, `a #3`). */
function runLabels(runs: readonly RunResults[]): string[] {
  const names = runs.map(runDirName);
  return names.map((name, i) => (names.filter((n) => n === name).length > 1 ? `${name} #${i + 1}` : name));
}

/** The settings of one run, flattened to dotted keys, in a stable order: who ran what, then the file's fields. */
function settingsOf(run: RunResults): Map<string, string> {
  const json = run.json;
  const out = new Map<string, string>();
  const put = (key: string, value: unknown) => {
    if (value === undefined) return;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out.set(key, text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text);
  };
  const scenario = json.scenario as { name?: unknown; path?: unknown };
  put('scenario', scenario.name);
  put('file', scenario.path);
  put('seed', json.seed);
  const fromFile = (json.settings ?? {}) as Record<string, unknown>;
  // seed, strategy and faults as the run used them (the CLI's --seed, --strategy, --faults win over the file).
  const { kind: _kind, name: _name, seed: _seed, strategy: _strategy, faults: _faults, description: _description, ...fields } = fromFile;
  flatten(fields, [], put);
  put('strategy (scheduler)', json.strategy);
  put('faults', json.faults === undefined ? undefined : describeFaultPlan(json.faults as Parameters<typeof describeFaultPlan>[0]));
  const params = json.params as Record<string, unknown> | undefined;
  if (params && Object.keys(params).length) put('--set', Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' '));
  put('backend', json.backend);
  put('fedsim', json.fedsim);
  return out;
}

/** Mappings become dotted keys (data.devices); lists and scalars are values. */
function flatten(value: Record<string, unknown>, prefix: string[], put: (key: string, value: unknown) => void): void {
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, key];
    if (child !== null && typeof child === 'object' && !Array.isArray(child) && Object.keys(child).length) flatten(child as Record<string, unknown>, path, put);
    else put(path.join('.'), child);
  }
}

function summaryOf(run: RunResults, label: string): RunSummary {
  const result = (run.json.result ?? {}) as Record<string, unknown>;
  const stats = (run.json.stats ?? {}) as Record<string, unknown>;
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  return {
    label,
    ok: run.json.ok === true,
    finalTestAccuracy: number(result.finalTestAccuracy),
    rounds: number(result.rounds) ?? (run.perRound.length || undefined),
    virtualTimeMs: number(stats.virtualTime),
    skippedRounds: Array.isArray(run.json.skippedRounds) ? run.json.skippedRounds.length : 0,
  };
}

/** The curves, one series per run in each chart. */
function chartsOf(runs: readonly RunResults[], labels: string[]): ComparisonChart[] {
  const chart = (title: string, x: string, y: string, point: (row: RoundRow, index: number, rows: RoundRow[]) => [number | undefined, number | undefined]): ComparisonChart => ({
    title,
    x,
    y,
    series: runs.map((run, i) => ({
      name: labels[i],
      points: run.perRound.flatMap((row, j, rows) => {
        const [px, py] = point(row, j, rows);
        return px !== undefined && py !== undefined && Number.isFinite(px) && Number.isFinite(py) ? [[px, py] as [number, number]] : [];
      }),
    })),
  });
  const sent = (row: RoundRow) => (row.bytesUp === undefined && row.bytesDown === undefined ? undefined : (row.bytesUp ?? 0) + (row.bytesDown ?? 0));
  // Running sums, computed once per run (a run may have thousands of rounds).
  const sums = new WeakMap<RoundRow[], number[]>();
  const cumulative = (rows: RoundRow[], upTo: number) => {
    let list = sums.get(rows);
    if (!list) {
      let total = 0;
      list = rows.map((row) => (total += sent(row) ?? 0));
      sums.set(rows, list);
    }
    return list[upTo];
  };
  return [
    chart('test accuracy', 'round', 'accuracy', (row) => [row.round, row.testAccuracy]),
    chart('test accuracy vs virtual time', 'virtual hours', 'accuracy', (row) => [row.virtualHours, row.testAccuracy]),
    chart('test loss', 'round', 'loss', (row) => [row.round, row.testLoss]),
    chart('test loss vs virtual time', 'virtual hours', 'loss', (row) => [row.virtualHours, row.testLoss]),
    chart('bytes sent per round (up + down)', 'round', 'bytes', (row) => [row.round, sent(row)]),
    chart('bytes sent, cumulative', 'round', 'bytes', (row, j, rows) => [row.round, sent(row) === undefined ? undefined : cumulative(rows, j)]),
  ];
}
