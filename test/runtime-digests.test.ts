import test from 'ava';
import { createHash } from 'node:crypto';
import { digestOf, sha256Hex } from '../src/runtime/index.js';

test('sha256Hex is the standard sha256: FIPS 180-2 vectors, UTF-8 strings and raw bytes', (t) => {
  t.is(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const reference = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
  for (const text of ['é', '→ 日本', 'a'.repeat(10_000), '\u0000\uffff']) t.is(sha256Hex(text), reference(text), JSON.stringify(text.slice(0, 8)));
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) % 256);
  t.is(sha256Hex(bytes), reference(bytes));
  t.is(sha256Hex(bytes.subarray(10, 20)), reference(Buffer.from(bytes.buffer, 10, 10)), 'a view hashes its own bytes only');
});

test('payload digests are 16 hex chars of the sha256 of the canonical JSON, whatever the key order', (t) => {
  t.is(digestOf({ b: 1, a: [1, 'x'] }), createHash('sha256').update('{"a":[1,"x"],"b":1}').digest('hex').slice(0, 16));
  t.is(digestOf({ a: [1, 'x'], b: 1 }), digestOf({ b: 1, a: [1, 'x'] }));
  t.not(digestOf({ a: 1 }), digestOf({ a: 2 }));
});
