/**
 * `fedsim explore <scenario> --seeds 1..500`: runs many seeds, reports every seed
 * whose checks fail with a command that reproduces it, and shrinks the failing
 * fault plans to minimal scripts (written to files, with their own commands).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StrategySpec } from '../../runtime/index.js';
import { describeFaultPlan, displayPath, explore, reproCommand, type SeedFailure } from '../../scenario/index.js';
import { EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { toJsonSafe } from '../json-safe.js';
import { isDebug, printFailure } from '../failure-output.js';
import { progressDisplay } from '../progress-display.js';
import { fedsimCommand } from '../invocation.js';
import { EXIT_INTERRUPTED, isInterrupted, runInterruptibly } from '../interrupt.js';
import { CLI_MAX_STEPS, checkFaultActors, loadFaultsArgument, loadScenarioArgument, slug, startBackend } from '../run-options.js';
import { bold, dim, fail, ok, red } from '../style.js';
import { terminalText } from '../terminal-text.js';

export interface ExploreCommandOptions {
  seeds: number[];
  faults?: string;
  strategy?: StrategySpec;
  strict?: boolean;
  out?: string;
  /** How many failing seeds to shrink (default 3). */
  shrink?: number;
  maxFailures?: number;
  /** --limit name=value: limits raised for loading the scenario file. */
  limit?: Record<string, number>;
  /** Step budget of one await or settle (default: the scenario's, else CLI_MAX_STEPS). */
  maxSteps?: number;
  quiet?: boolean;
}

