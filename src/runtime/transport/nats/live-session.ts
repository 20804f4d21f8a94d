/**
 * The driver's side of a live run on NATS: its connection, its transport, and at the end
 * the run's recording — every process's events merged into one fedsim event log whose
 * header says `transport: nats` and names the processes and the actors each hosted.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ActorId } from '../../envelope.js';
import type { FaultPlan } from '../../faults/fault-plan.js';
import type { Seed } from '../../rng.js';
import type { SimulationCore } from '../../simulation.js';
import { mergeRecordings } from '../recording/merge-recordings.js';
import type { WireCodec } from '../wire-codec.js';
import { connectToNats, type NatsConnectionSettings } from './connection.js';
import { NatsTransport } from './nats-transport.js';
import { checkRunName } from './subjects.js';

export interface LiveSessionOptions {
  nats: NatsConnectionSettings;
  /** The run name workers were started with (`--run`, default 'default'). */
  run?: string;
  codec: WireCodec;
  seed: Seed;
  faults: FaultPlan;
  driverId?: ActorId;
}

/** The name the driver's events carry in a merged recording. */
export const DRIVER_HOST = 'driver';

export class LiveSession {
  private constructor(
    readonly connection: NatsConnection,
    readonly transport: NatsTransport,
  ) {}

  static async open(options: LiveSessionOptions): Promise<LiveSession> {
    const run = checkRunName(options.run ?? 'default');
    const connection = await connectToNats({ name: `fedsim-run ${run}`, ...options.nats });
    const driverId = options.driverId ?? 'me';
    const servers = Array.isArray(options.nats.servers) ? options.nats.servers.join(',') : options.nats.servers;
    const transport = new NatsTransport({
      connection,
      run,
      session: randomUUID(),
      origin: performance.timeOrigin + performance.now(),
      codec: options.codec,
      local: [driverId],
      seed: options.seed,
      faults: options.faults,
      servers,
    });
    transport.listen();
    // The server going away mid-run (stopped, its machine down, the network cut) fails the run with that said,
    // instead of an error thrown from deep inside the client; a close asked for by close() is not a failure.
    void connection.closed().then((error) => {
      if (!session.closing) transport.connectionLost(servers, error ?? undefined);
    });
    // The subscription must be known to the server before any worker can answer the driver.
    await connection.flush();
    const session = new LiveSession(connection, transport);
    return session;
  }

  /** close() was called: the connection's end is expected. */
  private closing = false;

  /**
   * Ends the run on every host and writes the merged recording to `path` (when given);
   * returns its text. `core` is the driver's simulation core (its events are the driver's part).
   */
  async record(core: SimulationCore, path?: string): Promise<string> {
    const hosts = await this.transport.collectRecordings();
    const header = { ...core.log.header, transport: this.transport.name, hosts: [{ host: DRIVER_HOST, actors: [core.driverId, ...core.actorIds()] }, ...hosts.map(({ host, actors }) => ({ host, actors }))] };
    const text = mergeRecordings(header, [{ host: DRIVER_HOST, lines: core.log.eventLines() }, ...hosts.map(({ host, lines }) => ({ host, lines }))]);
    if (path !== undefined) writeFileSync(path, text);
    return text;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.transport.close();
    // A connection the server already closed has nothing left to drain: the run's own error says what happened.
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close());
  }
}
