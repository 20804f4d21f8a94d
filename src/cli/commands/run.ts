/**
 * `fedsim run <scenario>`: one run, with a progress display, a summary, and the
 * files to look at afterwards — the event log, results.json and report.html.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CHECKPOINTS_DIR, clearCheckpoints } from '../../fl/checkpoint/checkpoint-file.js';
import { type CheckpointRecorder, recordCheckpoints } from '../../fl/checkpoint/checkpoint-recorder.js';
import { performance } from 'node:perf_hooks';
import { eventLine, type LogHeader, type RecordedLog, type Seed, type StrategySpec } from '../../runtime/index.js';
import {
  describeError,
  describeFaultPlan,
  displayPath,
  formatStrategy,
  normalizeMetrics,
  projectPath,
  runScenario,
  shellQuote,
  runStats,
  type RunStats,
  type ScenarioOutcome,
  totalFaults,
  unmatchedScriptedFaults,
  replayProjectFor,
  type Scenario,
  type Sim,
} from '../../scenario/index.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../cli-error.js';
import { natsFlagsGiven, natsSettings } from '../nats-options.js';
import { type LiveRunOptions, runLiveCommand } from './run-live.js';
import { natsTrainingPool } from '../../fl/distributed/nats-training-pool.js';
import type { TrainingPool } from '../../fl/parallel/training-pool.js';
import { EXIT_INTERRUPTED, isInterrupted, runInterruptibly } from '../interrupt.js';
import { fedsimCommand } from '../invocation.js';
import { type RunOutputs, ensureDirectory, prepareRunOutputs } from '../run-outputs.js';
import { lockRunDirectory } from '../run-lock.js';
import { resumeCommandFor } from '../resume-hint.js';
import { toJsonSafe } from '../json-safe.js';
import { progressDisplay } from '../progress-display.js';
import { renderHtmlReport } from '../report/html-report.js';
import type { LaneEvent } from '../report/lane-diagram.js';
import { printFailure } from '../failure-output.js';
import { takeFinalModel } from '../final-model-output.js';
import { privacyLinesOf } from '../privacy-output.js';
import { CLI_MAX_STEPS, checkFaultActors, loadFaultsArgument, loadScenarioArgument, mergeSetAndParam, slug, startBackend } from '../run-options.js';
import { type SkippedRound, skippedByReason, skippedRoundsOf } from '../skipped-rounds.js';
import { bold, dim, fail, ok, red, yellow } from '../style.js';
import { renderTable } from '../text-table.js';
import { FEDSIM_VERSION } from '../../version.js';
import { terminalText } from '../terminal-text.js';

export interface RunCommandOptions {
  seed?: Seed;
  record?: string;
  faults?: string;
  strict?: boolean;
  backend?: string;
  out?: string;
  strategy?: StrategySpec;
  param?: Record<string, unknown>;
  /** --set key=value: the same as --param (its newer, documented name). */
  set?: Record<string, unknown>;
  /** --limit name=value: limits raised for this run (recorded in the log header, so replay applies them too). */
  limit?: Record<string, number>;
  /** Step budget of one await or settle (default: the scenario's, else CLI_MAX_STEPS). */
  maxSteps?: number;
  /** Stop the run once its log is this large (default: no limit). */
  maxLogBytes?: number;
  quiet?: boolean;
  /** Threads for the clients' local training (ScenarioContext.workers). */
  workers?: number;
  /** Write a checkpoint every this many rounds (FL experiments only; see docs/checkpoint-resume.md). */
  checkpointEvery?: number;
  /** --train-nats URL: train clients in `fedsim train-worker` processes through this NATS server (src/fl/distributed/). */
  trainNats?: string;
  /** --train-subject: the subject prefix those workers listen on (default fedsim.train). */
  trainSubject?: string;
}

const LANE_EVENTS = 200;

