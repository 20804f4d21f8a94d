/**
 * What `fedsim view RUN` was given: a run directory written by `fedsim run FILE --out DIR`
 * (its run.jsonl, and results.json when there is one), a results.json, or an event log
 * (any .jsonl, a run.jsonl.partial too). Resolved to files, with an error that says what
 * was expected when it is none of these.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from '../cli/cli-error.js';
import { displayPath } from '../scenario/index.js';

export interface RunSource {
  /** The event log. */
  log: string;
  /** results.json next to it, when it exists (skipped rounds are read from it). */
  results?: string;
  /** How the run is named on screen: the directory or the log, relative to the working directory. */
  name: string;
}

const HINT = 'give the directory `fedsim run FILE --out DIR` wrote, its run.jsonl, or its results.json';

export function resolveRunSource(run: string, role = 'RUN'): RunSource {
  const given = resolve(run);
  if (!existsSync(given)) throw new CliError(`${role} ${run} does not exist; ${HINT}.`);
  if (statSync(given).isDirectory()) {
    const log = join(given, 'run.jsonl');
    if (!existsSync(log)) {
      const partial = existsSync(log + '.partial') ? ` It has run.jsonl.partial (the log of a run that was stopped): view that file itself.` : '';
      throw new CliError(`${role} ${displayPath(given)} has no run.jsonl, so it is not a finished run's directory.${partial} ${capitalise(HINT)}.`);
    }
    return withResults(log, given, displayPath(given));
  }
  if (basename(given) === 'results.json') {
    const log = join(dirname(given), 'run.jsonl');
    if (!existsSync(log)) throw new CliError(`${role} ${displayPath(given)}: there is no run.jsonl next to it (the event log is what the viewer shows); ${HINT}.`);
    return withResults(log, dirname(given), displayPath(dirname(given)));
  }
  if (!/\.jsonl(\.partial)?$/.test(given)) throw new CliError(`${role} ${displayPath(given)} is neither a run directory nor an event log (.jsonl); ${HINT}.`);
  // A log inside a run directory has its results.json next to it; a log elsewhere stands alone.
  return basename(given) === 'run.jsonl' ? withResults(given, dirname(given), displayPath(given)) : { log: given, name: displayPath(given) };
}

function withResults(log: string, dir: string, name: string): RunSource {
  const results = join(dir, 'results.json');
  return existsSync(results) ? { log, results, name } : { log, name };
}

const capitalise = (text: string) => text[0].toUpperCase() + text.slice(1);
