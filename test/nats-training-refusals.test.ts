/**
 * What the distributed-training protocol refuses (src/fl/distributed/): frames that are short,
 * damaged or name blobs that are not there; a `fedsim train-worker` process sent data or
 * weights whose digest is not the one named, a task whose key does not match its fields, or an
 * algorithm it does not know (it answers `failed` with the reason, and keeps working); and a
 * bridge sent garbage while a run goes on (the run is still the in-process run).
 */
import test from 'ava';
import type { NatsConnection } from '@nats-io/transport-node';
import { initBackend } from '../src/runtime/backend.js';
import { connectToNats } from '../src/runtime/transport/nats/connection.js';
import { decodeFrame, encodeFrame } from '../src/fl/distributed/frame.js';
import { NextRequestSchema, PROTOCOL_VERSION, ResultRequestSchema, type ResultRequest, type WireTask, subjects, taskKey } from '../src/fl/distributed/protocol.js';
import { natsTrainingPool } from '../src/fl/distributed/nats-training-pool.js';
import { datasetDigest, weightsKey } from '../src/fl/parallel/content-keys.js';
import { transferHeader } from '../src/fl/distributed/message-parts.js';
import { startNatsServer, type RunningNatsServer } from './helpers/nats-server.js';
import { type RunningFedsim, startFedsim } from './helpers/fedsim-cli.js';
import { parallelOptions, parallelRun } from './helpers/parallel-world.js';

let server: RunningNatsServer;
let nc: NatsConnection;
const started: RunningFedsim[] = [];

test.before(async () => {
  await initBackend('cpu');
  server = await startNatsServer();
  nc = await connectToNats({ servers: server.url });
});

test.after.always(async () => {
  for (const worker of started) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  await Promise.all(started.map((w) => w.ended.catch(() => {})));
  await nc?.close();
  await server?.stop();
});

test('a frame round-trips typed arrays, NaN, ±Infinity and -0 exactly', (t) => {
  const value = { a: new Float32Array([1.5, -0, Number.NaN]), b: [new Int32Array([3, -4]), { c: -0, d: Number.NaN, e: Number.POSITIVE_INFINITY, f: Number.NEGATIVE_INFINITY, g: 'x', h: null }], i: new Float64Array([Math.PI]) };
  const back = decodeFrame(encodeFrame(value), 'test') as typeof value;
  t.deepEqual(back, value);
  t.true(Object.is(back.b[1] && (back.b[1] as { c: number }).c, -0));
  t.true(Object.is(back.a[1], -0));
});

test('damaged frames are refused with what is wrong: too short, header past the end, blob past the end, unknown kind, reserved keys', (t) => {
  const good = encodeFrame({ x: new Float32Array(4) });
  t.throws(() => decodeFrame(good.subarray(0, 3), 'a test frame'), { message: /a test frame: the body has 3 bytes/ });
  const lying = good.slice();
  new DataView(lying.buffer).setUint32(0, 1e6, true);
  t.throws(() => decodeFrame(lying, 'a test frame'), { message: /the header claims 1000000 bytes/ });
  t.throws(() => decodeFrame(good.subarray(0, good.length - 4), 'a test frame'), { message: /blob 0 .* lies past the body's end/ });
  const header = (value: unknown) => {
    const text = new TextEncoder().encode(JSON.stringify(value));
    const body = new Uint8Array(8 + text.length + 16);
    new DataView(body.buffer).setUint32(0, text.length, true);
    body.set(text, 4);
    return body;
  };
  t.throws(() => decodeFrame(header({ value: { $blob: 0 }, blobs: [{ kind: 'BigInt64Array', offset: 0, length: 1 }] }), 'a test frame'), { message: /blob 0 has kind "BigInt64Array"/ });
  t.throws(() => decodeFrame(header({ value: { $blob: 3 }, blobs: [] }), 'a test frame'), { message: /a reference to blob 3/ });
  t.throws(() => decodeFrame(header({ value: { $num: 'pi' }, blobs: [] }), 'a test frame'), { message: /a special number "pi"/ });
  t.throws(() => encodeFrame({ $blob: 1 }), { message: /reserves/ });
});

/** A fake bridge on `subject`: hands `task` to the first worker that asks, resolves with its result. */
function fakeBridge(subject: string, task: (worker: string) => WireTask | Uint8Array): Promise<ResultRequest> {
  const { next, result } = subjects(subject);
  let given = false;
  return new Promise((resolve) => {
    nc.subscribe(next, {
      callback: (_error, msg) => {
        const request = NextRequestSchema.parse(decodeFrame(msg.data, 'next'));
        if (given) {
          msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'none' }));
          return;
        }
        given = true;
        const made = task(request.worker);
        msg.respond(made instanceof Uint8Array ? made : encodeFrame({ v: PROTOCOL_VERSION, kind: 'task', task: made }));
      },
    });
    nc.subscribe(result, {
      callback: (_error, msg) => {
        msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'ack' }));
        resolve(ResultRequestSchema.parse(decodeFrame(msg.data, 'result')));
      },
    });
  });
}

const spec = { kind: 'mlp', layers: [2, 2] };
const data = { x: new Float32Array([0, 1, 1, 0]), y: new Int32Array([0, 1]) };
const weights = [new Float32Array([0.1, 0.2, 0.3, 0.4]), new Float32Array([0, 0])];
function wireTask(change: Partial<WireTask> = {}): WireTask {
  const fields = { client: 'client-00', seed: 1, spec, ins: { round: 1, config: { epochs: 1, batchSize: 2, lr: 0.1 } }, hooks: null, dataKey: datasetDigest(data), weightsKey: weightsKey(weights), ...change };
  return { id: 0, key: taskKey(fields), ...fields, data, weights, ...change };
}

