/**
 * A real nats-server for tests: started on a free loopback port with JetStream in a scratch
 * directory, stopped (and its directory removed) when the test file ends.
 *
 * Debian's `nats-server` package provides the binary; `.ci/run` installs it when missing. A
 * machine without it gets one clear failure saying how to install it, not a silent skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** Require this user/password (nats-server `authorization { user, password }`). */
  user?: string;
  password?: string;
  /** Extra lines for the server's config file (e.g. a `tls { … }` block). */
  extraConfig?: string;
}

export interface RunningNatsServer {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export const NATS_SERVER_BINARY = process.env.FEDSIM_NATS_SERVER ?? 'nats-server';

/** A TCP port the kernel just handed out on loopback (closed again before the server binds it). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-nats-'));
  const lines = [
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
    ...(options.user ? [`authorization { user: ${JSON.stringify(options.user)}, password: ${JSON.stringify(options.password ?? '')} }`] : []),
    ...(options.extraConfig ? [options.extraConfig] : []),
  ];
  const configFile = join(dir, 'nats.conf');
  writeFileSync(configFile, lines.join('\n') + '\n');
  let child: ChildProcess;
  let stderr = '';
  let spawnError: Error | undefined;
  child = spawn(NATS_SERVER_BINARY, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  child.once('error', (error) => { spawnError = error; });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    if (spawnError) {
      cleanup();
      throw new Error(
        `Could not start ${NATS_SERVER_BINARY} (${spawnError.message}). The live-transport tests need a real nats-server: ` +
        `install it with \`apt-get install nats-server\` (or run .ci/run, which does), or point FEDSIM_NATS_SERVER at the binary.`,
      );
    }
    if (child.exitCode !== null) {
      cleanup();
      throw new Error(`nats-server exited with code ${child.exitCode} before listening on port ${port}: ${stderr.trim()}`);
    }
    if (await portAcceptsConnections(port)) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      cleanup();
    },
  };
}
