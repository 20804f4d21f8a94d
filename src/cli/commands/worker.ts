/**
 * `fedsim worker --nats URL --actors alice,bob`: hosts actors for live runs in this
 * process. A driver (`fedsim run FILE --transport nats`) places its workers here; their
 * envelopes arrive over NATS and are checked and delivered exactly as in simulation.
 *
 * `fedsim worker --nats URL --experiment exp.yaml [--clients 'client-0*']`: hosts FL clients
 * of that experiment for `fedsim run exp.yaml --transport nats --clients-on-workers`, each
 * rebuilt here from this process's copy of the file (src/fl/experiments/placed-clients.ts).
 * Several workers share an experiment's clients by giving each its own --clients.
 *
 * Runs until stopped (Ctrl-C, SIGTERM); one process serves run after run.
 */
import { hostname } from 'node:os';
import { FedsimError } from '../../runtime/index.js';
import { wireCodec } from '../../messages/index.js';
import { buildPlacedActor } from '../../pointers/placed-workers.js';
import { FL_CLIENT_KIND, type HostedClients, hostedClients } from '../../fl/experiments/placed-clients.js';
import { FlConfigError } from '../../fl/errors.js';
import type { PlacementContext } from '../../runtime/transport/nats/actor-host.js';
import { loadScenarioArgument, mergeSetAndParam } from '../run-options.js';
import { connectToNats, NatsConnectionError } from '../../runtime/transport/nats/connection.js';
import { NatsActorHost } from '../../runtime/transport/nats/actor-host.js';
import { checkRunName } from '../../runtime/transport/nats/subjects.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { type NatsFlags, natsSettings } from '../nats-options.js';
import { startBackend } from '../run-options.js';
import { terminalText } from '../terminal-text.js';
import { dim } from '../style.js';

export interface WorkerCommandOptions extends NatsFlags {
  actors?: string;
  /** An FL experiment file whose clients this worker hosts (with --clients: some of them). */
  experiment?: string;
  clients?: string;
  set?: Record<string, unknown>;
  limit?: Record<string, number>;
  name?: string;
  backend?: string;
  quiet?: boolean;
}

export function parseActorList(text: string | undefined, flag = '--actors'): string[] {
  if (text === undefined) throw new CliError('--actors is required: the actor ids this worker hosts, e.g. --actors alice,bob (or --experiment FILE to host the clients of an FL experiment).');
  const actors = text.split(',').map((id) => id.trim());
  const bad = actors.find((id) => !/^[^\s→]+$/.test(id));
  if (bad !== undefined) throw new CliError(`${flag} ${text}: ids are non-empty and have no spaces (found ${JSON.stringify(bad)}); write ${flag} alice,bob.`);
  const seen = new Set<string>();
  for (const id of actors) {
    if (seen.has(id)) throw new CliError(`${flag} ${text}: '${id}' is named twice.`);
    seen.add(id);
  }
  return actors;
}

/** The FL clients this worker hosts (--experiment, --clients, --set), or undefined without --experiment. */
async function clientsToHost(options: WorkerCommandOptions): Promise<HostedClients | undefined> {
  if (options.experiment === undefined) {
    for (const [flag, given] of [['--clients', options.clients], ['--set', options.set]] as const) {
      if (given !== undefined) throw new CliError(`${flag} applies to a worker hosting FL clients: add --experiment FILE (the experiment the driver runs).`);
    }
    return undefined;
  }
  const { params, flags } = mergeSetAndParam(options.set, undefined);
  const scenario = await loadScenarioArgument(options.experiment, options.limit, params, undefined, flags);
  const select = options.clients === undefined ? undefined : parseActorList(options.clients, '--clients');
  try {
    return hostedClients(scenario, options.experiment, select);
  } catch (error) {
    if (error instanceof FlConfigError) throw new CliError(error.message);
    throw error;
  }
}

export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const clients = await clientsToHost(options);
  const named = options.actors !== undefined || clients === undefined ? parseActorList(options.actors) : [];
  const actors = [...named, ...(clients?.ids ?? [])];
  let run: string;
  try {
    run = checkRunName(options.run ?? 'default');
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const name = options.name ?? `worker-${process.pid}@${hostname()}`;
  const settings = natsSettings(options, `fedsim-worker ${actors.join(',')}`);
  await startBackend(options.backend);
  let connection;
  try {
    connection = await connectToNats(settings);
  } catch (error) {
    if (error instanceof NatsConnectionError) throw new CliError(error.message, 1);
    throw error;
  }
  const report = (line: string) => {
    if (!options.quiet) process.stderr.write(`${dim(`[${name}]`)} ${line}\n`);
  };
  const build = (kind: string, input: unknown, context: PlacementContext) => {
    if (kind !== FL_CLIENT_KIND) return buildPlacedActor(kind, input, context.roster);
    if (!clients) throw new FedsimError(`this worker hosts no FL clients; start it with --experiment FILE (the experiment the driver runs)`);
    return clients.build(input, context.core);
  };
  const host = new NatsActorHost({ connection, run, actors, name, codec: wireCodec, build, report });
  host.start();
  await connection.flush();
  // The line a parent process waits for before it starts the driver.
  const hosted = [...named, ...(clients ? [`FL clients ${clients.ids.join(', ')} of ${terminalText(options.experiment!)}`] : [])];
  process.stdout.write(`fedsim worker ${name} hosts ${hosted.join(', ')} on run '${run}' at ${settings.servers}\n`);
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const closed = connection.closed().then((error) => {
    if (error) throw new FedsimError(`the NATS connection closed: ${(error as Error).message}`);
  });
  await Promise.race([stopped, closed]);
  await host.stop();
  if (!connection.isClosed()) await connection.drain();
  return EXIT_OK;
}
