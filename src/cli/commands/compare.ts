/**
 * `fedsim compare RUN…`: the runs' curves overlaid and their settings side by side, in one
 * self-contained HTML file (default compare.html), and a short table on stdout. RUN is a
 * directory written by `fedsim run FILE --out DIR`, or its results.json.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { displayPath } from '../../scenario/index.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { type Comparison, compareRuns } from '../compare/comparison.js';
import { type RunResults, readRunResults } from '../compare/read-run.js';
import { formatDuration, renderCompareReport } from '../report/compare-report.js';
import { refuseInputAsOutput, runDirectoryFiles } from '../output-guard.js';
import { renderTable } from '../text-table.js';
import { terminalText } from '../terminal-text.js';

export interface CompareCommandOptions {
  out?: string;
  title?: string;
}

export function compareCommand(runArguments: string[], options: CompareCommandOptions): number {
  const out = resolve(options.out ?? 'compare.html');
  const runs = runArguments.map(readRunResults);
  // The report must not replace a file of a run it compares (--out runs/a/results.json).
  refuseInputAsOutput(out, runs.flatMap((run) => [run.file, ...runDirectoryFiles(run.dir)]), options.out === undefined ? 'the report compare.html' : `--out ${options.out}`);
  const { comparison, html } = compareReport(runs, out, options.title);
  writeReport(out, html, options.out);
  process.stdout.write(compareTable(comparison) + '\n');
  process.stdout.write(`report: ${terminalText(displayPath(out))}\n`);
  return EXIT_OK;
}

/** The comparison and its HTML, for a report to be written at `out` (its links are relative to it). */
export function compareReport(runs: RunResults[], out: string, title?: string): { comparison: Comparison; html: string } {
  const comparison = compareRuns(runs);
  const links = runs.map((run) => {
    const report = join(run.dir, 'report.html');
    return { results: hrefFrom(out, run.file), report: existsSync(report) ? hrefFrom(out, report) : undefined };
  });
  const html = renderCompareReport({ title: title ?? `Comparison of ${runs.length} run${runs.length === 1 ? '' : 's'}`, comparison, links });
  return { comparison, html };
}

/** A link from the report to a file, relative (the report and the runs can be moved together). */
function hrefFrom(report: string, file: string): string {
  return relative(dirname(report), file).split(sep).map(encodeURIComponent).join('/');
}

/** Written under a .partial name and renamed: an interrupted write never leaves half a report. */
export function writeReport(out: string, html: string, given: string | undefined): void {
  const flag = given === undefined ? 'the report compare.html' : `--out ${given}`;
  if (existsSync(out) && !/\.html?$/i.test(out)) throw new CliError(`compare: ${flag}: ${displayPath(out)} exists and is not an .html file; give a file name ending in .html.`);
  try {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.partial`, html);
    renameSync(`${out}.partial`, out);
  } catch (error) {
    throw new CliError(`compare: ${flag}: cannot write ${displayPath(out)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give another path with --out FILE.html.`);
  }
}

/** One line per run, and the settings that differ between them. */
export function compareTable(comparison: Comparison): string {
  // (The --set row repeats what the settings' own rows say.)
  const differing = comparison.settings.filter((s) => s.differs && s.key !== '--set');
  const rows = comparison.runs.map((run, i) => [
    terminalText(run.label),
    run.ok ? 'passed' : 'FAILED',
    run.finalTestAccuracy === undefined ? '—' : run.finalTestAccuracy.toFixed(4),
    run.rounds === undefined ? '—' : String(run.rounds),
    formatDuration(run.virtualTimeMs),
    ...differing.map((s) => terminalText(s.values[i] ?? '—')),
  ]);
  return renderTable(rows, { header: ['run', 'status', 'final acc.', 'rounds', 'virtual time', ...differing.map((s) => terminalText(s.key))] });
}
