/**
 * `fedsim view RUN`: a run's event log in the browser — lanes, arrows, faults, every
 * actor's state at any event, stepping, filters, search, the divergence from another run.
 *
 *   fedsim view RUN                  writes RUN/viewer.html: one self-contained file (no network),
 *                                    the same bytes for the same run; states kept at every step
 *                                    (every K-th event for long runs: --state-every)
 *   fedsim view RUN --serve          serves it on 127.0.0.1 instead, and answers the exact state at
 *                                    any event by replaying to it
 *   fedsim view RUN --diff OTHER     marks where RUN and OTHER part ways and opens there
 *
 * docs/viewer.md tells which mode suits what.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LogFormatError } from '../../runtime/index.js';
import { displayPath } from '../../scenario/index.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { PARTIAL, ensureDirectory, replaceableTarget } from '../run-outputs.js';
import { refuseInputAsOutput, runDirectoryFiles } from '../output-guard.js';
import { terminalText } from '../terminal-text.js';
import { scanLogArgument } from './replay.js';
import { readViewerModel, type ViewerModel } from '../../viewer/log-model.js';
import { type PageInputs, type SkippedRoundMark } from '../../viewer/page-data.js';
import { findRunDivergence } from '../../viewer/run-divergence.js';
import { resolveRunSource, type RunSource } from '../../viewer/run-source.js';
import { serveViewer } from '../../viewer/serve.js';
import { captureStates } from '../../viewer/state-capture.js';
import { viewerPage } from '../../viewer/viewer-page.js';

export interface ViewOptions {
  out?: string;
  serve?: boolean;
  port?: number;
  diff?: string;
  /** commander's --no-states: false when given. */
  states?: boolean;
  stateEvery?: number;
  project?: string;
  /** Longest log line accepted (default 1 MiB), for this log and --diff's; as fedsim replay --max-line-chars. */
  maxLineChars?: number;
  /** Called with the server's URL once it listens (tests). */
  onServing?: (url: string, close: () => Promise<void>) => void;
}

/** States are kept at every step up to this many events; beyond, at every K-th event so that about this many are kept. */
export const STATE_CAPTURES = 20_000;

export async function viewCommand(run: string, options: ViewOptions): Promise<number> {
  refuseContradictoryOptions(options);
  const source = resolveRunSource(run);
  const otherSource = options.diff === undefined ? undefined : resolveRunSource(options.diff, '--diff');
  // Refused before the (possibly long) replay: the page must not replace a file it is made from.
  const pageFile = options.out !== undefined || !options.serve ? resolve(options.out ?? join(dirname(source.log), 'viewer.html')) : undefined;
  if (pageFile !== undefined) {
    const inputs = [source, ...(otherSource ? [otherSource] : [])].flatMap(sourceFiles);
    refuseInputAsOutput(replaceableTarget(pageFile, `--out ${displayPath(pageFile)}`), inputs, `--out ${displayPath(pageFile)}`);
  }
  const model = readModel(source, options.maxLineChars);
  const divergence = otherSource === undefined ? null : divergenceFrom(source, model, otherSource, options.maxLineChars);

  let states: PageInputs['states'] = null;
  let noStatesReason: string | undefined;
  if (options.states === false) {
    noStatesReason = 'This page was written with --no-states: the actors\' states were not computed. fedsim view without it (or --serve) shows them.';
  } else if (model.events > 0) {
    const every = options.stateEvery ?? Math.max(1, Math.ceil(model.events / STATE_CAPTURES));
    process.stderr.write(`replaying ${model.events.toLocaleString('en-US')} events to record the actors' states${every > 1 ? ` (every ${every} events)` : ''}…\n`);
    states = { ...(await captureStates(source.log, { every, project: options.project, maxLineChars: options.maxLineChars })), every };
  }
  const inputs: PageInputs = { model, name: source.name, states, noStatesReason, divergence, skipped: skippedRounds(source), serve: false };

  const out = process.stdout;
  if (pageFile !== undefined) {
    const file = pageFile;
    const bytes = writePage(file, viewerPage(inputs));
    out.write(`wrote ${terminalText(displayPath(file))} (${model.events.toLocaleString('en-US')} events, ${(bytes / 1e6).toFixed(1)} MB): open it in a browser\n`);
  }
  if (options.serve) {
    // Kept as its parts (one per data block), never joined into one string.
    const page = [...viewerPage({ ...inputs, serve: true })].map((part) => Buffer.from(part, 'utf8'));
    const { server, url } = await serveViewer({ port: options.port ?? 0, logFile: source.log, events: model.events, project: options.project, maxLineChars: options.maxLineChars, page });
    out.write(`serving ${terminalText(source.name)} on ${url} (127.0.0.1 only; Ctrl-C to stop)\n`);
    options.onServing?.(url, () => new Promise((done) => server.close(() => done())));
  }
  return EXIT_OK;
}