export async function runCommand(scenarioPath: string, options: RunCommandOptions & LiveRunOptions): Promise<number> {
  // Live runs (issue #18) have their own command path: src/cli/commands/run-live.ts.
  if (options.transport !== undefined && options.transport !== 'sim') return runLiveCommand(scenarioPath, options);
  // --train-nats connects with the same authentication and TLS flags as a live run; --nats and --run name a live run.
  const natsFlags = natsFlagsGiven(options).filter((flag) => options.trainNats === undefined || flag === '--nats' || flag === '--run');
  if (options.clientsOnWorkers) natsFlags.push('--clients-on-workers');
  if (natsFlags.length > 0) {
    const authFlags = natsFlags.some((flag) => flag !== '--nats' && flag !== '--run' && flag !== '--clients-on-workers');
    const to = options.trainNats === undefined && authFlags ? ' (or, for the authentication and TLS flags, to --train-nats)' : '';
    throw new CliError(`${natsFlags.join(', ')} ${natsFlags.length > 1 ? 'apply' : 'applies'} to live runs only${to}: add --transport nats.`);
  }
  const { params, flags } = mergeSetAndParam(options.set, options.param);
  const scenario = await loadScenarioArgument(scenarioPath, options.limit, params, undefined, flags);
  const faults = loadFaultsArgument(options.faults, options.limit?.fileBytes);
  // Refused before anything starts: a --faults plan naming actors the scenario does not have.
  if (faults) checkFaultActors(scenario, faults);
  if (options.checkpointEvery !== undefined) refuseUncheckpointable(scenario, scenarioPath, options.checkpointEvery);
  const seed = options.seed ?? scenario.seed ?? 0;
  const out = options.out ?? join('runs', `${slug(scenario.name)}-seed${slug(String(seed))}`);
  const outDir = resolve(out);
  // A bad backend name is a usage error too: checked before the output directory is made, so it leaves nothing behind.
  await startBackend(options.backend);
  // --train-nats: checked (and the bridge thread started) before the output directory is made, like the backend.
  const trainingPool = trainingPoolOf(options);
  if (trainingPool) {
    // Connected (credentials, TLS, server reachable) before anything is written: a wrong password leaves no run behind.
    try {
      await trainingPool.ready();
    } catch (error) {
      await trainingPool.close();
      throw new CliError(`--train-nats ${options.trainNats}: ${(error as Error).message}`);
    }
  }
  // One writer per run directory: a run into a directory being resumed (or run into) is refused before it clears anything.
  ensureDirectory(outDir, options.out === undefined ? `the output directory ${out}` : `--out ${out}`);
  const lock = lockRunDirectory(outDir, 'written by fedsim run');
  try {
    // Checked (and created) before anything runs: a bad --out or --record is a usage error, not a failure after the run.
    const outputs = prepareRunOutputs(outDir, resolve(options.record ?? join(outDir, 'run.jsonl')), {
      out: options.out === undefined ? `the output directory ${out}` : `--out ${out}`,
      record: options.record === undefined ? undefined : `--record ${options.record}`,
    });
    const maxSteps = options.maxSteps ?? scenario.maxSteps ?? CLI_MAX_STEPS;
    // Checkpoints of an earlier run into this directory describe a log that this run replaces.
    clearCheckpoints(join(outDir, CHECKPOINTS_DIR));
    let checkpoints: CheckpointRecorder | undefined;

    // User text, shown with its control characters escaped (terminal-text.ts).
    const name = terminalText(scenario.name);
    const file = terminalText(scenario.path ? displayPath(scenario.path) : scenarioPath);
    process.stdout.write(`${bold(`fedsim run ${name}`)} ${dim(`(${file}), seed ${terminalText(String(seed))}${faults ? `, faults ${faults.file ? terminalText(displayPath(resolve(faults.file))) : 'inline'}` : ''}`)}\n`);
    const progress = progressDisplay(name, process.stderr, options.quiet);
    const started = performance.now();
    // The log is streamed to its .partial name; it gets its own name only once the run is complete.
    const outcome = await runScenario(scenario, {
      seed,
      faults: faults?.plan,
      strategy: options.strategy,
      record: outputs.partial.log,
      strict: options.strict,
      params,
      progress,
      maxSteps,
      maxLogBytes: options.maxLogBytes,
      runSteps: runInterruptibly,
      workers: trainingPool ?? options.workers,
      onSimulation:
        options.checkpointEvery === undefined
          ? undefined
          : (sim) => {
              checkpoints = startCheckpoints(sim, options.checkpointEvery!, outDir, outputs.partial.log, outputs.log);
            },
      header: {
        // Project-relative: the header must not depend on the directory the run was started from.
        ...(faults ? { faults: faults.file ? projectPath(faults.file) : 'inline' } : {}),
        ...(options.strategy ? { strategy: formatStrategy(options.strategy) } : {}),
        ...(options.limit ? { limits: options.limit } : {}),
      },
    });
    const wallMs = performance.now() - started;
    await trainingPool?.close();
    progress.stop();
    checkpoints?.stop();
    return concludeRun({ scenario, outcome, outputs, outDir, outLabel: options.out === undefined ? `the output directory ${out}` : `--out ${out}`, faultsFile: faults?.file, scenarioPath, wallMs });
  } finally {
    lock.release();
  }
}

