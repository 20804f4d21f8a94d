/**
 * `fedsim resume RUN`: continues a run that stopped (killed, crashed, Ctrl-C) from its last
 * checkpoint (`fedsim run FILE --checkpoint-every N --out RUN`).
 *
 * Before anything runs, it finds the latest checkpoint that is intact (its digest) and whose
 * log prefix is still on disk (size and sha256), and refuses — naming what and what to do —
 * a run without checkpoints, a complete run, a run whose code or scenario file changed. Then
 * it re-executes the run from the header's seed, settings and fault plan: every event up to
 * the checkpoint must be the recorded line (the first difference halts it and nothing is
 * changed), and from there on the run goes on, writing checkpoints as before. The state of
 * rounds 1..k is rebuilt by that re-execution, not read back from the checkpoint; why, and
 * what it costs, is in docs/checkpoint-resume.md.
 *
 * Files: the resumed log is streamed to `run.jsonl.partial.resume` until the prefix is
 * verified, then renamed over `run.jsonl.partial` (a superset of the stopped log's intact
 * part); results.json, report.html and the log get their final names only when the run is
 * complete, as with `fedsim run`. Stopped or refused at any point, the run stays resumable.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CHECKPOINTS_DIR, type CheckpointReading, readCheckpoints } from '../../fl/checkpoint/checkpoint-file.js';
import type { CheckpointRecorder } from '../../fl/checkpoint/checkpoint-recorder.js';
import { codeSha256 } from '../../fl/checkpoint/code-digest.js';
import { LogPrefixError, checkLogPrefix, openLogPrefix, verifyLogPrefix } from '../../runtime/replay/log-prefix.js';
import { DivergenceError, LogFormatError, openLogStream, type LogHeader } from '../../runtime/index.js';
import { followRecordedFusedDense } from '../../runtime/fused-dense/module.js';
import { displayPath, projectRoot, runScenario, type Scenario } from '../../scenario/index.js';
import { FEDSIM_VERSION } from '../../version.js';
import { CliError, EXIT_FAILED } from '../cli-error.js';
import { printFailure } from '../failure-output.js';
import { EXIT_INTERRUPTED, isInterrupted, runInterruptibly } from '../interrupt.js';
import { progressDisplay } from '../progress-display.js';
import { lockRunDirectory } from '../run-lock.js';
import { PARTIAL, type RunOutputs } from '../run-outputs.js';
import { startBackend } from '../run-options.js';
import { bold, dim, yellow } from '../style.js';
import { terminalText } from '../terminal-text.js';
import { ReplayRefused, recordedMaxSteps, recordedRunSettings, recordedScenario } from './replay.js';
import { concludeRun, startCheckpoints } from './run.js';

export interface ResumeOptions {
  /** The project the run was made in (where its scenario file is looked up), as for replay. */
  project?: string;
  /** Threads for the clients' local training (the run is the same with any number). */
  workers?: number;
  quiet?: boolean;
}

/** Where the resumed log is streamed until the stopped log's prefix is verified. */
export const RESUME_SUFFIX = '.resume';

/** Printed as `resume refused: …` (exit 1): the environment changed, the run itself is fine. */
class ResumeRefused extends CliError {
  constructor(message: string) {
    super(message, EXIT_FAILED);
  }
}

export async function resumeCommand(runArgument: string, options: ResumeOptions): Promise<number> {
  const dir = runDirectory(runArgument);
  // One writer per run: a second resume (or a run into it) is refused before it reads or touches anything.
  const lock = lockRunDirectory(dir, 'resumed');
  try {
    return await resumeLocked(dir, options);
  } finally {
    lock.release();
  }
}

