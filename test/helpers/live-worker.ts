/**
 * Live runs for tests: a `fedsim worker` child process hosting actors, and a driver run in
 * the test process over the same NATS server (test/helpers/nats-server.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { wireCodec } from '../../src/messages/index.js';
import { parseFaultPlan, parseLog, type FaultPlanInput, type RecordedLog } from '../../src/runtime/index.js';
import { LiveSession } from '../../src/runtime/transport/nats/live-session.js';
import { runScenario, type RunScenarioOptions, type Scenario, type ScenarioOutcome } from '../../src/scenario/index.js';
import { ROOT } from './fedsim-cli.js';
import { type NatsServerOptions, type RunningNatsServer, startNatsServer } from './nats-server.js';

export interface LiveWorker {
  readonly stderr: () => string;
  /** Stops the process (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a machine failing would. */
  kill(): Promise<void>;
}

/** Starts `fedsim worker --nats URL --actors … --run RUN` (no --actors when `actors` is empty) and waits until it is listening. */
export async function startWorker(url: string, actors: string[], run: string, extra: string[] = []): Promise<LiveWorker> {
  const actorFlags = actors.length > 0 ? ['--actors', actors.join(',')] : [];
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'fedsim.js'), 'worker', '--nats', url, ...actorFlags, '--run', run, ...extra], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test file that ends without its after.always hook (a timeout) must not leave the worker behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(' hosts ')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`fedsim worker exited (code ${code}) before listening:\n${stderr}`)));
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { stderr: () => stderr, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') };
}

export interface LiveWorld {
  readonly server: RunningNatsServer;
  readonly worker: LiveWorker;
}

/**
 * One nats-server and one `fedsim worker` hosting `actors` for a whole test file: started in
 * `test.before`, stopped in `test.after.always`. Read `world.server` / `world.worker` inside tests.
 */
export function liveWorld(
  test: { before(fn: () => Promise<void>): void; after: { always(fn: () => Promise<void>): void } },
  options: { actors: string[]; run: string; server?: NatsServerOptions; workerFlags?: string[]; before?: () => Promise<unknown> },
): LiveWorld {
  let server: RunningNatsServer | undefined;
  let worker: LiveWorker | undefined;
  test.before(async () => {
    await options.before?.();
    server = await startNatsServer(options.server);
    worker = await startWorker(server.url, options.actors, options.run, options.workerFlags);
  });
  test.after.always(async () => {
    await worker?.stop();
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('liveWorld: the nats-server is not started yet (read world.server inside a test).');
      return server;
    },
    get worker() {
      if (!worker) throw new Error('liveWorld: the worker is not started yet (read world.worker inside a test).');
      return worker;
    },
  };
}

export interface LiveOutcome<R> {
  outcome: ScenarioOutcome<R>;
  /** The merged recording (undefined when the run failed before it could be collected). */
  text?: string;
  log?: RecordedLog;
  session: LiveSession;
}

/** Runs a scenario live with its workers on NATS; returns the outcome and the merged recording. */
export async function runLive<R>(
  scenario: Scenario<R>,
  options: {
    url: string;
    run: string;
    seed?: number;
    faults?: FaultPlanInput;
    strict?: boolean;
    user?: string;
    password?: string;
    beforeRecord?: (session: LiveSession) => Promise<void>;
    /** FL experiments: place the clients on workers (`--clients-on-workers`). */
    placeClient?: RunScenarioOptions['placeClient'];
    onSimulation?: RunScenarioOptions['onSimulation'];
  },
): Promise<LiveOutcome<R>> {
  const seed = options.seed ?? 1;
  const plan = parseFaultPlan(options.faults);
  const session = await LiveSession.open({
    nats: { servers: options.url, ...(options.user ? { user: options.user, password: options.password } : {}) },
    run: options.run,
    codec: wireCodec,
    seed,
    faults: plan,
  });
  try {
    const outcome = await runScenario(scenario, { seed, faults: plan, strict: options.strict, transport: session.transport, placeClient: options.placeClient, onSimulation: options.onSimulation });
    if (outcome.error !== undefined) return { outcome, session };
    await options.beforeRecord?.(session);
    const text = await session.record(outcome.sim);
    return { outcome, text, log: parseLog(text, 'live recording'), session };
  } finally {
    await session.close();
  }
}

/** Replays a live recording in the simulator (what `fedsim replay` does with one). */
export function replayInSimulator<R>(scenario: Scenario<R>, log: RecordedLog, strict = false): Promise<ScenarioOutcome<R>> {
  return runScenario(scenario, { seed: log.header.seed as number, strict, follow: log, keepLog: false });
}
