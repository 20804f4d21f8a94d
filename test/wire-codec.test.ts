/**
 * The protocol's wire side: the tensor codec, frame encoding, would-be wire sizes,
 * strict mode, per-link byte metrics, and log digests that survive disposal.
 */
import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { decodeMessage, decodeTensor, encodeMessage, encodeTensor, frameJsonByteLength, jsonByteLength, MessageSchemas, prepareOutgoing, WireFormatError, wireSize } from '../src/index.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

test('tensors round-trip through the codec with dtype, shape, bytes and variable-ness', (t) => {
  const cases = [
    tf.tensor([1.5, -2.25, 3e-8], [3], 'float32'),
    tf.tensor([[1, -2], [3, 2 ** 31 - 1]], [2, 2], 'int32'),
    tf.tensor([true, false, true], [3], 'bool'),
    tf.tensor(['a', 'ünï', ''], [3], 'string'),
    tf.scalar(7),
    tf.zeros([0, 3]),
    tf.variable(tf.tensor([[1], [2]]), false),
  ];
  for (const original of cases) {
    const encoded = encodeTensor(original);
    const decoded = decodeTensor(encoded);
    t.is(decoded.dtype, original.dtype);
    t.deepEqual(decoded.shape, original.shape);
    t.deepEqual(decoded.arraySync(), original.arraySync());
    t.is(decoded instanceof tf.Variable, original instanceof tf.Variable);
    if (original instanceof tf.Variable) t.false((decoded as tf.Variable).trainable);
    decoded.dispose();
  }
  tf.dispose(cases);
});

test('malformed encoded tensors are refused with the reason', (t) => {
  t.throws(() => decodeTensor({ dtype: 'float32', shape: [3], data: new Uint8Array(8) }), { message: /needs 12 bytes, got 8/ });
  t.throws(() => decodeTensor({ dtype: 'float32', shape: [-1], data: new Uint8Array(0) }), { message: /non-negative integers/ });
  t.throws(() => decodeTensor({ dtype: 'float64' as 'float32', shape: [1], data: new Uint8Array(8) }), { message: /unknown dtype/ });
});

const tensorArb = fc.oneof(
  fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 12 }).map((v) => tf.tensor(v, [v.length], 'float32')),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 12 }).map((v) => tf.tensor(v, [v.length], 'int32')),
  fc.array(fc.boolean(), { maxLength: 12 }).map((v) => tf.tensor(v, [v.length], 'bool')),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }).map((v) => tf.tensor(v, [v.length], 'string')),
);
const meta = fc.record({ tags: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 3 }), description: fc.string({ maxLength: 20 }) }, { requiredKeys: [] });

test('wireSize is exactly the encoded frame length, and decoding gives back the payload (property)', (t) => {
  fc.assert(
    fc.property(tensorArb, meta, fc.boolean(), (tensor, m, variable) => {
      const payload = { id: '12', value: { kind: 'tensor', tensor, ...(variable ? { variable: { trainable: true } } : {}) }, meta: m };
      const frame = encodeMessage('object', payload);
      const size = wireSize('object', payload);
      const decoded = decodeMessage(frame);
      const value = (decoded.payload as typeof payload).value;
      const same = size === frame.byteLength && decoded.type === 'object' && JSON.stringify(value.tensor.arraySync()) === JSON.stringify(tensor.arraySync()) && MessageSchemas.object.safeParse(decoded.payload).success;
      tf.dispose([tensor, value.tensor]);
      return same;
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null), fc.record({ ref: fc.constantFrom('1', '22', 'a:b') })), { maxLength: 6 }), (args) => {
      const payload = { op: 'add', args, resultIds: ['9'] };
      return wireSize('command', payload) === encodeMessage('command', payload).byteLength;
    }),
  );
  t.pass();
});