/** One worker process against a fake bridge that sends it `task`; its answer. */
async function workerAnswer(subject: string, task: (worker: string) => WireTask | Uint8Array): Promise<ResultRequest['outcome']> {
  const answered = fakeBridge(subject, task);
  const worker = startFedsim({}, 'train-worker', '--nats', server.url, '--subject', subject, '--backend', 'cpu');
  started.push(worker);
  const { outcome } = await answered;
  worker.child.kill('SIGTERM');
  await worker.ended;
  return outcome;
}

test.serial('a worker trains a well-formed task (the fake bridge speaks the protocol)', async (t) => {
  const outcome = await workerAnswer('fedsim.test.good', () => wireTask());
  t.is(outcome.kind, 'trained', JSON.stringify(outcome));
});

test.serial('a task sent in parts whose transfer is lost midway (the bridge answers gone): the worker asks again and trains the task when it comes whole', async (t) => {
  const subject = 'fedsim.test.lost-part';
  const { next, part, result } = subjects(subject);
  let asked = 0;
  let partRequests = 0;
  const body = encodeFrame({ v: PROTOCOL_VERSION, kind: 'task', task: wireTask() });
  nc.subscribe(next, {
    callback: (_error, msg) => {
      asked++;
      // First the task announced in parts, whose transfer then turns out lost; then the task whole; then nothing.
      if (asked === 1) msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'parts', ...transferHeader('t-1', body, 64) }));
      else if (asked === 2) msg.respond(body);
      else msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'none' }));
    },
  });
  nc.subscribe(part, {
    callback: (_error, msg) => {
      partRequests++;
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'gone', reason: 'transfer t-1 is not leased to you (its lease ended)' }));
    },
  });
  const answered = new Promise<ResultRequest>((resolve) => {
    nc.subscribe(result, {
      callback: (_error, msg) => {
        msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'ack' }));
        resolve(ResultRequestSchema.parse(decodeFrame(msg.data, 'result')));
      },
    });
  });
  await nc.flush();
  const worker = startFedsim({}, 'train-worker', '--nats', server.url, '--subject', subject, '--backend', 'cpu');
  started.push(worker);
  const { outcome } = await answered;
  worker.child.kill('SIGTERM');
  const ended = await worker.ended;
  t.is(outcome.kind, 'trained', JSON.stringify(outcome));
  t.is(partRequests, 1, 'the worker stopped fetching at the first lost part');
  t.true(asked >= 2);
  t.regex(ended.stderr, /could not fetch task t-1 in \d+ parts: the bridge no longer holds it/);
});

test.serial('a worker refuses data whose digest is not the one the task names', async (t) => {
  const outcome = await workerAnswer('fedsim.test.baddata', () => ({ ...wireTask(), data: { x: new Float32Array([9, 9, 9, 9]), y: data.y } }));
  t.like(outcome, { kind: 'failed' });
  t.regex((outcome as { error: string }).error, /the data sent for client 'client-00' has digest [0-9a-f]{64}, not the [0-9a-f]{64} the task names; refused/);
});

test.serial('a worker refuses weights whose digest is not the one named, and a task whose key does not match its fields', async (t) => {
  const badWeights = await workerAnswer('fedsim.test.badweights', () => ({ ...wireTask(), weights: [new Float32Array(4), new Float32Array(2)] }));
  t.regex((badWeights as { error: string }).error, /the weights sent have digest .* refused/);
  const badKey = await workerAnswer('fedsim.test.badkey', () => ({ ...wireTask(), client: 'client-99' }));
  t.regex((badKey as { error: string }).error, /task 0's fields digest to [0-9a-f]{64}, not the key .* it carries; refused/);
});

test.serial('a worker refuses an algorithm it does not know, naming it', async (t) => {
  const outcome = await workerAnswer('fedsim.test.hooks', () => wireTask({ hooks: 'my-own-algorithm' }));
  t.regex((outcome as { error: string }).error, /no client algorithm 'my-own-algorithm' is registered/);
});

test.serial('a bridge sent garbage results and work requests during a run ignores them: the in-process run', async (t) => {
  const subject = 'fedsim.test.bridge-garbage';
  const remote = natsTrainingPool({ connection: { servers: server.url }, subject });
  await remote.ready();
  const worker = startFedsim({}, 'train-worker', '--nats', server.url, '--subject', subject, '--backend', 'cpu');
  started.push(worker);
  const { next, result } = subjects(subject);
  // Garbage first: a short body, a frame of the wrong shape, a result for a task that does not exist.
  nc.publish(next, new Uint8Array([1, 2]));
  nc.publish(result, encodeFrame({ v: PROTOCOL_VERSION, kind: 'result', worker: 'w', id: 'x' }));
  nc.publish(result, encodeFrame({ v: PROTOCOL_VERSION, kind: 'result', worker: 'w', id: 0, key: '0'.repeat(64), outcome: { kind: 'trained', result: { weights: [new Float32Array(1)], numSamples: 1, meanLoss: 0, steps: 1, samplesSeen: 1 } } }));
  await nc.flush();
  const options = parallelOptions({ rounds: 1 });
  t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
  t.is(remote.stats.taken, 10);
  worker.child.kill('SIGTERM');
  await worker.ended;
  await remote.close();
});
