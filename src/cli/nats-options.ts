/**
 * The `--nats*` flags shared by `fedsim run --transport nats` and `fedsim worker`: where
 * the server is and how to authenticate (user/password, token, nkey seed file, TLS),
 * turned into the settings of connectToNats.
 */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { NatsConnectionSettings } from '../runtime/transport/nats/connection.js';
import { CliError } from './cli-error.js';

export interface NatsFlags {
  nats?: string;
  natsUser?: string;
  natsPassword?: string;
  natsToken?: string;
  natsNkey?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
  run?: string;
}

/** Adds the flags to a command: the server, how to authenticate, and the live run's name. */
export function addNatsFlags(command: Command, natsHelp: string): Command {
  return addNatsAuthFlags(command.addOption(new Option('--nats <url>', natsHelp))).addOption(
    new Option('--run <name>', 'the live run\'s name: the driver and its workers use the same one (default: default)'),
  );
}

/** Adds the authentication and TLS flags (shared by live runs, `--train-nats` and `fedsim train-worker`). */
export function addNatsAuthFlags(command: Command): Command {
  return command
    .addOption(new Option('--nats-user <user>', 'NATS user (with --nats-password)'))
    .addOption(new Option('--nats-password <password>', 'NATS password (with --nats-user)'))
    .addOption(new Option('--nats-token <token>', 'NATS authentication token'))
    .addOption(new Option('--nats-nkey <file>', 'file holding an nkey seed (SU…) to authenticate with'))
    .addOption(new Option('--nats-tls-ca <file>', 'CA certificate (PEM) to verify the server with'))
    .addOption(new Option('--nats-tls-cert <file>', 'client certificate (PEM), with --nats-tls-key'))
    .addOption(new Option('--nats-tls-key <file>', 'client key (PEM), with --nats-tls-cert'));
}

/** The --nats* flags that were given (and --run): each means something only with a NATS connection to make. */
export function natsFlagsGiven(flags: NatsFlags): string[] {
  const names: Array<[keyof NatsFlags, string]> = [
    ['nats', '--nats'],
    ['natsUser', '--nats-user'],
    ['natsPassword', '--nats-password'],
    ['natsToken', '--nats-token'],
    ['natsNkey', '--nats-nkey'],
    ['natsTlsCa', '--nats-tls-ca'],
    ['natsTlsCert', '--nats-tls-cert'],
    ['natsTlsKey', '--nats-tls-key'],
    ['run', '--run'],
  ];
  return names.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
}

/** The connection settings the flags describe; usage errors name the flag. */
export function natsSettings(flags: NatsFlags, name: string): NatsConnectionSettings {
  if (flags.nats === undefined) throw new CliError('--nats <url> is required: the NATS server to use, e.g. --nats nats://127.0.0.1:4222 (start one with `nats-server -a 127.0.0.1`).');
  for (const [flag, file] of [['--nats-nkey', flags.natsNkey], ['--nats-tls-ca', flags.natsTlsCa], ['--nats-tls-cert', flags.natsTlsCert], ['--nats-tls-key', flags.natsTlsKey]] as const) {
    if (file !== undefined && !existsSync(file)) throw new CliError(`${flag} ${file}: no such file.`);
  }
  if ((flags.natsTlsCert === undefined) !== (flags.natsTlsKey === undefined)) throw new CliError('--nats-tls-cert and --nats-tls-key go together: give both (a client certificate and its key) or neither.');
  if ((flags.natsUser === undefined) !== (flags.natsPassword === undefined)) throw new CliError('--nats-user and --nats-password go together: give both or neither.');
  const tls =
    flags.natsTlsCa !== undefined || flags.natsTlsCert !== undefined
      ? { ...(flags.natsTlsCa ? { caFile: flags.natsTlsCa } : {}), ...(flags.natsTlsCert ? { certFile: flags.natsTlsCert, keyFile: flags.natsTlsKey } : {}) }
      : undefined;
  return {
    servers: flags.nats,
    name,
    ...(flags.natsUser !== undefined ? { user: flags.natsUser, password: flags.natsPassword } : {}),
    ...(flags.natsToken !== undefined ? { token: flags.natsToken } : {}),
    ...(flags.natsNkey !== undefined ? { nkeySeedFile: flags.natsNkey } : {}),
    ...(tls ? { tls } : {}),
  };
}