export async function exploreCommand(scenarioPath: string, options: ExploreCommandOptions): Promise<number> {
  await startBackend(undefined); // every seed runs on the same (automatically chosen) backend
  const scenario = await loadScenarioArgument(scenarioPath, options.limit);
  const faults = loadFaultsArgument(options.faults, options.limit?.fileBytes);
  if (faults) checkFaultActors(scenario, faults);
  const outDir = resolve(options.out ?? join('runs', `explore-${slug(scenario.name)}`));
  const file = scenario.path ? displayPath(scenario.path) : scenarioPath;
  const shownFile = terminalText(file);
  const out = process.stdout;
  const seeds = options.seeds;
  // The plan every seed runs under: --faults replaces the scenario's own.
  const plan = faults?.plan ?? scenario.faults;
  const faultsSource = faults ? (faults.file ? displayPath(resolve(faults.file)) : '--faults (inline)') : plan !== undefined ? "the scenario's own" : undefined;
  out.write(
    `${bold(`fedsim explore ${terminalText(scenario.name)}`)} ${dim(`(${shownFile}), ${seeds.length} seeds ${seeds[0]}..${seeds[seeds.length - 1]}, ${faultsSource ? `faults: ${faultsSource}: ${describeFaultPlan(plan)}` : 'no fault plan'}`)}\n`,
  );
  const progress = progressDisplay('explore', process.stderr, options.quiet);
  const maxSteps = options.maxSteps ?? scenario.maxSteps ?? CLI_MAX_STEPS;
  const bin = fedsimCommand();
  const repro = (seed: number | string, faultsArg?: string) =>
    reproCommand({ bin, scenario: file, seed, faults: faultsArg, strategy: options.strategy, strict: options.strict, limits: options.limit, maxSteps: options.maxSteps });

  // Past this many, failing seeds are only counted on screen (explore.json lists them all).
  const PRINTED_FAILURES = 20;
  let failing = 0;
  const started = performance.now();
  // The summary is written as failing seeds come (and once more at the end, `complete: true`), so a
  // Ctrl-C that ends the process at once still leaves what was found.
  mkdirSync(outDir, { recursive: true });
  const written: FailureReport[] = [];
  const writeSummary = (runs: number, extra: { complete: boolean; truncated?: boolean; interrupted?: boolean }) =>
    writeFileAtomically(
      join(outDir, 'explore.json'),
      JSON.stringify(
        toJsonSafe({
          scenario: { name: scenario.name, path: file },
          seeds: { count: seeds.length, first: seeds[0], last: seeds[seeds.length - 1] },
          // The plan the seeds ran under, and where it came from ('scenario' for the file's own plan).
          faults: plan ?? null,
          faultsSource: faults ? (faults.file ? displayPath(resolve(faults.file)) : 'inline') : plan !== undefined ? 'scenario' : null,
          maxSteps,
          runs,
          complete: extra.complete,
          truncated: extra.truncated ?? false,
          ...(extra.interrupted ? { interrupted: 'Ctrl-C' } : {}),
          failures: written,
        }),
        null,
        2,
      ) + '\n',
    );
  writeSummary(0, { complete: false }); // an earlier exploration's summary in the same directory is not this one's
  const report = await explore(scenario, {
    seeds,
    faults: faults?.plan,
    strategy: options.strategy,
    strict: options.strict,
    maxSteps,
    shrink: options.shrink,
    maxFailures: options.maxFailures,
    runSteps: runInterruptibly,
    stopsExploring: (outcome) => isInterrupted(outcome.error),
    onFailure: (failure, runs) => {
      written.push(writeFailure(failure, outDir, faults?.text, repro));
      writeSummary(runs, { complete: false });
    },
    onRun: ({ seed, index, total, outcome }) => {
      progress.next({ label: `seed ${seed}`, fraction: (index + 1) / total });
      if (outcome.ok) return;
      failing++;
      if (failing > PRINTED_FAILURES) return;
      progress.stop();
      out.write(`${fail()} seed ${seed}: ${terminalText(outcome.failures.map((f) => `${f.name}: ${f.message.split('\n')[0]}`).join('; '))}\n`);
      out.write(dim(`    ${terminalText(repro(seed, faults?.text))}`) + '\n');
      // With --debug, a seed whose run threw also shows where (the stack goes to stderr).
      if (isDebug() && outcome.error !== undefined) printFailure(`seed ${seed}: the run failed`, outcome.error);
      if (failing === PRINTED_FAILURES) out.write(dim(`  (further failing seeds are not printed one by one; explore.json lists them all)`) + '\n');
    },
    onShrink: (seed, result) => {
      if (result) out.write(dim(`  shrunk seed ${seed}: ${result.injected} injected faults → ${result.faults} (${result.tests} runs)`) + '\n');
    },
  });
  progress.stop();
  const wall = (performance.now() - started) / 1000;
  writeSummary(report.runs, { complete: !report.interrupted, truncated: report.truncated, interrupted: report.interrupted });
  const failures = written;

  out.write('\n');
  if (report.interrupted) {
    const failed = failures.length === 0 ? 'none failed' : `failing seeds: ${failures.map((f) => f.seed).join(', ')}`;
    process.stderr.write(`explore interrupted (Ctrl-C) after ${report.runs} of ${seeds.length} seeds (${failed}); summary: ${displayPath(join(outDir, 'explore.json'))}\n`);
    return EXIT_INTERRUPTED;
  }
  if (report.failures.length === 0) {
    out.write(`${ok()} ${report.runs} seeds, every check held ${dim(`(${wall.toFixed(1)} s)`)}\n`);
    return EXIT_OK;
  }
  out.write(`${fail()} ${red(`${report.failures.length} of ${report.runs} seeds failed`)}${report.truncated ? ' (stopped early: --max-failures)' : ''} ${dim(`(${wall.toFixed(1)} s)`)}\n`);
  out.write(`failing seeds: ${failures.map((f) => f.seed).join(', ')}\n`);
  for (const failure of failures) {
    if (!failure.shrunkFile && !failure.note) continue;
    out.write(`\n${bold(`seed ${failure.seed}`)}: ${terminalText(failure.failures.map((f) => f.name).join(', '))}\n`);
    out.write(`  reproduce:       ${terminalText(failure.repro)}\n`);
    if (failure.shrunkFile) {
      out.write(`  minimal faults:  ${failure.shrunkFaults} of ${failure.injected} injected, in ${failure.shrunkFile}\n`);
      out.write(`${JSON.stringify(failure.shrunkPlan, null, 2).replace(/^/gm, '    ')}\n`);
      out.write(`  reproduce it:    ${terminalText(failure.shrunkRepro ?? '')}\n`);
    } else if (failure.note) {
      out.write(dim(`  (${failure.note})`) + '\n');
    }
  }
  out.write(`\nsummary: ${displayPath(join(outDir, 'explore.json'))}\n`);
  return EXIT_FAILED;
}

/** Writes `path` whole or not at all (a summary read while it is rewritten, or after a kill, is never half a file). */
function writeFileAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

interface FailureReport {
  seed: number | string;
  failures: SeedFailure['failures'];
  injected: number;
  repro: string;
  shrunkPlan?: unknown;
  shrunkFaults?: number;
  shrunkFile?: string;
  shrunkRepro?: string;
  note?: string;
}

function writeFailure(failure: SeedFailure, outDir: string, faultsText: string | undefined, repro: (seed: number | string, faults?: string) => string): FailureReport {
  const report: FailureReport = { seed: failure.seed, failures: failure.failures, injected: failure.injected, repro: repro(failure.seed, faultsText) };
  const shrunk = failure.shrunk;
  if (!shrunk) return report;
  if (!shrunk.reproduced) return { ...report, note: shrunk.note };
  const file = join(outDir, `seed-${slug(String(failure.seed))}.faults.json`);
  writeFileSync(file, JSON.stringify(shrunk.plan, null, 2) + '\n');
  const shown = displayPath(file);
  return { ...report, shrunkPlan: shrunk.plan, shrunkFaults: shrunk.faults, shrunkFile: shown, shrunkRepro: repro(failure.seed, shown), note: shrunk.note };
}
