/**
 * `fedsim worker --nats URL --actors alice,bob`: hosts actors for live runs in this
 * process. A driver (`fedsim run FILE --transport nats`) places its workers here; their
 * envelopes arrive over NATS and are checked and delivered exactly as in simulation.
 * Runs until stopped (Ctrl-C, SIGTERM); one process serves run after run.
 */
import { hostname } from 'node:os';
import { FedsimError } from '../../runtime/index.js';
import { wireCodec } from '../../messages/index.js';
import { buildPlacedActor } from '../../pointers/placed-workers.js';
import { connectToNats, NatsConnectionError } from '../../runtime/transport/nats/connection.js';
import { NatsActorHost } from '../../runtime/transport/nats/actor-host.js';
import { checkRunName } from '../../runtime/transport/nats/subjects.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { type NatsFlags, natsSettings } from '../nats-options.js';
import { startBackend } from '../run-options.js';
import { dim } from '../style.js';

export interface WorkerCommandOptions extends NatsFlags {
  actors?: string;
  name?: string;
  backend?: string;
  quiet?: boolean;
}

export function parseActorList(text: string | undefined): string[] {
  if (text === undefined) throw new CliError('--actors is required: the actor ids this worker hosts, e.g. --actors alice,bob.');
  const actors = text.split(',').map((id) => id.trim());
  const bad = actors.find((id) => !/^[^\s→]+$/.test(id));
  if (bad !== undefined) throw new CliError(`--actors ${text}: actor ids are non-empty and have no spaces (found ${JSON.stringify(bad)}); write --actors alice,bob.`);
  const seen = new Set<string>();
  for (const id of actors) {
    if (seen.has(id)) throw new CliError(`--actors ${text}: '${id}' is named twice.`);
    seen.add(id);
  }
  return actors;
}

export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const actors = parseActorList(options.actors);
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
  const host = new NatsActorHost({ connection, run, actors, name, codec: wireCodec, build: buildPlacedActor, report });
  host.start();
  await connection.flush();
  // The line a parent process waits for before it starts the driver.
  process.stdout.write(`fedsim worker ${name} hosts ${actors.join(', ')} on run '${run}' at ${settings.servers}\n`);
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