test('decoding arbitrary bytes either works or throws a WireFormatError (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeMessage(bytes);
        return true;
      } catch (error) {
        return error instanceof WireFormatError;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('strict mode: payloads are encoded and decoded at every send; tensors arrive as copies', async (t) => {
  const sim = simulation({ strict: true });
  const bob = sim.worker('bob');
  const source = tf.tensor([1, 2, 3]);
  const x = source.send(bob);
  await sim.settle();
  const stored = sim.inspect(bob).objects.get(x.idAtLocation) as tf.Tensor;
  t.not(stored, source);
  t.not(stored.dataId, source.dataId, 'the data was copied through bytes, not shared');
  const back = await x.add(1).get();
  t.deepEqual(back.arraySync(), [2, 3, 4]);
  for (const event of sim.log.events) {
    if (event.ev !== 'sent') continue;
    t.is(typeof event.envelope.bytes, 'number', `${event.type} has a wire size`);
  }
  // A payload that cannot cross a wire is refused at the send, in strict mode.
  t.throws(() => prepareOutgoing('object', { id: '1', value: { kind: 'tensor', tensor: x } }, true), { instanceOf: WireFormatError, message: /A 'object' payload cannot cross a wire \(strict mode\): Converting circular structure/ });
});

test('link metrics count each message\'s would-be wire bytes per link and per worker', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.zeros([1000]).send(bob); // 4000 bytes of float32 data
  const back = await x.get();
  const toBob = sim.metrics.link('me', 'bob');
  const fromBob = sim.metrics.link('bob', 'me');
  t.is(toBob.sent.messages, 2, 'object + objectRequest');
  t.true(toBob.sent.bytes > 4000 && toBob.sent.bytes < 4300, `${toBob.sent.bytes}`);
  t.true(fromBob.delivered.bytes > 4000 && fromBob.delivered.bytes < 4300);
  t.deepEqual(sim.metrics.worker('bob'), {
    messagesSent: 1,
    bytesSent: fromBob.sent.bytes,
    messagesReceived: 2,
    bytesReceived: toBob.delivered.bytes,
  });
  const sent = sim.log.events.filter((e) => e.ev === 'sent').reduce((n, e) => n + ((e as { envelope: { bytes?: number } }).envelope.bytes ?? 0), 0);
  t.is(sim.metrics.total().sent.bytes, sent);
  back.dispose();
});

test('log digests of tensor-carrying messages are computed at send, so the log can be written after the tensors are gone', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2, 3]).send(bob);
  const back = await x.get();
  back.dispose(); // the tensor that travelled in two messages no longer exists
  const lines = sim.log.toJSONL().trim().split('\n');
  const sent = lines.map((l) => JSON.parse(l)).filter((e) => e.ev === 'sent');
  t.is(sent.length, 3);
  for (const e of sent) t.regex(e.digest, /^[0-9a-f]{16}$/);
  t.true(sent.every((e) => typeof e.bytes === 'number'));
});

test('jsonByteLength is exactly the UTF-8 length of JSON.stringify, for any value (property)', (t) => {
  const same = (value: unknown) => {
    let expected: number | 'throws';
    try {
      const json = JSON.stringify(value);
      expected = json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
    } catch {
      expected = 'throws';
    }
    let actual: number | 'throws';
    try {
      actual = jsonByteLength(value);
    } catch {
      actual = 'throws';
    }
    return actual === expected;
  };
  fc.assert(fc.property(fc.anything({ withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true }), same), { numRuns: 3000 });
  fc.assert(fc.property(fc.jsonValue(), same), { numRuns: 2000 });
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.anything(), (type, payload) => frameJsonByteLength(type, payload) === Buffer.byteLength(JSON.stringify({ type, payload }), 'utf8')), { numRuns: 2000 });
  const oddities = [{ toJSON: () => 'x' }, [1, , 3], -0, 1e21, [undefined, () => 1, Symbol('s')], { a: undefined, b: Symbol('s') }, '\u2028', '\ud800', Object.create(null)];
  oddities.forEach((odd, i) => t.true(same(odd), `case ${i}`));
  t.true(same(BigInt(1)), 'bigint throws in both');
});