/** What `fedsim run` (and `fedsim resume`) write and print once the run has ended. */
export interface RunConclusion {
  scenario: Scenario<unknown>;
  outcome: ScenarioOutcome<unknown>;
  outputs: RunOutputs;
  outDir: string;
  /** The output directory as the user named it (for messages). */
  outLabel: string;
  /** The --faults file, if the plan came from one. */
  faultsFile?: string;
  /** The scenario argument (shown when the scenario has no path). */
  scenarioPath: string;
  wallMs: number;
  /**
   * A live run's merged recording (every process's events; run-live.ts): it is the run's
   * event log, so the stats, the report's lanes and results.json's log come from it rather
   * than from the driver's own part.
   */
  recording?: RecordedLog;
}

/** Writes results.json, report.html and the final model, renames the outputs into place, prints the summary; returns the exit code. */
export function concludeRun({ scenario, outcome, outputs, outDir, outLabel, faultsFile, scenarioPath, wallMs, recording }: RunConclusion): number {
  if (isInterrupted(outcome.error)) return reportInterrupted(outcome, outputs, outDir);
  const name = terminalText(scenario.name);
  const file = terminalText(scenario.path ? displayPath(scenario.path) : scenarioPath);

  // An FL experiment's final model leaves the result here and becomes final-model.json + .bin.
  const finalModel = takeFinalModel(outcome.result, outDir, outLabel);
  const log = recording ?? { header: outcome.sim.log.header, events: outcome.sim.log.events };
  const stats = runStats(log.events);
  const faultsSource = faultsFile !== undefined ? terminalText(displayPath(resolve(faultsFile))) : log.header.scenario?.faults === 'inline' ? '--faults (inline)' : undefined;
  const summary = summaryRows(outcome, log.header, stats, file, faultsSource);
  const error = outcome.error === undefined ? undefined : describeError(outcome.error);
  const skipped = skippedRoundsOf(outcome.result);
  const unmatched = unmatchedScriptedFaults(log.header.faults, log.events);
  const files: Array<[string, string]> = [
    ['event log', displayPath(outputs.log)],
    ['results', displayPath(outputs.results)],
    ['report', displayPath(outputs.report)],
    ...(finalModel.summary ? [['model', finalModel.summary.bin] as [string, string]] : []),
  ];
  finalModel.write();
  writeFileSync(outputs.partial.results, JSON.stringify({ ...resultsJson(outcome, log.header, recording?.events.length ?? outcome.sim.eventCount, stats, error, skipped, unmatched, faultsFile, outputs), finalModel: finalModel.summary }, null, 2) + '\n');
  writeFileSync(
    outputs.partial.report,
    renderHtmlReport({
      title: scenario.name,
      description: scenario.description,
      ok: outcome.ok,
      error,
      summary,
      checks: outcome.checks,
      skipped,
      metrics: normalizeMetrics((outcome.result as { metrics?: unknown } | undefined)?.metrics),
      events: recording
        ? recording.lines.slice(0, LANE_EVENTS).map((line) => JSON.parse(line) as LaneEvent)
        : outcome.sim.log.events.slice(0, LANE_EVENTS).map((e) => JSON.parse(eventLine(e)) as LaneEvent),
      totalEvents: log.events.length,
      faultPlan: log.header.faults,
      result: toJsonSafe(outcome.result),
      transcript: transcriptOf(outcome.result),
      files,
    }),
  );
  // All are complete: now, and only now, they replace the outputs of an earlier run (the model first: results.json names its sha256).
  finalModel.commit();
  outputs.commit();

  const stdout = process.stdout;
  const transcript = transcriptOf(outcome.result);
  if (transcript.length) stdout.write(`${bold('transcript')}\n${transcript.map((line) => `  ${terminalText(line)}`).join('\n')}\n`);
  stdout.write(renderTable([...summary, ['wall time', `${(wallMs / 1000).toFixed(2)} s`]]) + '\n');
  if (skipped.length) writeSkipped(stdout, skipped, (outcome.result as { rounds?: number } | undefined)?.rounds);
  const privacy = privacyLinesOf(outcome.result);
  if (privacy.length) stdout.write(`${bold('privacy')} ${dim('(ε so far, after each round)')}\n${privacy.map((line) => (line.startsWith('  ') ? terminalText(line) : bold(terminalText(line)))).join('\n')}\n`);
  if (outcome.checks.length) {
    stdout.write(bold('checks') + '\n');
    for (const c of outcome.checks) stdout.write(`  ${c.ok ? ok() : fail()} ${terminalText(c.name)}${c.ok ? '' : `: ${red(terminalText(c.message, { lines: true }))}`}\n`);
  }
  if (unmatched.length) {
    process.stderr.write(
      `${yellow('warning:', process.stderr)} ${unmatched.length} scripted fault${unmatched.length > 1 ? 's were' : ' was'} aimed at ${unmatched.length > 1 ? 'messages' : 'a message'} this run never sent, ` +
        `so ${unmatched.length > 1 ? 'they' : 'it'} did nothing: ${terminalText(unmatched.slice(0, 5).join(', '))}${unmatched.length > 5 ? `, … (${unmatched.length - 5} more)` : ''} ` +
        '(message ids are sender:n, as in the log\'s sent events; results.json lists them as unmatchedScriptedFaults)\n',
    );
  }
  // The reason goes to stderr (with the stack under --debug); the files below still say where to look.
  if (outcome.error !== undefined) printFailure('the run failed', outcome.error);
  for (const [label, path] of files) stdout.write(`${(label + ':').padEnd(11)}${terminalText(path)}\n`);
  stdout.write(`${dim(`replay it:  ${terminalText(replayCommand(scenario.path, outputs.log))}`)}\n`);
  const live = recording === undefined ? '' : ' (live)';
  stdout.write(outcome.ok ? `${ok()} ${name} passed${live}\n` : `${fail()} ${name} FAILED${live}\n`);
  return outcome.ok ? EXIT_OK : EXIT_FAILED;
}

