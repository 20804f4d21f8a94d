/**
 * How fedsim connects to a NATS server: one place for the URL, authentication (user/password,
 * token, nkey seed file) and TLS options, shared by `fedsim run --transport nats`, `fedsim worker`
 * and the distributed training pool. The options pass straight through to
 * `@nats-io/transport-node`; fedsim adds only clear errors and a name for the connection.
 */
import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { FedsimError } from '../../errors.js';

export interface NatsConnectionSettings {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222` (comma-separated on the command line). */
  servers: string | string[];
  /** Shown in the server's connection list (`nats-server` monitoring), e.g. `fedsim-worker alice,bob`. */
  name?: string;
  user?: string;
  password?: string;
  token?: string;
  /** A file holding an nkey seed (`SU…`), as written by `nk -gen user`. */
  nkeySeedFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export class NatsConnectionError extends FedsimError {}

export function natsConnectionOptions(settings: NatsConnectionSettings): NodeConnectionOptions {
  const servers = (Array.isArray(settings.servers) ? settings.servers : settings.servers.split(','))
    .map((server) => server.trim())
    .filter((server) => server.length > 0);
  if (servers.length === 0) {
    throw new NatsConnectionError('NATS: no server URL given; pass one, e.g. --nats nats://127.0.0.1:4222.');
  }
  if ((settings.user === undefined) !== (settings.password === undefined)) {
    throw new NatsConnectionError('NATS: a user needs a password and a password needs a user; give both (--nats-user and --nats-password) or neither.');
  }
  const options: NodeConnectionOptions = { servers, ...(settings.name ? { name: settings.name } : {}) };
  if (settings.user !== undefined) Object.assign(options, { user: settings.user, pass: settings.password });
  if (settings.token !== undefined) Object.assign(options, { token: settings.token });
  if (settings.nkeySeedFile !== undefined) {
    let seed: string;
    try {
      seed = readFileSync(settings.nkeySeedFile, 'utf8').trim();
    } catch (error) {
      throw new NatsConnectionError(`NATS: cannot read the nkey seed file ${settings.nkeySeedFile} (${(error as Error).message}).`);
    }
    if (!seed.startsWith('S')) {
      throw new NatsConnectionError(`NATS: ${settings.nkeySeedFile} does not hold an nkey seed (a seed starts with "S", e.g. "SUA…"); generate one with \`nk -gen user\`.`);
    }
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (settings.tls) options.tls = { ...settings.tls };
  return options;
}

/** Connects, turning the client library's errors into one line that names the server and what to check. */
export async function connectToNats(settings: NatsConnectionSettings): Promise<NatsConnection> {
  const options = natsConnectionOptions(settings);
  try {
    return await connect(options);
  } catch (error) {
    const servers = options.servers as string[];
    const reason = (error as Error).message;
    throw new NatsConnectionError(`NATS: cannot connect to ${servers.join(', ')} (${reason}). ${connectionHint(reason, servers[0])}`);
  }
}

/** What to check when a connection fails: the credentials when the server refused them, else whether a server runs there. */
function connectionHint(reason: string, server: string): string {
  if (/authori[sz]ation|authentication|permissions/i.test(reason)) {
    return 'The server refused the credentials: check --nats-user/--nats-password, --nats-token or --nats-nkey (and that the server\'s config has that user).';
  }
  let host = '127.0.0.1';
  let port = '4222';
  try {
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    host = url.hostname || host;
    port = url.port || port;
  } catch {
    // not a URL: the defaults
  }
  return `Is nats-server running there? Start one with \`nats-server -a ${host} -p ${port}\` (Debian: apt-get install nats-server).`;
}
