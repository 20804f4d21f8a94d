/**
 * `fedsim run <scenario>`: one run, with a progress display, a summary, and the
 * files to look at afterwards — the event log, results.json and report.html.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { eventLine, parseFaultPlan, type Seed, type StrategySpec } from '../../runtime/index.js';
import {
  describeError,
  displayPath,
  formatStrategy,
  normalizeMetrics,
  projectPath,
  runScenario,
  runStats,
  type RunStats,
  type ScenarioOutcome,
  totalFaults,
} from '../../scenario/index.js';
import { EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { toJsonSafe } from '../json-safe.js';
import { progressDisplay } from '../progress-display.js';
import { renderHtmlReport } from '../report/html-report.js';
import type { LaneEvent } from '../report/lane-diagram.js';
import { printFailure } from '../failure-output.js';
import { checkFaultActors, loadFaultsArgument, loadScenarioArgument, slug, startBackend } from '../run-options.js';
import { type SkippedRound, skippedByReason, skippedRoundsOf } from '../skipped-rounds.js';
import { bold, dim, fail, ok, red, yellow } from '../style.js';
import { renderTable } from '../text-table.js';
import { FEDSIM_VERSION } from '../../version.js';

export interface RunCommandOptions {
  seed?: Seed;
  record?: string;
  faults?: string;
  strict?: boolean;
  backend?: string;
  out?: string;
  strategy?: StrategySpec;
  param?: Record<string, unknown>;
  /** --limit name=value: limits raised for this run (recorded in the log header, so replay applies them too). */
  limit?: Record<string, number>;
  quiet?: boolean;
}

const LANE_EVENTS = 200;

export async function runCommand(scenarioPath: string, options: RunCommandOptions): Promise<number> {
  const scenario = await loadScenarioArgument(scenarioPath, options.limit);
  const faults = loadFaultsArgument(options.faults, options.limit?.fileBytes);
  // Refused before anything starts: a --faults plan naming actors the scenario does not have.
  if (faults) checkFaultActors(scenario, faults);
  const seed = options.seed ?? scenario.seed ?? 0;
  const outDir = resolve(options.out ?? join('runs', `${slug(scenario.name)}-seed${slug(String(seed))}`));
  const logPath = resolve(options.record ?? join(outDir, 'run.jsonl'));
  mkdirSync(outDir, { recursive: true });
  mkdirSync(dirname(logPath), { recursive: true });
  await startBackend(options.backend);

  const file = scenario.path ? displayPath(scenario.path) : scenarioPath;
  process.stdout.write(`${bold(`fedsim run ${scenario.name}`)} ${dim(`(${file}), seed ${seed}${faults ? `, faults ${faults.file ? displayPath(resolve(faults.file)) : 'inline'}` : ''}`)}\n`);
  const progress = progressDisplay(scenario.name, process.stderr, options.quiet);
  const started = performance.now();
  const outcome = await runScenario(scenario, {
    seed,
    faults: faults?.plan,
    strategy: options.strategy,
    record: logPath,
    strict: options.strict,
    params: options.param,
    progress,
    header: {
      // Project-relative: the header must not depend on the directory the run was started from.
      ...(faults ? { faults: faults.file ? projectPath(faults.file) : 'inline' } : {}),
      ...(options.strategy ? { strategy: formatStrategy(options.strategy) } : {}),
      ...(options.limit ? { limits: options.limit } : {}),
    },
  });
  const wallMs = performance.now() - started;
  progress.stop();

  const stats = runStats(outcome.sim.log.events);
  const faultsSource = faults ? (faults.file ? displayPath(resolve(faults.file)) : '--faults (inline)') : undefined;
  const summary = summaryRows(outcome, stats, file, faultsSource);
  const resultsPath = join(outDir, 'results.json');
  const reportPath = join(outDir, 'report.html');
  const error = outcome.error === undefined ? undefined : describeError(outcome.error);
  const skipped = skippedRoundsOf(outcome.result);
  const files: Array<[string, string]> = [
    ['event log', displayPath(logPath)],
    ['results', displayPath(resultsPath)],
    ['report', displayPath(reportPath)],
  ];
  writeFileSync(resultsPath, JSON.stringify(resultsJson(outcome, stats, error, skipped, faults?.file, logPath), null, 2) + '\n');
  writeFileSync(
    reportPath,
    renderHtmlReport({
      title: scenario.name,
      description: scenario.description,
      ok: outcome.ok,
      error,
      summary,
      checks: outcome.checks,
      skipped,
      metrics: normalizeMetrics((outcome.result as { metrics?: unknown } | undefined)?.metrics),
      events: outcome.sim.log.events.slice(0, LANE_EVENTS).map((e) => JSON.parse(eventLine(e)) as LaneEvent),
      totalEvents: outcome.sim.log.length,
      faultPlan: outcome.sim.log.header.faults,
      result: toJsonSafe(outcome.result),
      transcript: transcriptOf(outcome.result),
      files,
    }),
  );

  const out = process.stdout;
  const transcript = transcriptOf(outcome.result);
  if (transcript.length) out.write(`${bold('transcript')}\n${transcript.map((line) => `  ${line}`).join('\n')}\n`);
  out.write(renderTable([...summary, ['wall time', `${(wallMs / 1000).toFixed(2)} s`]]) + '\n');
  if (skipped.length) writeSkipped(out, skipped, (outcome.result as { rounds?: number } | undefined)?.rounds);
  if (outcome.checks.length) {
    out.write(bold('checks') + '\n');
    for (const c of outcome.checks) out.write(`  ${c.ok ? ok() : fail()} ${c.name}${c.ok ? '' : `: ${red(c.message)}`}\n`);
  }
  // The reason goes to stderr (with the stack under --debug); the files below still say where to look.
  if (outcome.error !== undefined) printFailure('the run failed', outcome.error);
  for (const [label, path] of files) out.write(`${(label + ':').padEnd(11)}${path}\n`);
  out.write(`${dim(`replay it:  fedsim replay ${displayPath(logPath)}`)}\n`);
  out.write(outcome.ok ? `${ok()} ${scenario.name} passed\n` : `${fail()} ${scenario.name} FAILED\n`);
  return outcome.ok ? EXIT_OK : EXIT_FAILED;
}

