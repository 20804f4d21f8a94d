/**
 * `fedsim replay run.jsonl`: re-executes a recorded run from its header (scenario
 * file, seed, strategy, faults) and checks it event by event against the log.
 * With `--until SEQ` it stops once event SEQ has happened and shows every actor's
 * state; `--inspect ACTOR` shows only that actor (at SEQ, or at the end).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DivergenceError, LogFormatError, LogHeaderMismatchError, type LogSummary, openLogStream, readEventLine, scanLog } from '../../runtime/index.js';
import { describeError, displayPath, recordedFileCandidates, runScenario } from '../../scenario/index.js';
import { describeActors } from '../actor-state.js';
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { printFailure } from '../failure-output.js';
import { progressDisplay } from '../progress-display.js';
import { loadScenarioArgument, startBackend } from '../run-options.js';
import { bold, dim, fail, ok, red } from '../style.js';

export interface ReplayOptions {
  until?: number;
  inspect?: string;
  /** Longest log line accepted, in characters (default 1 MiB). */
  maxLineChars?: number;
  quiet?: boolean;
}

/**
 * Checks a whole log file before anything runs — header (with its fault plan and
 * strategy), line ends, blank and oversized lines, seq and time of every event — in
 * bounded memory, so a damaged log is a clear error, not a confusing divergence.
 */
export function scanLogArgument(file: string, maxLineChars?: number): LogSummary {
  if (!existsSync(file)) throw new CliError(`log file not found: ${file}`);
  try {
    return scanLog(file, { source: displayPath(resolve(file)), maxLineChars });
  } catch (error) {
    if (error instanceof LogFormatError) throw new CliError(error.message);
    throw error;
  }
}

/** The scenario file named in a log header: under the project of the working directory or of the log, else relative to either. */
function scenarioFileOf(log: LogSummary, logFile: string): string {
  const info = log.header.scenario;
  if (!info || typeof info.path !== 'string') {
    throw new CliError(
      `${logFile}: the log header does not name a scenario file, so the run cannot be re-executed. ` +
        'Logs written by `fedsim run` (or runScenario on a scenario with a path) record it; for other logs use the runtime\'s verifyRun().',
    );
  }
  const candidates = recordedFileCandidates(info.path, logFile);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new CliError(`${logFile}: the scenario file of this run, ${info.path}, is not found (looked in ${candidates.map((c) => displayPath(c)).join(' and ')}).`);
  return found;
}

/** Limits the run was recorded with (`--limit`), so its scenario file loads as it did then. */
function recordedLimits(info: Record<string, unknown>): Record<string, number> | undefined {
  const limits = info.limits;
  if (limits === undefined) return undefined;
  const valid = typeof limits === 'object' && limits !== null && Object.values(limits).every((v) => Number.isSafeInteger(v) && (v as number) > 0);
  if (!valid) throw new CliError(`the log header's scenario.limits is not a record of positive integers (found ${JSON.stringify(limits)}): the header was edited.`);
  return limits as Record<string, number>;
}

export async function replayCommand(logFile: string, options: ReplayOptions): Promise<number> {
  const shown = displayPath(resolve(logFile));
  const log = scanLogArgument(logFile, options.maxLineChars);
  const { header } = log;
  const info = header.scenario ?? {};
  const scenario = await loadScenarioArgument(scenarioFileOf(log, logFile), recordedLimits(info));
  const last = log.events - 1;
  if (options.until !== undefined && (options.until < 0 || options.until > last)) {
    throw new CliError(`--until ${options.until}: the log has events 0..${last}.`);
  }
  // The run is re-executed on the backend it was recorded on (a run reproduces bit for bit per backend).
  await startBackend(header.backend === 'none' ? undefined : header.backend);
  const until = options.until;
  const out = process.stdout;
  out.write(`${bold(`fedsim replay ${shown}`)} ${dim(`(${scenario.name}, seed ${header.seed}, ${log.events} events)`)}\n`);

  const progress = progressDisplay('replay', process.stderr, options.quiet);
  // Streamed: the recorded log is read as the run goes, and the run keeps no log of its own, so memory stays bounded.
  const stream = openLogStream(logFile, { source: shown, maxLineChars: options.maxLineChars });
  let outcome;
  try {
    outcome = await runScenario(scenario, {
      seed: header.seed,
      strategy: header.strategy,
      faults: header.faults,
      strict: info.strict === true,
      params: (info.params as Record<string, unknown> | undefined) ?? undefined,
      verify: stream,
      keepLog: false,
      header: info,
      progress,
      stopWhen: until === undefined ? undefined : (sim) => sim.eventCount > until,
    });
  } catch (error) {
    stream.close();
    if (error instanceof LogHeaderMismatchError) {
      progress.stop();
      printFailure('replay refused', error);
      return EXIT_FAILED;
    }
    throw error;
  }
  progress.stop();
  const sim = outcome.sim;

  if (outcome.error instanceof DivergenceError) {
    const d = outcome.error.divergence;
    out.write(`${fail()} ${red(`replay DIVERGED at seq ${d.seq}`)} — the re-executed run differs from ${shown}\n`);
    d.context.forEach((line, i) => out.write(dim(`  seq ${d.seq - d.context.length + i}  ${line}`) + '\n'));
    out.write(`  expected (log): ${d.expected ?? '(the log ends here)'}\n`);
    out.write(`  actual (run):   ${d.actual ?? '(the run ended here)'}\n`);
    out.write(
      'Either the log was edited, or the code, the scenario, the tfjs backend or something outside the simulation ' +
        '(Math.random, Date.now, real timers, unordered iteration) changed since it was recorded.\n',
    );
    return EXIT_FAILED;
  }
  if (outcome.error instanceof LogFormatError) {
    printFailure('replay stopped: the log is damaged', outcome.error);
    return EXIT_FAILED;
  }
  const driver = sim.driver.id;
  if (options.inspect !== undefined && options.inspect !== driver && !sim.actorIds().includes(options.inspect)) {
    throw new CliError(`--inspect ${options.inspect}: no such actor in this run. Actors: ${[driver, ...sim.actorIds()].join(', ')}.`);
  }

  if (outcome.stopped) {
    const lastSeq = sim.eventCount - 1;
    out.write(`${ok()} the replay matches the log up to seq ${lastSeq} (${sim.eventCount} events checked)\n`);
    out.write(`stopped after the step that produced seq ${until}${lastSeq > until! ? ` (that step ended at seq ${lastSeq})` : ''}, virtual time ${Number(sim.now().toFixed(3))} ms\n`);
    out.write(dim(`  seq ${until}  ${readEventLine(logFile, until!, { maxLineChars: options.maxLineChars })}`) + '\n\n');
    out.write(describeActors(sim, options.inspect));
    return EXIT_OK;
  }
  if (outcome.error !== undefined && outcome.closed === undefined) {
    out.write(`${fail()} the replay stopped with ${describeError(outcome.error).split('\n')[0]} after ${sim.eventCount} matching events\n`);
    printFailure('the replay stopped', outcome.error);
    return EXIT_FAILED;
  }
  const events = outcome.closed?.events ?? sim.eventCount;
  if (until !== undefined) out.write(`the run ended before seq ${until}\n`);
  out.write(`${ok()} replay OK: ${events} events match ${shown}\n`);
  if (outcome.error !== undefined) out.write(dim(`  as recorded, the run ended with ${describeError(outcome.error).split('\n')[0]}`) + '\n');
  if (options.inspect !== undefined) out.write('\n' + describeActors(sim, options.inspect));
  return EXIT_OK;
}
