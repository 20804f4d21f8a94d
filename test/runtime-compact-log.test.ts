/**
 * The in-memory log keeps messages as rows of numbers (MessageTable) and rebuilds
 * envelopes when read. These tests hold the rebuilt envelopes against the live ones
 * the run actually sent, over every kind of message the runtime makes.
 */
import test from 'ava';
import fc from 'fast-check';
import { fromTransition, setup } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, type SimEvent, SimulationCore } from '../src/runtime/index.js';
import { NumberRows } from '../src/runtime/columns.js';
import { echoMachine, tickerMachine } from './helpers/actors.js';

const ENVELOPE_FIELDS = ['seq', 'id', 'from', 'to', 'type', 'payload', 'sentAt', 'deliverAt', 'cause', 'inReplyTo', 'duplicate', 'reordered', 'digest', 'bytes'] as const;
const fieldsOf = (e: Envelope) => Object.fromEntries(ENVELOPE_FIELDS.map((k) => [k, e[k]]));

/** Keeps each request's `{ id, from }` and answers it on the next 'flush': a reply to something that is not an envelope. */
const deferredReplier = fromTransition(
  (state: { io: ActorIO; kept: Array<{ id: string; from: string }> }, event: ActorMessage) => {
    if (event.type === 'later') return { ...state, kept: [...state.kept, { id: event.envelope.id, from: event.envelope.from }] };
    if (event.type === 'flush') for (const request of state.kept) state.io.reply(request as Envelope, 'done', { id: request.id }, { bytes: 0 });
    return { ...state, kept: event.type === 'flush' ? [] : state.kept };
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io, kept: [] as Array<{ id: string; from: string }> }),
);

/** Sends a 'tick' to 'me' from a timer turn (cause `timer:<n>`), with a digest of its own. */
const timedSender = setup({ types: {} as { context: { io: ActorIO }; input: { io: ActorIO } } }).createMachine({
  context: ({ input }) => ({ io: input.io }),
  initial: 'wait',
  states: { wait: { after: { 5: { target: 'sent', actions: ({ context }) => context.io.send('me', 'tick', [1, 2, 3], { digest: 'given-digest' }) } } }, sent: {} },
});

async function busyRun(seed: number) {
  const sim = new SimulationCore({ seed, faults: { duplicate: 0.2, reorder: 0.2, delay: { rate: 0.5, dist: { kind: 'uniform', min: 0.5, max: 4 } } } });
  const live: SimEvent[] = [];
  sim.events$.subscribe((e) => live.push(e));
  sim.spawn(echoMachine, 'bob');
  sim.spawn(deferredReplier, 'carol');
  sim.spawn(timedSender, 'dave');
  sim.spawn(tickerMachine, 'tick', { input: { max: 3, period: 2 } });
  const pings = Array.from({ length: 20 }, (_, n) => sim.request('bob', 'ping', { n }));
  for (let i = 0; i < 5; i++) sim.send('carol', 'later', { i });
  await Promise.allSettled([...pings, sim.request('bob', 'boom', {})]);
  sim.send('carol', 'flush', null, { bytes: 12 });
  await sim.settle();
  return { sim, live };
}

test('every message event read back from the log carries the envelope that was sent, field for field', async (t) => {
  const { sim, live } = await busyRun(7);
  const logged = sim.log.events;
  t.is(logged.length, live.length);
  const seen = new Set<string>();
  for (let i = 0; i < logged.length; i++) {
    const [mine, theirs] = [logged[i], live[i]];
    t.is(mine.ev, theirs.ev, `seq ${i}`);
    if (!('envelope' in mine)) continue;
    seen.add(mine.ev);
    const expected = fieldsOf((theirs as { envelope: Envelope }).envelope);
    const actual = fieldsOf(mine.envelope);
    // The log computes a missing digest lazily from the payload; a live envelope may not have needed it yet.
    if (expected.digest === undefined) delete actual.digest;
    if (expected.digest === undefined) delete expected.digest;
    t.deepEqual(actual, expected, `seq ${i} (${mine.ev})`);
    t.is((mine as { msg: string }).msg, (theirs as { msg: string }).msg);
    t.is((mine as { cause: string | null }).cause, (theirs as { cause: string | null }).cause);
  }
  t.true(['sent', 'delivered', 'duplicated', 'reordered', 'delayed'].every((k) => seen.has(k)), `message events seen: ${[...seen]}`);
  // The kinds of names the table keeps as strings rather than send seqs were all exercised.
  const sent = logged.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent');
  t.true(sent.some((e) => e.cause?.startsWith('timer:')), 'a timer cause');
  t.true(sent.some((e) => e.from === 'carol' && e.envelope.inReplyTo !== undefined), 'a reply to a kept { id, from }');
  t.true(sent.some((e) => e.envelope.type === 'error' && e.envelope.inReplyTo !== undefined), 'an error reply');
  t.true(sent.some((e) => e.envelope.digest === 'given-digest'), 'a digest the sender gave');
  t.true(sent.some((e) => e.envelope.bytes === 0) && sent.some((e) => e.envelope.bytes === 12), 'sizes, zero included');
});

