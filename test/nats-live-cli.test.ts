/**
 * The live commands as a user runs them, on a nats-server that requires a user and
 * password: `fedsim worker` and `fedsim run --transport nats` as child processes, the
 * recording replayed with `fedsim replay`; wrong credentials are a clear error.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wireCodec } from '../src/messages/index.js';
import { parseFaultPlan } from '../src/runtime/index.js';
import { NatsConnectionError } from '../src/runtime/transport/nats/connection.js';
import { LiveSession } from '../src/runtime/transport/nats/live-session.js';
import { fedsim } from './helpers/fedsim-cli.js';
import { liveWorld } from './helpers/live-worker.js';

const RUN = `cli-${process.pid}`;
const auth = ['--nats-user', 'fed', '--nats-password', 'sim-secret'];
const world = liveWorld(test, { actors: ['bob', 'alice'], run: RUN, server: { user: 'fed', password: 'sim-secret' }, workerFlags: auth });
const dir = mkdtempSync(join(tmpdir(), 'fedsim-live-cli-'));

test.after.always(() => {
  rmSync(dir, { recursive: true, force: true });
});

test.serial('fedsim run --transport nats runs a tutorial flow live with an authenticated worker, and fedsim replay reproduces it in the simulator', async (t) => {
  const out = join(dir, 'chains');
  const run = await fedsim('run', 'scenarios/pointer-chains.ts', '--transport', 'nats', '--nats', world.server.url, ...auth, '--run', RUN, '--out', out);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /moved\.get\(\): tensor\(\[1, 2, 3, 4, 5\]\)/);
  t.regex(run.stdout, /pointer-chains passed \(live\)/);
  const header = JSON.parse(readFileSync(join(out, 'run.jsonl'), 'utf8').split('\n')[0]);
  t.is(header.transport, 'nats');
  t.deepEqual(header.hosts.map((h: { actors: string[] }) => h.actors.sort()), [['me'], ['alice', 'bob']]);
  // results.json and report.html as `fedsim run` writes them, from the merged recording (the worker's events included).
  const logText = readFileSync(join(out, 'run.jsonl'), 'utf8');
  const events = logText.trim().split('\n').slice(1).map((line) => JSON.parse(line) as { ev: string; host?: string });
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.true(results.ok);
  t.is(results.log.events, events.length);
  t.is(results.log.sha256, createHash('sha256').update(logText).digest('hex'));
  t.is(results.stats.delivered, events.filter((e) => e.ev === 'delivered').length);
  t.true(events.some((e) => e.ev === 'delivered' && e.host !== 'driver'), 'the worker process delivered messages too');
  t.regex(readFileSync(join(out, 'report.html'), 'utf8'), /pointer-chains/);
  const replay = await fedsim('replay', join(out, 'run.jsonl'));
  t.is(replay.code, 0, replay.stdout + replay.stderr);
  t.regex(replay.stdout, /replay OK: the simulator reproduced every message of the live recording/);
  const until = await fedsim('replay', join(out, 'run.jsonl'), '--until', '3');
  t.is(until.code, 2);
  t.regex(until.stderr, /recording of a live run \(transport nats\).*Replay it whole/s);
});

test.serial('a wrong password is a clear error: the driver and fedsim worker name the server and say to check the credentials', async (t) => {
  const error = await t.throwsAsync(
    LiveSession.open({ nats: { servers: world.server.url, user: 'fed', password: 'wrong' }, run: RUN, codec: wireCodec, seed: 0, faults: parseFaultPlan(undefined) }),
    { instanceOf: NatsConnectionError },
  );
  t.regex(error!.message, new RegExp(`cannot connect to ${world.server.url.replace(/[/.]/g, '\\$&')} \\(.*[Aa]uthorization.*\\).*credentials`));
  const cli = await fedsim('worker', '--nats', world.server.url, '--nats-user', 'fed', '--nats-password', 'wrong', '--actors', 'bob', '--run', RUN);
  t.is(cli.code, 1);
  t.regex(cli.stderr, /cannot connect to nats:\/\/127\.0\.0\.1:\d+ \(.*[Aa]uthorization.*\)/);
});

test.serial('live-only flags without --transport nats, and an unknown transport, are usage errors', async (t) => {
  const stray = await fedsim('run', 'scenarios/ping-pong.ts', '--nats', world.server.url, '--out', join(dir, 'y'));
  t.is(stray.code, 2);
  t.regex(stray.stderr, /--nats applies to live runs only: add --transport nats/);
  const unknown = await fedsim('run', 'scenarios/ping-pong.ts', '--transport', 'carrier-pigeon', '--nats', world.server.url, '--out', join(dir, 'y'));
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /--transport carrier-pigeon: unknown transport; use one of sim, nats/);
  const noActors = await fedsim('worker', '--nats', world.server.url);
  t.is(noActors.code, 2);
  t.regex(noActors.stderr, /--actors is required/);
});
