import test from 'ava';
import { fromTransition } from 'xstate';
import { type ActorIO, FaultPlanError, parseFaultPlan, SimulationCore } from '../src/runtime/index.js';
import { echoMachine } from './helpers/actors.js';

/** Counts what it receives, nothing else (cheap enough for 10,000 messages). */
const counter = fromTransition(
  (state: { io: ActorIO; n: number }, event: { type: string; envelope: any }) => {
    if (event.type === 'count') state.io.reply(event.envelope, 'count', state.n);
    return event.type === 'item' ? { ...state, n: state.n + 1 } : state;
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io, n: 0 }),
);

/** Half-width of a 99% normal-approximation binomial interval. */
const bound99 = (p: number, n: number) => 2.576 * Math.sqrt((p * (1 - p)) / n);

test('observed drop and duplicate rates over 10,000 messages fall inside a 99% binomial bound', async (t) => {
  const drop = 0.1;
  const duplicate = 0.05;
  const sim = new SimulationCore({ seed: 1234, faults: { links: [{ from: 'me', to: 'sink', drop, duplicate }] } });
  sim.spawn(counter, 'sink');
  const n = 10_000;
  for (let i = 0; i < n; i++) sim.send('sink', 'item', i);
  await sim.settle();
  const count = (ev: string) => sim.log.events.filter((e) => e.ev === ev && (e as any).type === 'item').length;
  const dropped = count('dropped');
  const duplicated = count('duplicated');
  t.is(count('sent'), n);
  t.true(Math.abs(dropped / n - drop) <= bound99(drop, n), `drop rate ${dropped / n}`);
  // Only messages that were not dropped can be duplicated.
  const kept = n - dropped;
  t.true(Math.abs(duplicated / kept - duplicate) <= bound99(duplicate, kept), `duplicate rate ${duplicated / kept}`);
  // Every message that was not dropped arrives, plus every duplicate.
  t.is(count('delivered'), kept + duplicated);
  t.is(await sim.request('sink', 'count', {}), kept + duplicated);
});

test('an all-zero plan injects nothing and draws nothing from the faults stream', async (t) => {
  const zero = { drop: 0, duplicate: 0, reorder: 0, delay: { rate: 0, dist: { kind: 'fixed' as const, ms: 5 } }, links: [{ from: '*', to: '*', drop: 0 }] };
  const run = async (faults?: object) => {
    const sim = new SimulationCore({ seed: 3, faults });
    sim.spawn(echoMachine, 'bob');
    for (let i = 0; i < 50; i++) sim.send('bob', 'ping', { n: i });
    await sim.settle();
    return sim;
  };
  const withZero = await run(zero);
  const without = await run();
  t.deepEqual(withZero.log.eventLines(), without.log.eventLines());
  t.false(withZero.log.events.some((e) => ['dropped', 'duplicated', 'delayed', 'reordered'].includes(e.ev)));
  t.is(withZero.rng('faults').next(), without.rng('faults').next(), 'the faults stream was not advanced');
});

test('link rules override the global rates field by field, matching globs', async (t) => {
  const sim = new SimulationCore({ seed: 9, faults: { drop: 1, links: [{ from: 'me', to: 'client-*', drop: 0 }] } });
  sim.spawn(counter, 'client-1');
  sim.spawn(counter, 'server');
  for (let i = 0; i < 20; i++) {
    sim.send('client-1', 'item', i);
    sim.send('server', 'item', i);
  }
  await sim.settle();
  const dropped = sim.log.events.filter((e) => e.ev === 'dropped');
  t.is(dropped.length, 20);
  t.true(dropped.every((e) => (e as any).to === 'server'));
});

test('delays move delivery later by the sampled amount; duplicates deliver twice', async (t) => {
  const sim = new SimulationCore({ seed: 2, faults: { delay: { rate: 1, dist: { kind: 'fixed', ms: 40 } }, duplicate: 1 } });
  sim.spawn(counter, 'sink');
  sim.send('sink', 'item', 1);
  await sim.settle();
  const delivered = sim.log.events.filter((e) => e.ev === 'delivered');
  t.deepEqual(delivered.map((e) => e.t), [41, 81]);
  t.true(sim.log.events.some((e) => e.ev === 'delayed' && (e as any).by === 40));
});

