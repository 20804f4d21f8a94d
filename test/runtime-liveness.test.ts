/**
 * A run that cannot make progress says who waits for what: every DeadlockError and
 * LivelockError carries the simulation's liveness report (the driver's unanswered
 * requests, each actor's state, crashed actors, messages in flight, timers, recent
 * losses), in its fields and in its message.
 */
import test from 'ava';
import { assign, fromTransition, setup } from 'xstate';
import { type ActorIO, type ActorMessage, DeadlockError, LivelockError, SimulationCore, formatLivenessReport } from '../src/runtime/index.js';
import { echoMachine } from './helpers/actors.js';

/** Waits for a 'go', then asks `peer` for a 'part' and waits for it: a two-step protocol that can stall. */
const collector = setup({
  types: {} as { context: { io: ActorIO; peer: string; request: ActorMessage['envelope'] | null }; input: { io: ActorIO; peer: string }; events: ActorMessage },
}).createMachine({
  id: 'collector',
  initial: 'idle',
  context: ({ input }) => ({ io: input.io, peer: input.peer, request: null }),
  states: {
    idle: {
      on: {
        go: { target: 'waitingForPart', actions: [assign({ request: ({ event }) => event.envelope }), ({ context }) => context.io.send(context.peer, 'part', {})] },
      },
    },
    waitingForPart: { on: { part: { target: 'idle', actions: ({ context }) => context.io.reply(context.request!, 'done', {}) } } },
  },
});

test('a deadlock names the unanswered request, each actor state, the crashed actor and the message it lost', async (t) => {
  const sim = new SimulationCore({ seed: 1, faults: { crashes: [{ actor: 'store', at: 0.5 }] } });
  sim.spawn(collector, 'collector', { input: { peer: 'store' } });
  sim.spawn(echoMachine, 'store');
  for (const id of ['idle-1', 'idle-2', 'idle-3', 'idle-4', 'idle-5']) sim.spawn(echoMachine, id);
  const error = await t.throwsAsync(sim.request('collector', 'go', {}), { instanceOf: DeadlockError });
  const report = error!.report!;

  t.deepEqual(report.driver.awaiting, ["the reply to 'go' (me:0) from 'collector'"]);
  const byId = Object.fromEntries(report.actors.map((a) => [a.id, a]));
  t.is(byId.collector.state, 'waitingForPart');
  t.true(byId.store.crashed);
  t.is(byId.store.crashedAt, 0.5);
  t.is(report.inFlight.count, 0);
  t.is(report.timers.count, 0);
  t.deepEqual(
    report.lost.map((m) => [m.msg, m.type, m.from, m.to, m.reason]),
    [['collector:0', 'part', 'collector', 'store', 'crashed']],
  );
  // The message carries the same picture, with actors in the same situation on one line.
  t.regex(error!.message, /Liveness report at virtual time/);
  t.regex(error!.message, /store: CRASHED at 0\.5 ms and no restart is scheduled/);
  t.regex(error!.message, /collector: in state waitingForPart/);
  t.regex(error!.message, /idle-1, idle-2, … idle-5 \(5 actors\): in state active, no timer set/);
  t.regex(error!.message, /collector:0 'part' collector→store at 2 ms: crashed/);
  t.regex(error!.message, /me \(scenario code\) has 1 unanswered request: the reply to 'go'/);
});

test('a deadlock with nothing lost says so: no crash, no loss, one actor idle in the wrong state', async (t) => {
  const silent = fromTransition((s: object) => s, {});
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(silent, 'void');
  const error = await t.throwsAsync(sim.request('void', 'hello', {}), { instanceOf: DeadlockError });
  t.deepEqual(error!.report!.lost, []);
  t.false(error!.report!.actors.some((a) => a.crashed));
  t.notRegex(error!.message, /CRASHED|messages lost/);
});

test('a livelock report lists the messages still in flight and the timers set', async (t) => {
  // Two actors that answer every 'ball' with a 'ball': the run never becomes quiet.
  const player = fromTransition(
    (state: { io: ActorIO; peer: string }, event: ActorMessage) => {
      if (event.type === 'ball' || event.type === 'serve') state.io.send(state.peer, 'ball', {});
      return state;
    },
    ({ input }: { input: { io: ActorIO; peer: string } }) => ({ io: input.io, peer: input.peer }),
  );
  const sim = new SimulationCore({ seed: 1, maxSteps: 50 });
  sim.spawn(player, 'ping', { input: { peer: 'pong' } });
  sim.spawn(player, 'pong', { input: { peer: 'ping' } });
  sim.send('ping', 'serve', {});
  const error = await t.throwsAsync(sim.settle(), { instanceOf: LivelockError });
  const report = error!.report!;
  t.is(report.inFlight.count, 1);
  t.deepEqual(
    report.inFlight.first.map((m) => [m.type, m.from, m.to]),
    [['ball', report.inFlight.first[0].from, report.inFlight.first[0].to]],
  );
  t.regex(error!.message, /messages in flight: 1\n\s+\S+ 'ball' (ping→pong|pong→ping), due at/);
});

test('the report of a large run stays short: in-flight messages beyond the first few are counted, not listed', (t) => {
  const text = formatLivenessReport({
    time: 3,
    driver: { id: 'me', awaiting: [] },
    actors: [],
    inFlight: { count: 100, first: Array.from({ length: 8 }, (_, i) => ({ msg: `a:${i}`, type: 'x', from: 'a', to: 'b', t: 4 })) },
    timers: { count: 2, nextDueAt: 7 },
    lost: [],
  });
  t.regex(text, /messages in flight: 100/);
  t.regex(text, /… and 92 more/);
  t.regex(text, /timers set: 2, the next due at 7 ms/);
  t.regex(text, /\(no actors were spawned\)/);
  t.true(text.split('\n').length < 16);
});
