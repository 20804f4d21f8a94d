/**
 * Messages over the NATS server's max_payload cross in parts (src/fl/distributed/message-parts.ts):
 * any message, split at any part size and received in any order with repeats, is put back
 * together bit for bit; a damaged, foreign or oversized part is refused and nothing is decoded
 * from it.
 */
import test from 'ava';
import fc from 'fast-check';
import { MalformedMessageError } from '../src/fl/errors.js';
import { PART_HEADER_ROOM, PartsAssembly, PartsInbox, partBytes, partOf, transferHeader } from '../src/fl/distributed/message-parts.js';

const messages = fc.uint8Array({ minLength: 0, maxLength: 5000 });

test('any message split at any size, its parts received in any order and some twice, is put back together exactly (property)', (t) => {
  fc.assert(
    fc.property(messages, fc.integer({ min: 1, max: 700 }), fc.integer(), (body, size, shuffleSeed) => {
      const header = transferHeader('t', body, size);
      const parts = Array.from({ length: header.parts }, (_, i) => partOf(body, header, size, i));
      // A seeded shuffle, with the first part sent again at the end (a resend).
      let state = shuffleSeed >>> 0;
      const order = parts.map((p) => ({ p, k: (state = (state * 1103515245 + 12345) >>> 0) })).sort((a, b) => a.k - b.k).map((x) => x.p);
      const assembly = new PartsAssembly(header, 1 << 20);
      let whole: Uint8Array | undefined;
      for (const part of [...order, order[0]]) whole = assembly.add(part) ?? whole;
      return whole !== undefined && Buffer.from(whole).equals(Buffer.from(body)) && header.parts === Math.max(1, Math.ceil(body.length / size));
    }),
  );
  t.pass();
});

test('a damaged part is refused once the message is whole: its sha256 does not match', (t) => {
  const body = new Uint8Array(3000).map((_, i) => i % 251);
  const header = transferHeader('x', body, 1000);
  const assembly = new PartsAssembly(header, 1 << 20);
  t.is(assembly.add(partOf(body, header, 1000, 0)), undefined);
  t.is(assembly.add(partOf(body, header, 1000, 1)), undefined);
  const last = partOf(body, header, 1000, 2);
  const damaged = { ...last, chunk: last.chunk.slice() };
  damaged.chunk[7] ^= 1;
  t.throws(() => assembly.add(damaged), { instanceOf: MalformedMessageError, message: /transfer x: the parts put together hash to .* not the announced/ });
});

test('parts that disagree about their message, lie about their index or hold too much are refused, naming the transfer', (t) => {
  const body = new Uint8Array(2500).fill(3);
  const header = transferHeader('y', body, 1000);
  const fresh = () => new PartsAssembly(header, 1 << 20);
  t.throws(() => fresh().add({ ...partOf(body, header, 1000, 0), sha256: 'a'.repeat(64) }), { instanceOf: MalformedMessageError, message: /a part of transfer y disagrees with its other parts/ });
  t.throws(() => fresh().add({ ...partOf(body, header, 1000, 0), index: 3 }), { instanceOf: MalformedMessageError, message: /transfer y: part 3 of 3/ });
  const greedy = fresh();
  greedy.add(partOf(body, header, 1000, 0));
  greedy.add(partOf(body, header, 1000, 1));
  t.throws(() => greedy.add({ ...partOf(body, header, 1000, 2), chunk: new Uint8Array(900) }), { instanceOf: MalformedMessageError, message: /more than the 2500 bytes announced/ });
  t.throws(() => new PartsAssembly({ ...header, bytes: 5000 }, 4096), { instanceOf: MalformedMessageError, message: /announces 5000 bytes, more than the 4096/ });
  t.throws(() => partOf(body, header, 1000, 3), { instanceOf: MalformedMessageError, message: /has parts 0\.\.2; part 3 was asked for/ });
});

test('the inbox holds a bounded number of transfers, forgets a refused one, and gives each message once', (t) => {
  const inbox = new PartsInbox(2, 1 << 20);
  const body = (fill: number) => new Uint8Array(1500).fill(fill);
  const start = (name: string, fill: number) => {
    const header = transferHeader(name, body(fill), 1000);
    t.is(inbox.add(partOf(body(fill), header, 1000, 0)), undefined);
    return header;
  };
  const a = start('a', 1);
  start('b', 2);
  start('c', 3); // a is dropped to make room
  t.is(inbox.size, 2);
  // a's second part starts a fresh assembly (its first part was dropped): not whole yet.
  t.is(inbox.add(partOf(body(1), a, 1000, 1)), undefined);
  const bad = transferHeader('d', body(4), 1000);
  t.throws(() => inbox.add({ ...partOf(body(4), bad, 1000, 0), parts: 0 }), { instanceOf: MalformedMessageError });
  t.is(inbox.size, 2, 'the refused transfer is not kept');
  // a's first part again completes it: the message comes out once, and its transfer is forgotten.
  t.deepEqual(inbox.add(partOf(body(1), a, 1000, 0)), body(1));
  t.is(inbox.size, 1);
  t.is(inbox.add(partOf(body(1), a, 1000, 0)), undefined, 'a late copy of a part starts over; it gives nothing');
});

test('part sizes leave room for the part header; a server limit too small for any part is a clear error', (t) => {
  t.is(partBytes(1024 * 1024), 1024 * 1024 - PART_HEADER_ROOM);
  t.is(partBytes(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  t.throws(() => partBytes(1500), { instanceOf: MalformedMessageError, message: /max_payload is 1500 bytes, too small.*raise max_payload/ });
});
