/**
 * `fedsim run FILE --transport nats --nats URL`: the scenario runs live. Scenario code
 * runs here as `me`; every worker it creates (`sim.worker('bob')`) is placed on the
 * `fedsim worker` process that hosts that id, and their messages cross NATS. Time is
 * real. At the end every process's recording is collected and merged into one event log
 * (run.jsonl, header `transport: nats`), which `fedsim replay` reproduces in the
 * simulator, reporting the first divergence if the code changed.
 */
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseFaultPlan, parseLog, type RecordedLog } from '../../runtime/index.js';
import { wireCodec } from '../../messages/index.js';
import { NatsConnectionError } from '../../runtime/transport/nats/connection.js';
import { LiveSession } from '../../runtime/transport/nats/live-session.js';
import { LiveTransportError } from '../../runtime/transport/nats/nats-transport.js';
import { clientPlacements } from '../../fl/experiments/placed-clients.js';
import { FlConfigError } from '../../fl/errors.js';
import { describeError, displayPath, projectPath, runScenario } from '../../scenario/index.js';
import { CliError, EXIT_FAILED } from '../cli-error.js';
import { printFailure } from '../failure-output.js';
import { type NatsFlags, natsSettings } from '../nats-options.js';
import { loadFaultsArgument, loadScenarioArgument, mergeSetAndParam, slug, startBackend } from '../run-options.js';
import { bold, dim, fail, ok } from '../style.js';
import { terminalText } from '../terminal-text.js';
import { concludeRun, type RunCommandOptions } from './run.js';
import { prepareRunOutputs } from '../run-outputs.js';

export interface LiveRunOptions extends RunCommandOptions, NatsFlags {
  transport?: string;
  /** FL experiments: the clients run in `fedsim worker --experiment FILE` processes (src/fl/experiments/placed-clients.ts). */
  clientsOnWorkers?: boolean;
}

/** The live transports `--transport` accepts (besides the default in-process simulation). */
export const LIVE_TRANSPORTS = ['nats'] as const;

export async function runLiveCommand(scenarioPath: string, options: LiveRunOptions): Promise<number> {
  if (!(LIVE_TRANSPORTS as readonly string[]).includes(options.transport!)) {
    throw new CliError(`--transport ${options.transport}: unknown transport; use one of ${['sim', ...LIVE_TRANSPORTS].join(', ')} (sim, the default, is the in-process simulation).`);
  }
  for (const [flag, given] of [['--strategy', options.strategy], ['--workers', options.workers], ['--max-log-bytes', options.maxLogBytes]] as const) {
    if (given !== undefined) throw new CliError(`${flag} does not apply to a live run (--transport nats): the network decides the order and time is real.`);
  }
  const settings = natsSettings(options, 'fedsim-run');
  const { params, flags } = mergeSetAndParam(options.set, options.param);
  const scenario = await loadScenarioArgument(scenarioPath, options.limit, params, undefined, flags);
  const faults = loadFaultsArgument(options.faults, options.limit?.fileBytes);
  const plan = parseFaultPlan(faults?.plan ?? scenario.faults);
  if (plan.crashes.length > 0) throw new CliError('a live run cannot inject crashes from a fault plan (stop a `fedsim worker` process instead); drop, delay, duplicate, reorder and partitions work live.');
  const seed = options.seed ?? scenario.seed ?? 0;
  const out = options.out ?? join('runs', `${slug(scenario.name)}-live-seed${slug(String(seed))}`);
  const outDir = resolve(out);
  const outLabel = options.out === undefined ? `the output directory ${out}` : `--out ${out}`;
  await startBackend(options.backend);
  // After the backend is started: the placement names it (a worker on another backend would train differently).
  const placeClient = options.clientsOnWorkers ? clientPlacementsOf(scenario, scenarioPath) : undefined;
  // As `fedsim run`: checked before anything runs; the merged recording is written to the log's .partial name.
  const outputs = prepareRunOutputs(outDir, resolve(options.record ?? join(outDir, 'run.jsonl')), {
    out: outLabel,
    record: options.record === undefined ? undefined : `--record ${options.record}`,
  });

  const name = terminalText(scenario.name);
  process.stdout.write(`${bold(`fedsim run ${name}`)} ${dim(`live over NATS (${terminalText(String(settings.servers))}, run '${options.run ?? 'default'}'), seed ${terminalText(String(seed))}`)}\n`);
  let session: LiveSession;
  try {
    session = await LiveSession.open({ nats: settings, run: options.run, codec: wireCodec, seed, faults: plan });
  } catch (error) {
    if (error instanceof NatsConnectionError) throw new CliError(error.message, EXIT_FAILED);
    if (error instanceof Error && /--run/.test(error.message)) throw new CliError(error.message);
    throw error;
  }
  const started = performance.now();
  let outcome;
  let recording: RecordedLog | undefined;
  try {
    outcome = await runScenario(scenario, {
      seed,
      faults: plan,
      strict: options.strict,
      params,
      transport: session.transport,
      ...(placeClient ? { placeClient } : {}),
      header: { ...(faults ? { faults: faults.file ? projectPath(faults.file) : 'inline' } : {}), ...(options.limit ? { limits: options.limit } : {}) },
    });
    if (outcome.error === undefined || !isTransportFailure(outcome.error)) recording = parseLog(await session.record(outcome.sim, outputs.partial.log), displayPath(outputs.log));
  } finally {
    await session.close();
  }
  const wallMs = performance.now() - started;
  if (recording === undefined) {
    // The transport failed (a worker process gone): the other processes' parts cannot be collected, so there is no log to write results for.
    for (const c of outcome.checks) process.stdout.write(`  ${c.ok ? ok() : fail()} ${terminalText(c.name)}${c.ok ? '' : `: ${terminalText(c.message)}`}\n`);
    printFailure('the live run failed', outcome.error);
    process.stdout.write(`${fail()} ${name} FAILED (${terminalText(describeError(outcome.error).split('\n')[0])})\n`);
    return EXIT_FAILED;
  }
  // The same results.json, report.html (and final model) as `fedsim run`, from the merged recording; it prints the replay command.
  return concludeRun({ scenario, outcome, outputs, outDir, outLabel, faultsFile: faults?.file, scenarioPath, wallMs, recording });
}

/** --clients-on-workers: how each client of the experiment is placed; a scenario that is not an FL experiment is a usage error. */
function clientPlacementsOf(scenario: Parameters<typeof clientPlacements>[0], scenarioPath: string) {
  try {
    return clientPlacements(scenario, scenarioPath);
  } catch (error) {
    if (error instanceof FlConfigError) throw new CliError(error.message);
    throw error;
  }
}

/** A run that failed because the transport did (no worker for an actor, a worker gone) has no recording to collect. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof LiveTransportError;
}