test('scripted faults hit exactly the named messages', async (t) => {
  const sim = new SimulationCore({ seed: 2, faults: { script: [{ msg: 'me:1', drop: true }, { msg: 'me:2', delay: 7 }] } });
  sim.spawn(counter, 'sink');
  for (let i = 0; i < 4; i++) sim.send('sink', 'item', i);
  await sim.settle();
  const dropped = sim.log.events.filter((e) => e.ev === 'dropped').map((e) => (e as any).msg);
  t.deepEqual(dropped, ['me:1']);
  const late = sim.log.events.find((e) => e.ev === 'delivered' && (e as any).msg === 'me:2')!;
  t.is(late.t, 8);
});

test('a crash at a virtual time drops what arrives; a restart keeps or loses state as asked', async (t) => {
  for (const loseState of [false, true]) {
    const sim = new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'bob', at: 10, restartAfter: 20, loseState }] } });
    sim.spawn(echoMachine, 'bob');
    for (let i = 0; i < 3; i++) await sim.request('bob', 'ping', { n: i }); // t = 6
    await sim.runFor(10); // t = 16: bob crashed at 10
    const lost = sim.request('bob', 'ping', { n: 99 }, { timeout: 5 });
    await t.throwsAsync(lost, { name: 'RequestTimeoutError', message: /Timed out: the reply to 'ping' \(me:3\) from 'bob' did not arrive within 5 virtual ms/ });
    t.true(sim.log.events.some((e) => e.ev === 'dropped' && (e as any).reason === 'crashed'));
    await sim.runFor(20); // restarted at 30
    const count = (await sim.request('bob', 'count', {})) as { pings: number };
    t.is(count.pings, loseState ? 0 : 3, `loseState=${loseState}`);
    const kinds = sim.log.events.map((e) => e.ev);
    t.true(kinds.includes('crashed') && kinds.includes('restarted'));
  }
});

test('a crash after N messages happens right after the Nth is handled', async (t) => {
  const sim = new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'bob', afterMessages: 2 }] } });
  sim.spawn(echoMachine, 'bob');
  await sim.request('bob', 'ping', { n: 1 });
  await sim.request('bob', 'ping', { n: 2 });
  const crashed = sim.log.events.find((e) => e.ev === 'crashed')!;
  t.is((crashed as any).actor, 'bob');
  await t.throwsAsync(sim.request('bob', 'ping', { n: 3 }), { name: 'DeadlockError' });
});

test('a partition drops messages between groups only while it lasts', async (t) => {
  const sim = new SimulationCore({ seed: 1, faults: { partitions: [{ groups: [['me'], ['bob']], from: 5, until: 50 }] } });
  sim.spawn(echoMachine, 'bob');
  t.deepEqual(await sim.request('bob', 'ping', { n: 1 }), { n: 2 });
  await sim.runFor(10);
  await t.throwsAsync(sim.request('bob', 'ping', { n: 2 }, { timeout: 10 }), { name: 'RequestTimeoutError' });
  await sim.runFor(50);
  t.deepEqual(await sim.request('bob', 'ping', { n: 3 }), { n: 4 });
  const kinds = sim.log.events.map((e) => e.ev);
  t.true(kinds.includes('partition-start') && kinds.includes('partition-end'));
  t.true(sim.log.events.some((e) => e.ev === 'dropped' && (e as any).reason === 'partition'));
});

test('invalid fault plans name the field and what is expected', (t) => {
  t.throws(() => parseFaultPlan({ drop: 1.5 }, 'plan.json'), { instanceOf: FaultPlanError, message: /plan.json is not a valid fault plan:\n {2}- at drop: a rate is a probability in \[0, 1\]/ });
  t.throws(() => parseFaultPlan({ dorp: 0.1 }), { message: /Unrecognized key.*dorp|dorp/ });
  t.throws(() => parseFaultPlan({ crashes: [{ actor: 'bob' }] }), { message: /at crashes\[0\]: a crash needs exactly one of `at` .*, found a mapping/ });
  t.throws(() => parseFaultPlan({ partitions: [{ groups: [['a'], ['b']], from: 10, until: 5 }] }), { message: /must end/ });
  t.throws(() => new SimulationCore({ faults: { delay: { rate: 0.5, dist: { kind: 'poisson' } } } as any }), { instanceOf: FaultPlanError });
});
