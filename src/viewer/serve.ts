/**
 * `fedsim view RUN --serve`: the viewer page served from 127.0.0.1 by this process,
 * which also answers the page's questions a written page cannot: the exact state of
 * every actor at any event (`GET /state?seq=N`), by re-executing the run up to that
 * event as `fedsim replay --until N` does. Answers are computed one at a time (a replay
 * uses the whole process) and the last few are kept.
 *
 * Only loopback is listened on, and requests naming another host are refused (a web
 * page elsewhere cannot reach the server through a DNS name it controls).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError } from '../cli/cli-error.js';
import { captureStates } from './state-capture.js';

export interface ServeOptions {
  port: number;
  logFile: string;
  events: number;
  project?: string;
  /** Longest log line accepted when replaying for a state (fedsim view --max-line-chars). */
  maxLineChars?: number;
  /** The page's bytes in parts (made once: the page is a pure function of the run). */
  page: Buffer[];
}

const CACHED_STATES = 32;

export async function serveViewer(options: ServeOptions): Promise<{ server: Server; url: string }> {
  const cache = new Map<number, string>();
  let queue: Promise<unknown> = Promise.resolve();

  const stateAt = (seq: number): Promise<string> => {
    const hit = cache.get(seq);
    if (hit !== undefined) return Promise.resolve(hit);
    const next = queue.then(async () => {
      const timeline = await captureStates(options.logFile, { at: seq, project: options.project, maxLineChars: options.maxLineChars });
      const actors = timeline.actors.flatMap((id, a) => {
        const text = timeline.changes[a].text[0];
        return timeline.changes[a].at[0] === 0 && text >= 0 ? [{ id, text: timeline.texts[text] }] : [];
      });
      const body = JSON.stringify({ seq, actors });
      cache.set(seq, body);
      if (cache.size > CACHED_STATES) cache.delete(cache.keys().next().value!);
      return body;
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error) => send(response, 500, 'application/json', JSON.stringify({ error: String((error as Error).message ?? error) })));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = request.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host)) return send(response, 403, 'text/plain', 'fedsim view serves 127.0.0.1 only.\n');
    if (request.method !== 'GET') return send(response, 405, 'text/plain', 'GET only.\n');
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      for (const part of options.page) response.write(part);
      response.end();
      return;
    }
    if (url.pathname === '/state') {
      const text = url.searchParams.get('seq') ?? '';
      const seq = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(seq >= 0 && seq < options.events)) return send(response, 400, 'application/json', JSON.stringify({ error: `seq ${JSON.stringify(text)}: give an event of the log, 0..${options.events - 1}.` }));
      try {
        return send(response, 200, 'application/json', await stateAt(seq));
      } catch (error) {
        return send(response, 500, 'application/json', JSON.stringify({ error: `the state at seq ${seq} could not be computed: ${(error as Error).message}` }));
      }
    }
    return send(response, 404, 'text/plain', 'not found\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new CliError(error.code === 'EADDRINUSE' ? `--port ${options.port}: the port is in use on 127.0.0.1; choose another (or --port 0 for any free one).` : `cannot serve on 127.0.0.1:${options.port}: ${error.message}`)),
    );
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(body);
}
