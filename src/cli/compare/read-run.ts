/**
 * A RUN argument of `fedsim compare`: a directory written by `fedsim run --out DIR`, or its
 * results.json. Only results.json is read (the event log can be gigabytes; everything a
 * comparison shows is in results.json). Each refusal names the path and what to do.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { displayPath } from '../../scenario/index.js';
import { CliError } from '../cli-error.js';

/** One row of an experiment's `result.perRound` (fl/experiments/fedavg-experiment.ts), as far as a comparison reads it. */
export interface RoundRow {
  round: number;
  testAccuracy?: number;
  testLoss?: number;
  trainLoss?: number;
  bytesUp?: number;
  bytesDown?: number;
  virtualHours?: number;
}

export interface RunResults {
  /** results.json, absolute. */
  file: string;
  /** The run's directory, absolute. */
  dir: string;
  /** The argument as typed (for messages). */
  argument: string;
  /** The parsed results.json. */
  json: Record<string, unknown>;
  /** `experiment` when it has per-round metrics, else the scenario kind (a module scenario). */
  kind: string;
  perRound: RoundRow[];
}

/** results.json larger than this is not one `fedsim run` wrote (a 10,000-round run writes ~5 MB). */
const MAX_RESULTS_BYTES = 256 << 20;

const WHAT_TO_GIVE = 'give a directory written by `fedsim run FILE --out DIR`, or its results.json';

export function readRunResults(argument: string): RunResults {
  const absolute = resolve(argument);
  const shown = displayPath(absolute);
  if (!existsSync(absolute)) throw new CliError(`compare: ${shown}: no such file or directory; ${WHAT_TO_GIVE}.`);
  const isDir = statSync(absolute).isDirectory();
  const file = isDir ? join(absolute, 'results.json') : absolute;
  if (isDir && !existsSync(file)) {
    const partial = existsSync(join(absolute, 'results.json.partial')) || existsSync(join(absolute, 'run.jsonl.partial'));
    throw new CliError(
      partial
        ? `compare: ${shown} holds a run that did not finish (only .partial outputs): run it again to completion, then compare.`
        : `compare: ${shown} has no results.json, so it is not a run directory; ${WHAT_TO_GIVE}.`,
    );
  }
  const fileShown = displayPath(file);
  if (statSync(file).size > MAX_RESULTS_BYTES) throw new CliError(`compare: ${fileShown} is larger than ${MAX_RESULTS_BYTES >> 20} MB, so it is not a results.json written by fedsim run; ${WHAT_TO_GIVE}.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`compare: ${fileShown} is not valid JSON (${(error as Error).message}); the file is damaged: run the experiment again to rewrite it.`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || typeof (json as Record<string, unknown>).fedsim !== 'string' || typeof (json as Record<string, unknown>).scenario !== 'object') {
    throw new CliError(`compare: ${fileShown} is JSON but not a results.json written by fedsim run (it has no \`fedsim\` and \`scenario\` fields); ${WHAT_TO_GIVE}.`);
  }
  const results = json as Record<string, unknown>;
  const perRound = perRoundOf(results.result, fileShown);
  const settingsKind = (results.settings as { kind?: unknown } | undefined)?.kind;
  const kind = perRound ? 'experiment' : typeof settingsKind === 'string' ? `${settingsKind} scenario` : 'module scenario';
  return { file, dir: isDir ? absolute : dirname(absolute), argument, json: results, kind, perRound: perRound ?? [] };
}

/** `result.perRound` checked row by row: a row without a numeric `round` means the file was edited or damaged. */
function perRoundOf(result: unknown, shown: string): RoundRow[] | undefined {
  const rows = (result as { perRound?: unknown } | null | undefined)?.perRound;
  if (rows === undefined) return undefined;
  if (!Array.isArray(rows)) throw new CliError(`compare: ${shown}: result.perRound is not a list; the file is damaged: run the experiment again to rewrite it.`);
  for (const [i, row] of rows.entries()) {
    if (row === null || typeof row !== 'object' || typeof (row as RoundRow).round !== 'number') {
      throw new CliError(`compare: ${shown}: result.perRound[${i}] has no round number; the file is damaged: run the experiment again to rewrite it.`);
    }
  }
  return rows as RoundRow[];
}

/** The run's name in charts and tables: its directory's name. */
export function runDirName(run: RunResults): string {
  return basename(run.dir);
}
