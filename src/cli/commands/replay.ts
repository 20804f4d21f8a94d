/**
 * `fedsim replay run.jsonl`: re-executes a recorded run from its header (scenario
 * file, seed, strategy, faults) and checks it event by event against the log.
 * With `--until SEQ` it stops once event SEQ has happened and shows every actor's
 * state; `--inspect ACTOR` shows only that actor (at SEQ, or at the end).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { DEFAULT_MAX_STEPS, DivergenceError, LogFormatError, LogHeaderMismatchError, type LogHeader, type LogSummary, openLogStream, readEventLine, readLog, scanLog } from '../../runtime/index.js';
import { EXIT_INTERRUPTED, isInterrupted, runInterruptibly } from '../interrupt.js';
import { type Scenario, changedError, describeError, displayPath, RecordedScenarioError, recordedModulesCheck, resolveRecordedScenario, runScenario } from '../../scenario/index.js';
import { describeActors } from '../actor-state.js';
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { printFailure } from '../failure-output.js';
import { progressDisplay } from '../progress-display.js';
import { loadScenarioArgument, startBackend } from '../run-options.js';
import { followRecordedFusedDense } from '../../runtime/fused-dense/module.js';
import { bold, dim, fail, ok, red } from '../style.js';
import { terminalText } from '../terminal-text.js';
import { resolveRunSource } from '../../viewer/run-source.js';

export interface ReplayOptions {
  until?: number;
  inspect?: string;
  /** Longest log line accepted, in characters (default 1 MiB). */
  maxLineChars?: number;
  /** The project the log was made in (where its scenario file is looked up). */
  project?: string;
  /** Replay a log without scenario.sha256, with the scenario file as it is now. */
  allowUnverifiedScenario?: boolean;
  /** Step budget of one await or settle (default: the header's, else the runtime's). */
  maxSteps?: number;
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

/**
 * The scenario of a recorded run, loaded only after its file is found inside the project
 * with the bytes the header records (see recorded-scenario.ts): nothing is imported before.
 */
export async function recordedScenario(log: LogSummary, logFile: string, options: ReplayOptions): Promise<Scenario<any>> {
  const info = log.header.scenario ?? {};
  const where = { project: options.project, allowUnverified: options.allowUnverifiedScenario };
  let file;
  let verifyCode;
  try {
    file = resolveRecordedScenario(log.header.scenario, logFile, where);
    verifyCode = recordedModulesCheck(log.header.scenario, logFile, where);
  } catch (error) {
    if (error instanceof RecordedScenarioError) throw refusal(error);
    throw error;
  }
  let scenario;
  try {
    scenario = await loadScenarioArgument(file.path, recordedLimits(info), recordedParams(info), verifyCode);
  } catch (error) {
    // A module the scenario file loads, refused before it was imported.
    if (error instanceof RecordedScenarioError) throw refusal(error);
    throw error;
  }
  // The loader read the file again: it must still be the bytes that were checked.
  if (scenario.sha256 !== undefined && scenario.sha256 !== file.sha256) throw refusal(changedError(file.path, file.sha256, scenario.sha256));
  return scenario;
}

/** A changed scenario file is this environment's problem (exit 1, like a header this run cannot reproduce); the rest are input (exit 2). */
function refusal(error: RecordedScenarioError): CliError {
  return error.problem === 'changed' ? new ReplayRefused(error.message) : new CliError(error.message);
}

/** Printed as `replay refused: …`, as a header this run cannot reproduce is. */
export class ReplayRefused extends CliError {
  constructor(message: string) {
    super(message, EXIT_FAILED);
  }
}

export function recordedParams(info: Record<string, unknown>): Record<string, unknown> | undefined {
  const params = info.params;
  if (params === undefined) return undefined;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new CliError(`the log header's scenario.params is not a mapping (found ${JSON.stringify(params)}): the header was edited.`);
  return params as Record<string, unknown>;
}

/**
 * What a recorded run ran with, read back from its log header, for every command that runs it
 * again (replay, resume, the viewer's states): seed, strategy, fault plan, strict mode, params.
 */