async function resumeLocked(dir: string, options: ResumeOptions): Promise<number> {
  const shown = terminalText(displayPath(dir));
  let chosen: Extract<CheckpointReading, { checkpoint: unknown }>;
  let partial: string;
  let header: LogHeader;
  let scenario: Scenario<any>;
  try {
    ({ chosen, partial } = usableCheckpoint(dir, shown));
    refuseChangedCode(chosen);
    header = logHeaderOf(partial);
    try {
      scenario = await recordedScenario({ header, events: 0, source: partial }, partial, { project: options.project });
    } catch (error) {
      if (error instanceof ReplayRefused) throw new ResumeRefused(`${error.message} A resumed run must re-execute the scenario that started it: restore the file, or start the run again with fedsim run.`);
      throw error;
    }
  } catch (error) {
    if (!(error instanceof ResumeRefused)) throw error;
    printFailure('resume refused', error);
    return EXIT_FAILED;
  }
  const checkpoint = chosen.checkpoint;
  const info = header.scenario ?? {};
  const logFinal = resolve(dir, checkpoint.log.file);
  const resumeLog = partial + RESUME_SUFFIX;
  rmSync(resumeLog, { force: true }); // a resume stopped before its prefix was verified left it: it holds nothing needed
  const outputs = resumeOutputs(dir, logFinal, partial);

  // The run is re-executed on the backend, and with the dense kernels, it was recorded with (as replay does).
  followRecordedFusedDense(header.backend);
  await startBackend(header.backend === 'none' ? undefined : header.backend, `the log header's backend '${header.backend}'`);
  process.stdout.write(
    `${bold(`fedsim resume ${shown}`)} ${dim(`(${terminalText(scenario.name)}, seed ${terminalText(String(header.seed))}): from the checkpoint of round ${checkpoint.round} (${chosen.file}, event ${checkpoint.events}, virtual time ${Number(checkpoint.virtualTime.toFixed(3))} ms)`)}\n`,
  );
  process.stdout.write(dim(`re-executing rounds 1..${checkpoint.round} from the seed, checked event by event against the stopped run's log, then going on\n`));

  const progress = progressDisplay(scenario.name, process.stderr, options.quiet);
  const prefix = openLogPrefix(partial, checkpoint, terminalText(displayPath(partial)));
  let verification: ReturnType<typeof verifyLogPrefix> | undefined;
  let recorder: CheckpointRecorder | undefined;
  const started = performance.now();
  let outcome;
  try {
    outcome = await runScenario(scenario, {
      ...recordedRunSettings(header, info),
      maxSteps: recordedMaxSteps(info),
      record: resumeLog,
      progress,
      runSteps: runInterruptibly,
      workers: options.workers,
      onSimulation: (sim) => {
        verification = verifyLogPrefix(sim, prefix, () => {
          // The prefix is re-created, byte for byte: the resumed log now replaces the stopped one.
          sim.flushLog();
          renameSync(resumeLog, partial);
        });
        recorder = startCheckpoints(sim, checkpoint.every, dir, resumeLog, logFinal, checkpoint.round);
      },
    });
  } catch (error) {
    progress.stop();
    recorder?.stop();
    prefix.close();
    rmSync(resumeLog, { force: true });
    if (error instanceof Error && error.name === 'ResumeHeaderError') {
      printFailure('resume refused', new ResumeRefused(`${error.message}\nThe run's settings as recorded cannot be re-created by this fedsim; start the run again with fedsim run.`));
      return EXIT_FAILED;
    }
    throw error;
  }
  const wallMs = performance.now() - started;
  progress.stop();
  recorder?.stop();
  verification?.stop();
  if (!verification?.verified) {
    rmSync(resumeLog, { force: true });
    const error = outcome.error;
    if (error instanceof DivergenceError) {
      const d = error.divergence;
      printFailure(
        'resume refused',
        new ResumeRefused(
          `the re-executed run differs from the stopped run's log at seq ${d.seq}, before the checkpoint of round ${checkpoint.round} (event ${checkpoint.events}):\n` +
            `  expected (log): ${d.expected ?? '(the log ends here)'}\n  actual (run):   ${d.actual ?? '(the run ended here)'}\n` +
            'Something outside the recorded digests changed (the tfjs backend\'s version, a module the scenario imports, the data files); ' +
            `nothing in ${shown} was changed. Restore what changed, or start the run again with fedsim run.`,
        ),
      );
      return EXIT_FAILED;
    }
    if (isInterrupted(outcome.error)) {
      process.stderr.write(`${yellow('interrupted:', process.stderr)} the resume was stopped (Ctrl-C) before it re-created the checkpoint of round ${checkpoint.round}; ${shown} is as it was (resume it again)\n`);
      return EXIT_INTERRUPTED;
    }
    if (outcome.error !== undefined) {
      printFailure(`the resumed run stopped after ${outcome.sim.eventCount} events, before it re-created the checkpoint of round ${checkpoint.round}; ${shown} is as it was`, outcome.error);
      return EXIT_FAILED;
    }
    throw new Error(`fedsim resume: the run ended after ${outcome.sim.eventCount} events without re-creating the ${checkpoint.events} events of the checkpoint of round ${checkpoint.round}`);
  }
  const faultsRecorded = typeof info.faults === 'string' && info.faults !== 'inline' ? info.faults : undefined;
  const faultsFile = faultsRecorded === undefined ? undefined : resolve(projectRoot(scenario.path ?? partial) ?? process.cwd(), faultsRecorded);
  return concludeRun({ scenario, outcome, outputs, outDir: dir, outLabel: `the run directory ${shown}`, faultsFile, scenarioPath: scenario.path ?? partial, wallMs });
}

/** RUN is a run directory, or its results.json. */
function runDirectory(argument: string): string {
  const path = resolve(argument);
  const dir = basename(path) === 'results.json' ? resolve(path, '..') : path;
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw new CliError(`fedsim resume ${argument}: no such run directory; give the --out directory of a run started with fedsim run FILE --checkpoint-every N.`);
  }
  if (!isDirectory) throw new CliError(`fedsim resume ${argument}: not a directory; give the --out directory of a run started with fedsim run FILE --checkpoint-every N.`);
  return dir;
}

