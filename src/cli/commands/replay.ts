/**
 * `fedsim replay run.jsonl`: re-executes a recorded run from its header (scenario
 * file, seed, strategy, faults) and checks it event by event against the log.
 * With `--until SEQ` it stops once event SEQ has happened and shows every actor's
 * state; `--inspect ACTOR` shows only that actor (at SEQ, or at the end).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DivergenceError, LogFormatError, type RecordedLog, readLog } from '../../runtime/index.js';
import { describeError, displayPath, runScenario } from '../../scenario/index.js';
import { describeActors } from '../actor-state.js';
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { progressDisplay } from '../progress-display.js';
import { loadScenarioArgument, startBackend } from '../run-options.js';
import { bold, dim, fail, ok, red } from '../style.js';

export interface ReplayOptions {
  until?: number;
  inspect?: string;
  quiet?: boolean;
}

export function readLogArgument(file: string): RecordedLog {
  try {
    return readLog(file);
  } catch (error) {
    if (error instanceof LogFormatError) throw new CliError(error.message);
    throw error;
  }
}

/** The scenario file named in a log header: relative to the working directory, else to the log's directory. */
function scenarioFileOf(log: RecordedLog, logFile: string): string {
  const info = log.header.scenario;
  if (!info || typeof info.path !== 'string') {
    throw new CliError(
      `${logFile}: the log header does not name a scenario file, so the run cannot be re-executed. ` +
        'Logs written by `fedsim run` (or runScenario on a scenario with a path) record it; for other logs use the runtime\'s verifyRun().',
    );
  }
  const candidates = [resolve(info.path), resolve(dirname(logFile), info.path)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new CliError(`${logFile}: the scenario file of this run, ${info.path}, is not found (looked in ${candidates.map((c) => displayPath(c)).join(' and ')}).`);
  return found;
}

export async function replayCommand(logFile: string, options: ReplayOptions): Promise<number> {
  const log = readLogArgument(logFile);
  const scenario = await loadScenarioArgument(scenarioFileOf(log, logFile));
  const { header } = log;
  const info = header.scenario ?? {};
  const last = log.lines.length - 1;
  if (options.until !== undefined && (options.until < 0 || options.until > last)) {
    throw new CliError(`--until ${options.until}: the log has events 0..${last}.`);
  }
  // The run is re-executed on the backend it was recorded on (a run reproduces bit for bit per backend).
  await startBackend(header.backend === 'none' ? undefined : header.backend);
  const until = options.until;
  const out = process.stdout;
  out.write(`${bold(`fedsim replay ${displayPath(resolve(logFile))}`)} ${dim(`(${scenario.name}, seed ${header.seed}, ${log.lines.length} events)`)}\n`);

  const progress = progressDisplay('replay', process.stderr, options.quiet);
  const outcome = await runScenario(scenario, {
    seed: header.seed,
    strategy: header.strategy,
    faults: header.faults,
    strict: info.strict === true,
    params: (info.params as Record<string, unknown> | undefined) ?? undefined,
    verify: log,
    header: info,
    progress,
    stopWhen: until === undefined ? undefined : (sim) => sim.log.length > until,
  });
  progress.stop();
  const sim = outcome.sim;

  if (outcome.error instanceof DivergenceError) {
    const d = outcome.error.divergence;
    out.write(`${fail()} ${red(`replay DIVERGED at seq ${d.seq}`)} — the re-executed run differs from ${displayPath(resolve(logFile))}\n`);
    d.context.forEach((line, i) => out.write(dim(`  seq ${d.seq - d.context.length + i}  ${line}`) + '\n'));
    out.write(`  expected (log): ${d.expected ?? '(the log ends here)'}\n`);
    out.write(`  actual (run):   ${d.actual ?? '(the run ended here)'}\n`);
    out.write(
      'Either the log was edited, or the code, the scenario, the tfjs backend or something outside the simulation ' +
        '(Math.random, Date.now, real timers, unordered iteration) changed since it was recorded.\n',
    );
    return EXIT_FAILED;
  }
  const driver = sim.driver.id;
  if (options.inspect !== undefined && options.inspect !== driver && !sim.actorIds().includes(options.inspect)) {
    throw new CliError(`--inspect ${options.inspect}: no such actor in this run. Actors: ${[driver, ...sim.actorIds()].join(', ')}.`);
  }

  if (outcome.stopped) {
    const lastSeq = sim.log.length - 1;
    out.write(`${ok()} the replay matches the log up to seq ${lastSeq} (${sim.log.length} events checked)\n`);
    out.write(`stopped after the step that produced seq ${until}${lastSeq > until! ? ` (that step ended at seq ${lastSeq})` : ''}, virtual time ${Number(sim.now().toFixed(3))} ms\n`);
    out.write(dim(`  seq ${until}  ${log.lines[until!]}`) + '\n\n');
    out.write(describeActors(sim, options.inspect));
    return EXIT_OK;
  }
  if (outcome.error !== undefined && outcome.closed === undefined) {
    out.write(`${fail()} the replay stopped with ${describeError(outcome.error)} after ${sim.log.length} matching events\n`);
    return EXIT_FAILED;
  }
  const events = outcome.closed?.events ?? sim.log.length;
  if (until !== undefined) out.write(`the run ended before seq ${until}\n`);
  out.write(`${ok()} replay OK: ${events} events match ${displayPath(resolve(logFile))}\n`);
  if (outcome.error !== undefined) out.write(dim(`  as recorded, the run ended with ${describeError(outcome.error)}`) + '\n');
  if (options.inspect !== undefined) out.write('\n' + describeActors(sim, options.inspect));
  return EXIT_OK;
}