/**
 * Checkpoints are taken at round ends, so only a round-based FL experiment (`kind: fedavg`,
 * sync or async) has them: any other scenario is refused before it starts rather than run
 * without the checkpoints the user asked for.
 */
function refuseUncheckpointable(scenario: Scenario<unknown>, scenarioPath: string, every: number): void {
  if (scenario.settings?.kind === 'fedavg') return;
  const kind = scenario.settings?.kind === undefined ? 'a scenario module' : `an experiment of kind '${String(scenario.settings.kind)}'`;
  throw new CliError(
    `--checkpoint-every ${every}: ${terminalText(displayPath(resolve(scenarioPath)))} is ${kind}, not a round-based FL experiment (kind: fedavg). ` +
      'Checkpoints are taken when a round (or an async server update) ends, so only those runs have them; run this one without --checkpoint-every.',
  );
}

/** Starts writing checkpoints into <out>/checkpoints, naming the log by its final path relative to <out>. */
export function startCheckpoints(sim: Sim, every: number, outDir: string, streamedLog: string, finalLog: string, after?: number): CheckpointRecorder {
  const dir = join(outDir, CHECKPOINTS_DIR);
  mkdirSync(dir, { recursive: true });
  return recordCheckpoints(sim, { every, dir, logPath: streamedLog, logFile: relative(outDir, finalLog), after });
}