/** `skipped rounds: 2 of 20 (the global model was left unchanged)`, then one line per distinct reason. */
function writeSkipped(out: NodeJS.WriteStream, skipped: SkippedRound[], rounds: number | undefined): void {
  out.write(`${bold('skipped rounds')}: ${skipped.length}${rounds ? ` of ${rounds}` : ''} (the global model was left unchanged)\n`);
  for (const group of skippedByReason(skipped)) {
    out.write(`  ${yellow(`round${group.count > 1 ? 's' : ''} ${group.rounds}`)}: ${group.reason}\n`);
  }
}

/** What a tutorial-style scenario printed (`result.printed`, as the pointer scenarios return it). */
function transcriptOf(result: unknown): string[] {
  const printed = (result as { printed?: unknown } | undefined)?.printed;
  return Array.isArray(printed) && printed.every((line) => typeof line === 'string') ? printed : [];
}

function summaryRows(outcome: ScenarioOutcome<unknown>, stats: RunStats, file: string, faultsSource: string | undefined): Array<[string, string]> {
  const header = outcome.sim.log.header;
  const plan = parseFaultPlan(header.faults);
  const f = stats.faults;
  const dropped = Object.entries(stats.dropped).map(([reason, n]) => `${n} ${reason}`).join(', ') || '0';
  const rows: Array<[string, string]> = [
    ['scenario', `${outcome.scenario.name} (${file})`],
    ['seed', String(outcome.seed)],
    ['strategy', formatStrategy(header.strategy)],
    ['fault plan', faultsSource ?? (outcome.faults ? `the scenario's own (${plan.links.length} link rules, ${plan.script.length} scripted faults)` : 'none')],
    ['events', String(stats.events)],
    ['virtual time', `${Number(stats.virtualTime.toFixed(3))} ms`],
    ['actors', String(stats.actors)],
    ['messages', `${stats.sent} sent, ${stats.delivered} delivered, dropped: ${dropped}`],
    ['faults injected', `${totalFaults(stats)} (${f.delayed} delayed, ${f.reordered} reordered, ${f.duplicated} duplicated, ${f.dropped} dropped, ${f.crashed} crashes, ${f.partitions} partitions)`],
    ['handler errors', String(stats.handlerErrors)],
  ];
  for (const [key, value] of Object.entries((outcome.result ?? {}) as Record<string, unknown>)) {
    if (key === 'metrics') continue;
    if (typeof value === 'number') rows.push([key, String(Number(value.toPrecision(6)))]);
    else if (typeof value === 'string' || typeof value === 'boolean') rows.push([key, String(value)]);
  }
  return rows;
}

function resultsJson(outcome: ScenarioOutcome<unknown>, stats: RunStats, error: string | undefined, skipped: SkippedRound[], faultsFile: string | undefined, logPath: string) {
  const header = outcome.sim.log.header;
  return {
    fedsim: FEDSIM_VERSION,
    scenario: { name: outcome.scenario.name, path: outcome.scenario.path ? displayPath(outcome.scenario.path) : undefined, description: outcome.scenario.description },
    seed: outcome.seed,
    strategy: header.strategy,
    faults: header.faults,
    faultsFile: faultsFile ? displayPath(resolve(faultsFile)) : undefined,
    backend: header.backend,
    ok: outcome.ok,
    error,
    skippedRounds: skipped,
    checks: outcome.checks,
    stats,
    log: { path: displayPath(logPath), events: outcome.sim.eventCount, sha256: sha256OfFile(logPath) },
    result: toJsonSafe(outcome.result),
  };
}

/** sha256 of a file read in chunks: a log can be larger than the longest string V8 can build. */
function sha256OfFile(path: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
