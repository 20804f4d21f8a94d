/**
 * `fedsim sweep FILE`: one experiment over a grid of settings × seeds (src/scenario/sweep-file.ts),
 * each run in its own directory under one output directory, then one `fedsim compare` report
 * over all of them (compare.html). Runs go one after another, in the file's order.
 *
 * Every run's experiment is loaded (and so validated) before the first run starts: a grid
 * value the experiment refuses stops the sweep at once, not after hours of earlier runs.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { displayPath, FILE_LIMITS, LimitError, loadSweepFile, type Sweep, SweepFileError, SWEEP_LIMITS } from '../../scenario/index.js';
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { readRunResults } from '../compare/read-run.js';
import { EXIT_INTERRUPTED } from '../interrupt.js';
import { bold, dim } from '../style.js';
import { terminalText } from '../terminal-text.js';
import { loadScenarioArgument, slug } from '../run-options.js';
import { compareReport, compareTable, writeReport } from './compare.js';
import { runCommand } from './run.js';

export interface SweepCommandOptions {
  out?: string;
  limit?: Record<string, number>;
  backend?: string;
  maxSteps?: number;
  quiet?: boolean;
}

export async function sweepCommand(file: string, options: SweepCommandOptions): Promise<number> {
  // --limit runs=… is the sweep's own; the others (rounds, clients, …) are each run's.
  const sweepLimits = pick(options.limit, (name) => name in SWEEP_LIMITS || name in FILE_LIMITS);
  const runLimits = pick(options.limit, (name) => !(name in SWEEP_LIMITS));
  let sweep: Sweep;
  try {
    sweep = loadSweepFile(file, sweepLimits);
  } catch (error) {
    if (error instanceof SweepFileError || error instanceof LimitError) throw new CliError(error.message);
    throw error;
  }
  if (!existsSync(sweep.experiment)) throw new CliError(`${sweep.file}: experiment: no file ${displayPath(sweep.experiment)} (the path is relative to the sweep file).`);
  const out = options.out ?? join('runs', `sweep-${slug(sweep.name)}`);
  const outDir = resolve(out);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new CliError(`--out ${out}: ${displayPath(outDir)} is a file; give a directory for the sweep's runs.`);

  for (const run of sweep.runs) await loadScenarioArgument(sweep.experiment, runLimits, run.params, undefined, sweep.paramFlags);

  process.stdout.write(`${bold(`fedsim sweep ${terminalText(sweep.name)}`)} ${dim(`(${terminalText(sweep.file)}): ${sweep.runs.length} run${sweep.runs.length === 1 ? '' : 's'} of ${terminalText(displayPath(sweep.experiment))} into ${terminalText(displayPath(outDir))}`)}\n`);
  const failed: string[] = [];
  for (const [i, run] of sweep.runs.entries()) {
    process.stdout.write(`\n${bold(`sweep run ${i + 1}/${sweep.runs.length}: ${terminalText(run.name)}`)}\n`);
    const code = await runCommand(sweep.experiment, {
      seed: run.seed,
      set: run.params,
      out: join(outDir, run.name),
      limit: runLimits,
      backend: options.backend,
      maxSteps: options.maxSteps,
      quiet: options.quiet,
    });
    // Ctrl-C stops the sweep: the runs so far keep their outputs, no report is written over a partial sweep.
    if (code === EXIT_INTERRUPTED) return code;
    if (code !== EXIT_OK) failed.push(run.name);
  }

  const report = join(outDir, 'compare.html');
  const { comparison, html } = compareReport(
    sweep.runs.map((run) => readRunResults(join(outDir, run.name))),
    report,
    `Sweep ${sweep.name}`,
  );
  writeReport(report, html, undefined);
  process.stdout.write(`\n${compareTable(comparison)}\n`);
  process.stdout.write(`report: ${terminalText(displayPath(report))}\n`);
  if (failed.length) process.stdout.write(`${failed.length} of ${sweep.runs.length} runs failed: ${terminalText(failed.join(', '))}\n`);
  return failed.length ? EXIT_FAILED : EXIT_OK;
}

function pick(limits: Record<string, number> | undefined, keep: (name: string) => boolean): Record<string, number> | undefined {
  if (!limits) return undefined;
  const kept = Object.entries(limits).filter(([name]) => keep(name));
  return kept.length ? Object.fromEntries(kept) : undefined;
}
