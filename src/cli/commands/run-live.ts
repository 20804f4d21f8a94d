/**
 * `fedsim run FILE --transport nats --nats URL`: the scenario runs live. Scenario code
 * runs here as `me`; every worker it creates (`sim.worker('bob')`) is placed on the
 * `fedsim worker` process that hosts that id, and their messages cross NATS. Time is
 * real. At the end every process's recording is collected and merged into one event log
 * (run.jsonl, header `transport: nats`), which `fedsim replay` reproduces in the
 * simulator, reporting the first divergence if the code changed.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseFaultPlan } from '../../runtime/index.js';
import { wireCodec } from '../../messages/index.js';
import { NatsConnectionError } from '../../runtime/transport/nats/connection.js';
import { LiveSession } from '../../runtime/transport/nats/live-session.js';
import { LiveTransportError } from '../../runtime/transport/nats/nats-transport.js';
import { describeError, displayPath, projectPath, runScenario } from '../../scenario/index.js';
import { CliError, EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { fedsimCommand } from '../invocation.js';
import { printFailure } from '../failure-output.js';
import { type NatsFlags, natsSettings } from '../nats-options.js';
import { loadFaultsArgument, loadScenarioArgument, mergeSetAndParam, slug, startBackend } from '../run-options.js';
import { bold, dim, fail, ok } from '../style.js';
import { terminalText } from '../terminal-text.js';
import type { RunCommandOptions } from './run.js';

export interface LiveRunOptions extends RunCommandOptions, NatsFlags {
  transport?: string;
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
  const out = resolve(options.out ?? join('runs', `${slug(scenario.name)}-live-seed${slug(String(seed))}`));
  mkdirSync(out, { recursive: true });
  const logPath = resolve(options.record ?? join(out, 'run.jsonl'));
  await startBackend(options.backend);

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
  try {
    outcome = await runScenario(scenario, {
      seed,
      faults: plan,
      strict: options.strict,
      params,
      transport: session.transport,
      header: { ...(faults ? { faults: faults.file ? projectPath(faults.file) : 'inline' } : {}), ...(options.limit ? { limits: options.limit } : {}) },
    });
    if (outcome.error === undefined || !isTransportFailure(outcome.error)) await session.record(outcome.sim, logPath);
  } finally {
    await session.close();
  }
  const wallMs = performance.now() - started;
  const result = outcome.result as { printed?: unknown } | undefined;
  if (Array.isArray(result?.printed)) process.stdout.write(`${bold('transcript')}\n${result.printed.map((line) => `  ${terminalText(String(line))}`).join('\n')}\n`);
  for (const c of outcome.checks) process.stdout.write(`  ${c.ok ? ok() : fail()} ${terminalText(c.name)}${c.ok ? '' : `: ${terminalText(c.message)}`}\n`);
  process.stdout.write(`wall time  ${(wallMs / 1000).toFixed(2)} s\n`);
  if (outcome.error !== undefined) {
    printFailure('the live run failed', outcome.error);
    process.stdout.write(`${fail()} ${name} FAILED (${terminalText(describeError(outcome.error).split('\n')[0])})\n`);
    return EXIT_FAILED;
  }
  process.stdout.write(`event log: ${terminalText(displayPath(logPath))}\n`);
  process.stdout.write(`${dim(`replay it in the simulator:  ${fedsimCommand()} replay ${terminalText(displayPath(logPath))}`)}\n`);
  process.stdout.write(outcome.ok ? `${ok()} ${name} passed (live)\n` : `${fail()} ${name} FAILED (live)\n`);
  return outcome.ok ? EXIT_OK : EXIT_FAILED;
}

/** A run that failed because the transport did (no worker for an actor, a worker gone) has no recording to collect. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof LiveTransportError;
}