export function recordedRunSettings(header: LogHeader, info: Record<string, unknown>) {
  return {
    seed: header.seed,
    strategy: header.strategy,
    faults: header.faults,
    strict: info.strict === true,
    params: recordedParams(info),
    recordedHeader: info,
  };
}

/** The step budget the run was recorded with; logs from before it was recorded ran under the runtime's default. */
export function recordedMaxSteps(info: Record<string, unknown>): number {
  const value = info.maxSteps;
  if (value === undefined) return DEFAULT_MAX_STEPS;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new CliError(`the log header's scenario.maxSteps is not a positive integer (found ${JSON.stringify(value)}): the header was edited.`);
  return value as number;
}

/** Limits the run was recorded with (`--limit`), so its scenario file loads as it did then. */
function recordedLimits(info: Record<string, unknown>): Record<string, number> | undefined {
  const limits = info.limits;
  if (limits === undefined) return undefined;
  const valid = typeof limits === 'object' && limits !== null && Object.values(limits).every((v) => Number.isSafeInteger(v) && (v as number) > 0);
  if (!valid) throw new CliError(`the log header's scenario.limits is not a record of positive integers (found ${JSON.stringify(limits)}): the header was edited.`);
  return limits as Record<string, number>;
}

export async function replayCommand(logArgument: string, options: ReplayOptions): Promise<number> {
  // A run directory (`fedsim run FILE --out DIR`, live or simulated), or its results.json, stands for its run.jsonl.
  const runOutput = existsSync(logArgument) && (statSync(logArgument).isDirectory() || basename(logArgument) === 'results.json');
  const logFile = runOutput ? resolveRunSource(logArgument, 'LOG').log : logArgument;
  const shown = terminalText(displayPath(resolve(logFile)));
  const log = scanLogArgument(logFile, options.maxLineChars);
  const { header } = log;
  const info = header.scenario ?? {};
  let scenario: Scenario<any>;
  try {
    scenario = await recordedScenario(log, logFile, options);
  } catch (error) {
    if (!(error instanceof ReplayRefused)) throw error;
    printFailure('replay refused', error);
    return EXIT_FAILED;
  }
  const maxSteps = options.maxSteps ?? recordedMaxSteps(info);
  // A live recording (fedsim run --transport nats) is followed, not re-executed from a seed: see causal-replay.ts.
  const live = header.transport !== undefined;
  if (live && options.until !== undefined) {
    throw new CliError(`--until: ${shown} is the recording of a live run (transport ${header.transport}); its events are compared message by message, not step by step, so there is no step to stop at. Replay it whole.`);
  }
  const last = log.events - 1;
  if (options.until !== undefined && (options.until < 0 || options.until > last)) {
    throw new CliError(`--until ${options.until}: ${last < 0 ? 'the log has no events (only its header): there is nothing to stop at' : `the log has events 0..${last}`}.`);
  }
  // The run is re-executed on the backend it was recorded on (a run reproduces bit for bit per backend),
  // with the dense kernels it used (fused or tfjs ops).
  followRecordedFusedDense(header.backend);
  await startBackend(header.backend === 'none' ? undefined : header.backend, `the log header's backend '${header.backend}'`);
  const until = options.until;
  const out = process.stdout;
  out.write(`${bold(`fedsim replay ${shown}`)} ${dim(`(${terminalText(scenario.name)}, seed ${terminalText(String(header.seed))}, ${log.events} events)`)}\n`);

  const progress = progressDisplay('replay', process.stderr, options.quiet);
  // Streamed: the recorded log is read as the run goes, and the run keeps no log of its own, so memory stays bounded.
  const stream = live ? undefined : openLogStream(logFile, { source: shown, maxLineChars: options.maxLineChars });
  let outcome;
  try {
    outcome = await runScenario(scenario, {
      ...recordedRunSettings(header, info),
      maxSteps,
      ...(live ? { follow: readLog(logFile, { maxLineChars: options.maxLineChars }) } : { verify: stream }),
      keepLog: false,
      progress,
      stopWhen: until === undefined ? undefined : (sim) => sim.eventCount > until,
      runSteps: runInterruptibly,
    });
  } catch (error) {
    stream?.close();
    if (error instanceof LogHeaderMismatchError) {
      progress.stop();
      printFailure('replay refused', error);
      return EXIT_FAILED;
    }
    throw error;
  }
  progress.stop();
  const sim = outcome.sim;
  if (isInterrupted(outcome.error)) {
    process.stderr.write(`replay interrupted (Ctrl-C) after ${sim.eventCount} matching events of ${log.events}; nothing was written. Replay up to a point with --until <seq>.\n`);
    return EXIT_INTERRUPTED;
  }

  // The log of a stopped run (run.jsonl.partial) may end inside the step that produced --until:
  // every event up to its end matched, and the replay stops where the log does.
  const logEndsInUntilStep =
    until !== undefined && outcome.error instanceof DivergenceError && outcome.error.divergence.expected === null && outcome.error.divergence.seq > until;
  if (outcome.error instanceof DivergenceError && !logEndsInUntilStep) {
    const d = outcome.error.divergence;
    out.write(`${fail()} ${red(`replay DIVERGED at seq ${d.seq}`)} — the re-executed run differs from ${shown}\n`);
    d.context.forEach((line, i) => out.write(dim(`  seq ${d.seq - d.context.length + i}  ${line}`) + '\n'));
    out.write(`  expected (log): ${d.expected ?? '(the log ends here)'}\n`);
    out.write(`  actual (run):   ${d.actual ?? '(the run ended here)'}\n`);
    if (d.expected === null) {
      out.write(
        last < 0
          ? 'The log has no events, only its header: it is the log of a run that was stopped before its first event (a .partial log?); there is nothing to replay.\n'
          : `The log ends before the run does: it is the log of a run that was stopped (a .partial log?). Replay it up to its last event with --until ${last}.\n`,
      );
      return EXIT_FAILED;
    }
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

  if (outcome.stopped || logEndsInUntilStep) {
    const checked = logEndsInUntilStep ? log.events : sim.eventCount;
    const lastSeq = checked - 1;
    out.write(`${ok()} the replay matches the log up to seq ${lastSeq} (${checked} events checked)\n`);
    if (logEndsInUntilStep) {
      out.write(
        `stopped where the log ends, inside the step that produced seq ${until} (the log of a run that was stopped there): ` +
          `the state below is that step's, as far as the log goes, virtual time ${Number(sim.now().toFixed(3))} ms\n`,
      );
    } else {
      out.write(`stopped after the step that produced seq ${until}${lastSeq > until! ? ` (that step ended at seq ${lastSeq})` : ''}, virtual time ${Number(sim.now().toFixed(3))} ms\n`);
    }
    out.write(dim(`  seq ${until}  ${readEventLine(logFile, until!, { maxLineChars: options.maxLineChars })}`) + '\n\n');
    out.write(describeActors(sim, options.inspect));
    return EXIT_OK;
  }
  if (outcome.error !== undefined && outcome.closed === undefined) {
    // Once, on stderr: the reason (with a liveness report when there is one) and how far the replay matched.
    printFailure(`the replay stopped after ${sim.eventCount} matching events`, outcome.error);
    return EXIT_FAILED;
  }
  const events = outcome.closed?.events ?? sim.eventCount;
  if (until !== undefined) out.write(`the run ended before seq ${until}\n`);
  out.write(live ? `${ok()} replay OK: the simulator reproduced every message of the live recording ${shown} (${events} events) in its causal order\n` : `${ok()} replay OK: ${events} events match ${shown}\n`);
  if (outcome.error !== undefined) out.write(dim(`  as recorded, the run ended with ${describeError(outcome.error).split('\n')[0]}`) + '\n');
  if (options.inspect !== undefined) out.write('\n' + describeActors(sim, options.inspect));
  return EXIT_OK;
}