/**
 * The latest checkpoint that is intact and whose log prefix the stopped run's log still
 * holds; the checkpoints passed over are reported on stderr, with why.
 */
function usableCheckpoint(dir: string, shown: string): { chosen: Extract<CheckpointReading, { checkpoint: unknown }>; partial: string } {
  const readings = readCheckpoints(join(dir, CHECKPOINTS_DIR));
  if (readings.length === 0) {
    throw new CliError(
      `${shown} has no checkpoints (no ${CHECKPOINTS_DIR}/round-*.json in it): the run was started without --checkpoint-every, or stopped before its first checkpoint. ` +
        `Start it again: fedsim run FILE --checkpoint-every N --out ${shown}`,
    );
  }
  const intact = readings.find((r): r is Extract<CheckpointReading, { checkpoint: unknown }> => 'checkpoint' in r);
  if (intact === undefined) throw new CliError(`${shown}: no checkpoint can be used:\n${readings.map((r) => `  - ${CHECKPOINTS_DIR}/${r.file} ${(r as { problem: string }).problem}`).join('\n')}\nStart the run again with fedsim run.`);
  const logFinal = resolve(dir, intact.checkpoint.log.file);
  const partial = logFinal + PARTIAL;
  if (!existsSync(partial)) {
    if (existsSync(logFinal) && existsSync(join(dir, 'results.json'))) {
      throw new CliError(`${shown} is a complete run (${terminalText(displayPath(logFinal))} and results.json are in place, and there is no ${basename(partial)}): there is nothing to resume. To run it again, use fedsim run.`);
    }
    throw new CliError(`${shown}: the stopped run's log ${terminalText(displayPath(partial))} is missing, so no checkpoint can be resumed (its log up to the checkpoint is what the resumed run is checked against). Start the run again with fedsim run.`);
  }
  const passed: string[] = [];
  for (const reading of readings) {
    if (!('checkpoint' in reading)) {
      passed.push(`${reading.file} ${reading.problem}`);
      continue;
    }
    if (resolve(dir, reading.checkpoint.log.file) !== logFinal) {
      passed.push(`${reading.file} names another log (${reading.checkpoint.log.file})`);
      continue;
    }
    try {
      checkLogPrefix(partial, reading.checkpoint);
    } catch (error) {
      if (!(error instanceof LogPrefixError)) throw error;
      passed.push(`${reading.file}: the log does not hold what it covers: ${error.message}`);
      continue;
    }
    for (const line of passed) process.stderr.write(`${yellow('warning:', process.stderr)} skipped ${CHECKPOINTS_DIR}/${terminalText(line)}\n`);
    return { chosen: reading, partial };
  }
  throw new CliError(`${shown}: no checkpoint can be used:\n${passed.map((line) => `  - ${CHECKPOINTS_DIR}/${terminalText(line)}`).join('\n')}\nStart the run again with fedsim run.`);
}

/** The re-execution must run the code that made the checkpoint: refused, naming what changed, before anything runs. */
function refuseChangedCode(chosen: Extract<CheckpointReading, { checkpoint: unknown }>): void {
  const { code } = chosen.checkpoint;
  if (code.fedsim !== FEDSIM_VERSION) {
    throw new ResumeRefused(`the run was started by fedsim ${code.fedsim}, and this is fedsim ${FEDSIM_VERSION}: resume it with the version that started it, or start it again with fedsim run.`);
  }
  const now = codeSha256();
  if (code.sha256 !== now) {
    throw new ResumeRefused(
      `fedsim's code changed since the run was started (its source files hash to ${now.slice(0, 12)}…, the checkpoint ${chosen.file} records ${code.sha256.slice(0, 12)}…). ` +
        'A resumed run re-executes the rounds before its checkpoint, so it needs the same code: go back to the code that started the run, or start it again with fedsim run.',
    );
  }
}

function logHeaderOf(partial: string): LogHeader {
  try {
    const stream = openLogStream(partial, { source: displayPath(partial) });
    stream.close();
    return stream.header;
  } catch (error) {
    if (error instanceof LogFormatError) throw new CliError(`the stopped run's log cannot be resumed: ${error.message}`);
    throw error;
  }
}

/** The run's outputs, written under .partial names (the log already is) and renamed into place when complete. */
function resumeOutputs(dir: string, logFinal: string, partialLog: string): RunOutputs {
  const results = join(dir, 'results.json');
  const report = join(dir, 'report.html');
  const partial = { log: partialLog, results: results + PARTIAL, report: report + PARTIAL };
  return {
    log: logFinal,
    results,
    report,
    partial,
    commit() {
      renameSync(partial.log, logFinal);
      renameSync(partial.results, results);
      renameSync(partial.report, report);
    },
  };
}