test('reading the log twice gives the same objects, and the text is the same as the streamed events', async (t) => {
  const { sim, live } = await busyRun(3);
  const first = sim.log.events;
  const again = sim.log.events;
  t.is(first, again);
  const sentAndDelivered = first.filter((e) => e.ev === 'sent' || e.ev === 'delivered') as Array<{ envelope: Envelope; msg: string; ev: string }>;
  const bySeq = new Map<number, Envelope>();
  for (const e of sentAndDelivered) {
    const known = bySeq.get(e.envelope.seq);
    if (known) t.is(e.envelope, known, `the ${e.ev} of ${e.msg} shares its envelope with the sent event`);
    else bySeq.set(e.envelope.seq, e.envelope);
  }
  const { eventLine } = await import('../src/runtime/index.js');
  t.deepEqual(sim.log.eventLines(), live.map(eventLine));
});

test('same seed, same compact log: two runs give byte-identical JSONL', async (t) => {
  const [a, b] = [await busyRun(11), await busyRun(11)];
  t.is(a.sim.log.sha256(), b.sim.log.sha256());
  t.not(a.sim.log.sha256(), (await busyRun(12)).sim.log.sha256());
});

test('number rows span chunks and refuse rows that do not exist', (t) => {
  const rows = new NumberRows(3);
  const n = 40_000; // more than two chunks
  for (let r = 0; r < n; r++) {
    const at = rows.addRow();
    rows.chunk[at] = r;
    rows.chunk[at + 1] = r * 0.5;
    rows.chunk[at + 2] = -r;
  }
  t.is(rows.length, n);
  for (const r of [0, 1, 16_383, 16_384, 32_767, 32_768, n - 1]) t.deepEqual([rows.get(r, 0), rows.get(r, 1), rows.get(r, 2)], [r, r * 0.5, -r]);
  t.throws(() => rows.get(n, 0), { instanceOf: RangeError, message: /row 40000 out of range 0\.\.39999/ });
  t.throws(() => rows.get(-1, 0), { instanceOf: RangeError });
});

test('message event lines are written directly, and are exactly what JSON.stringify gives for the ordered event', async (t) => {
  const { eventLine } = await import('../src/runtime/index.js');
  /** The reference: the object the canonical format describes, key by key, then JSON.stringify. */
  const reference = (e: any) => {
    const line: Record<string, unknown> = { seq: e.seq, t: e.t, ev: e.ev, msg: e.msg, from: e.from, to: e.to, type: e.type, digest: e.envelope.digest, cause: e.cause };
    if (e.envelope.inReplyTo !== undefined) line.re = e.envelope.inReplyTo;
    if (e.envelope.duplicate) line.copy = 1;
    if (e.ev === 'sent' || e.ev === 'duplicated') line.deliverAt = e.deliverAt;
    if (e.ev === 'duplicated') line.after = e.after;
    if (e.ev === 'sent' && e.envelope.bytes !== undefined) line.bytes = e.envelope.bytes;
    if (e.ev === 'dropped') line.reason = e.reason;
    if (e.ev === 'delayed') line.by = e.by;
    return JSON.stringify(line);
  };
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const number = fc.oneof(fc.double(), fc.integer(), fc.constant(-0));
  const event = fc.record({
    seq: fc.nat(),
    t: number,
    ev: fc.constantFrom('sent', 'delivered', 'dropped', 'duplicated', 'delayed', 'reordered'),
    msg: text,
    from: text,
    to: text,
    type: text,
    cause: fc.option(text, { nil: null }),
    deliverAt: number,
    after: number,
    by: number,
    reason: fc.constantFrom('fault', 'crashed', 'partition', 'unknown-actor'),
    envelope: fc.record({
      digest: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }),
      inReplyTo: fc.option(text, { nil: undefined }),
      duplicate: fc.option(fc.constant(true), { nil: undefined }),
      bytes: fc.option(fc.nat(), { nil: undefined }),
    }),
  });
  fc.assert(
    fc.property(event, (e) => {
      const line = eventLine(e as unknown as SimEvent);
      return line === reference(e) && JSON.parse(line).seq === e.seq;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('bus$ carries every envelope the scheduler takes, in send order, fault-plan copies included', async (t) => {
  const sim = new SimulationCore({ seed: 5, faults: { duplicate: 0.3, drop: 0.1 } });
  const onBus: Envelope[] = [];
  sim.bus$.subscribe((e) => onBus.push(e));
  sim.spawn(echoMachine, 'bob');
  for (let n = 0; n < 30; n++) sim.send('bob', 'ping', { n });
  await sim.settle();
  const events = sim.log.events;
  const published = events.filter((e) => (e.ev === 'sent' && !events.some((d) => d.ev === 'dropped' && d.msg === e.msg && d.reason === 'fault')) || e.ev === 'duplicated');
  t.deepEqual(
    onBus.map((e) => [e.id, e.duplicate === true]),
    published.map((e) => [(e as { msg: string }).msg, e.ev === 'duplicated']),
  );
  t.true(onBus.some((e) => e.duplicate) && onBus.length < events.filter((e) => e.ev === 'sent').length + onBus.filter((e) => e.duplicate).length, 'copies were published and drops were not');
  t.deepEqual(onBus.map((e) => e.seq), [...onBus.map((e) => e.seq)].sort((a, b) => a - b));
});