/**
 * The command that replays the log: with --project (an absolute path) whenever the log is
 * not inside the scenario's project, so it works from any directory, not only the one the
 * run was started from (the log's path is as shown above: relative when under it).
 */
function replayCommand(scenarioPath: string | undefined, log: string): string {
  const project = scenarioPath === undefined ? undefined : replayProjectFor(scenarioPath, log);
  return `${fedsimCommand()} replay ${shellQuote(displayPath(log))}${project === undefined ? '' : ` --project ${shellQuote(project)}`}`;
}

/** Ctrl-C stopped the run: the log so far stays under its .partial name, the outputs of an earlier run stay as they were. */
function reportInterrupted(outcome: ScenarioOutcome<unknown>, outputs: RunOutputs, outDir: string): number {
  const sim = outcome.sim;
  process.stderr.write(
    `${yellow('interrupted:', process.stderr)} the run was stopped (Ctrl-C) at virtual time ${Number(sim.now().toFixed(3))} ms before it finished; ` +
      `its event log so far is ${terminalText(displayPath(outputs.partial.log))} (earlier outputs, if any, were left as they were)\n`,
  );
  // With checkpoints (--checkpoint-every) the run need not start over.
  const resume = resumeCommandFor(outDir);
  if (resume !== undefined) process.stderr.write(`continue it from its last checkpoint with: ${terminalText(resume)}\n`);
  return EXIT_INTERRUPTED;
}

/** `skipped rounds: 2 of 20 (the global model was left unchanged)`, then one line per distinct reason. */
function writeSkipped(out: NodeJS.WriteStream, skipped: SkippedRound[], rounds: number | undefined): void {
  out.write(`${bold('skipped rounds')}: ${skipped.length}${rounds ? ` of ${rounds}` : ''} (the global model was left unchanged)\n`);
  for (const group of skippedByReason(skipped)) {
    out.write(`  ${yellow(`round${group.count > 1 ? 's' : ''} ${group.rounds}`)}: ${terminalText(group.reason)}\n`);
  }
}

/** What a tutorial-style scenario printed (`result.printed`, as the pointer scenarios return it). */
function transcriptOf(result: unknown): string[] {
  const printed = (result as { printed?: unknown } | undefined)?.printed;
  return Array.isArray(printed) && printed.every((line) => typeof line === 'string') ? printed : [];
}