/** Options that would be silently ignored are refused instead, before any work. */
function refuseContradictoryOptions(options: ViewOptions): void {
  if (options.port !== undefined && !options.serve) {
    throw new CliError(`--port ${options.port} only applies with --serve (the port the viewer is served on); add --serve, or drop --port to write a file.`);
  }
  if (options.stateEvery !== undefined && options.states === false) {
    throw new CliError(`--state-every ${options.stateEvery} and --no-states contradict each other: --no-states keeps no states at all; give one of them.`);
  }
}

function readModel(source: RunSource, maxLineChars: number | undefined): ViewerModel {
  try {
    return readViewerModel(source.log, { source: displayPath(source.log), maxLineChars });
  } catch (error) {
    if (error instanceof LogFormatError) throw new CliError(error.message);
    throw error;
  }
}

/** The files a view of `source` reads: its log and results, and — for a run directory's log — the rest of that run. */
function sourceFiles(source: RunSource): string[] {
  const files = [source.log, ...(source.results === undefined ? [] : [source.results])];
  if (/^run\.jsonl(\.partial)?$/.test(basename(source.log))) files.push(...runDirectoryFiles(dirname(source.log)));
  return files;
}

function divergenceFrom(source: RunSource, model: ViewerModel, otherSource: RunSource, maxLineChars: number | undefined) {
  const otherLog = scanLogArgument(otherSource.log, maxLineChars);
  return findRunDivergence({ path: source.log, name: source.name, header: model.header }, { path: otherSource.log, name: otherSource.name, header: otherLog.header }, { maxLineChars });
}

/** Rounds of an FL run that left the model unchanged (results.json's perRound `skipped`), at the time they ended. */
function skippedRounds(source: RunSource): SkippedRoundMark[] {
  if (source.results === undefined) return [];
  let results: { result?: { perRound?: unknown } };
  try {
    results = JSON.parse(readFileSync(source.results, 'utf8'));
  } catch (error) {
    throw new CliError(`${displayPath(source.results)} is not valid JSON (${(error as Error).message}): the run's results are damaged; re-run the scenario, or view its run.jsonl alone.`);
  }
  const rows = results?.result?.perRound;
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((row) => typeof row?.round === 'number' && typeof row?.skipped === 'string')
    .map((row) => ({ round: row.round, reason: row.skipped, t: typeof row.endedAt === 'number' ? row.endedAt : typeof row.startedAt === 'number' ? row.startedAt : 0 }));
}

/** Streams the page to FILE.partial and renames it into place; returns its size in bytes. */
function writePage(file: string, parts: Iterable<string>): number {
  const what = `--out ${displayPath(file)}`;
  ensureDirectory(dirname(file), what);
  const target = replaceableTarget(file, what);
  if (existsSync(target) && statSync(target).isDirectory()) throw new CliError(`${what} is a directory; give a file path (e.g. ${displayPath(join(target, 'viewer.html'))}).`);
  let size = 0;
  try {
    const fd = openSync(target + PARTIAL, 'w');
    try {
      for (const part of parts) {
        const chunk = Buffer.from(part, 'utf8');
        writeSync(fd, chunk);
        size += chunk.length;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(target + PARTIAL, target);
  } catch (error) {
    throw new CliError(`${what}: cannot write ${displayPath(target)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a writable place.`);
  }
  return size;
}