function summaryRows(outcome: ScenarioOutcome<unknown>, header: LogHeader, stats: RunStats, file: string, faultsSource: string | undefined): Array<[string, string]> {
  const plan = header.faults;
  const f = stats.faults;
  const dropped = Object.entries(stats.dropped).map(([reason, n]) => `${n} ${reason}`).join(', ') || '0';
  const rows: Array<[string, string]> = [
    ['scenario', `${terminalText(outcome.scenario.name)} (${file})`],
    ['seed', String(outcome.seed)],
    ['strategy', formatStrategy(header.strategy)],
    ['fault plan', faultsSource ? `${faultsSource}: ${describeFaultPlan(plan)}` : outcome.faults ? `the scenario's own: ${describeFaultPlan(plan)}` : 'none'],
    ['events', String(stats.events)],
    ['virtual time', `${Number(stats.virtualTime.toFixed(3))} ms`],
    ['actors', String(stats.actors)],
    ['messages', `${stats.sent} sent, ${stats.delivered} delivered, dropped: ${dropped}`],
    ['faults injected', `${totalFaults(stats)} (${f.delayed} delayed, ${f.reordered} reordered, ${f.duplicated} duplicated, ${f.dropped} dropped, ${f.crashed} crashes, ${f.partitions} partitions)`],
    ['handler errors', String(stats.handlerErrors)],
  ];
  for (const [key, value] of Object.entries((outcome.result ?? {}) as Record<string, unknown>)) {
    if (key === 'metrics') continue;
    if (typeof value === 'number') rows.push([terminalText(key), String(Number(value.toPrecision(6)))]);
    else if (typeof value === 'string' || typeof value === 'boolean') rows.push([terminalText(key), terminalText(String(value))]);
  }
  return rows;
}

function resultsJson(
  outcome: ScenarioOutcome<unknown>,
  header: LogHeader,
  /** Events in the run's log (a live run's: its merged recording's). */
  eventCount: number,
  stats: RunStats,
  error: string | undefined,
  skipped: SkippedRound[],
  unmatchedScriptedFaults: string[],
  faultsFile: string | undefined,
  outputs: RunOutputs,
) {
  return {
    fedsim: FEDSIM_VERSION,
    scenario: { name: outcome.scenario.name, path: outcome.scenario.path ? displayPath(outcome.scenario.path) : undefined, description: outcome.scenario.description },
    seed: outcome.seed,
    strategy: header.strategy,
    faults: header.faults,
    faultsFile: faultsFile ? displayPath(resolve(faultsFile)) : undefined,
    backend: header.backend,
    /** --set/--param as given (the log header records them too). */
    params: header.scenario?.params,
    /** An experiment file's fields as the run used them (after --set): what `fedsim compare` sets side by side. */
    settings: toJsonSafe(outcome.scenario.settings),
    ok: outcome.ok,
    error,
    skippedRounds: skipped,
    /** Scripted faults aimed at message ids the run never sent: they did nothing. */
    unmatchedScriptedFaults,
    checks: outcome.checks,
    stats,
    /** The most steps one await or settle took, against the budget (--max-steps). */
    steps: { longestStretch: outcome.sim.longestStretch, maxSteps: outcome.sim.maxSteps },
    // The hash is taken from the .partial file, renamed unchanged into outputs.log.
    log: { path: displayPath(outputs.log), events: eventCount, sha256: sha256OfFile(outputs.partial.log) },
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

/** The NATS training pool `--train-nats` asks for (checked before anything runs), or undefined for threads / in-process. */
function trainingPoolOf(options: RunCommandOptions): TrainingPool | undefined {
  if (options.trainNats === undefined) {
    if (options.trainSubject !== undefined) throw new CliError('--train-subject: only means something with --train-nats URL (training in worker processes); add --train-nats, or drop --train-subject', EXIT_USAGE);
    return undefined;
  }
  if (options.workers !== undefined && options.workers !== 1) throw new CliError(`--workers ${options.workers} and --train-nats: choose one place to train clients — threads in this process (--workers) or worker processes over NATS (--train-nats)`, EXIT_USAGE);
  try {
    const connection = natsSettings({ ...options, nats: options.trainNats }, 'fedsim training bridge');
    return natsTrainingPool({ connection, ...(options.trainSubject !== undefined ? { subject: options.trainSubject } : {}) });
  } catch (error) {
    throw new CliError(`--train-nats/--train-subject: ${(error as Error).message}`, EXIT_USAGE);
  }
}
