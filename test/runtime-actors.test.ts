import test from 'ava';
import { assign, fromTransition, setup } from 'xstate';
import {
  type ActorIO,
  type ActorMessage,
  createStream,
  DeadlockError,
  DuplicateActorError,
  ReentrancyError,
  RemoteError,
  SimulationCore,
  UnknownActorError,
} from '../src/runtime/index.js';
import { echoMachine, tickerMachine } from './helpers/actors.js';

test('request/reply correlate by id, including concurrent awaits', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(echoMachine, 'bob');
  sim.spawn(echoMachine, 'alice');
  const replies = await Promise.all([sim.request('bob', 'ping', { n: 1 }), sim.request('alice', 'ping', { n: 10 }), sim.request('bob', 'ping', { n: 100 })]);
  t.deepEqual(replies, [{ n: 2 }, { n: 11 }, { n: 101 }]);
});

test('a handler exception becomes an error reply and event; the actor state and outbox are as before', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(echoMachine, 'bob');
  for (let i = 0; i < 3; i++) await sim.request('bob', 'ping', { n: i });
  const error = await t.throwsAsync(sim.request('bob', 'boom', {}), { instanceOf: RemoteError });
  t.is(error!.actor, 'bob');
  t.is(error!.remoteName, 'Error');
  t.regex(error!.message, /bob failed: Error: kaboom/);
  t.deepEqual(await sim.request('bob', 'count', {}), { pings: 3 }, 'the assign before the throw was rolled back');
  t.false(sim.log.events.some((e) => e.ev === 'sent' && (e as any).type === 'leak'), 'messages sent before the throw were discarded');
  const errorEvent = sim.log.events.find((e) => e.ev === 'error')!;
  t.like(errorEvent, { actor: 'bob', error: 'Error', message: 'kaboom' });
  t.deepEqual(await sim.request('bob', 'ping', { n: 7 }), { n: 8 }, 'the actor keeps serving');
});

test('a rollback re-arms the pending timers at their original due times', async (t) => {
  const machine = setup({ types: {} as { context: { io: ActorIO; fired: number }; input: { io: ActorIO }; events: ActorMessage } }).createMachine({
    context: ({ input }) => ({ io: input.io, fired: 0 }),
    initial: 'waiting',
    states: {
      waiting: { after: { 100: { target: 'fired', actions: assign({ fired: ({ context }) => context.fired + 1 }) } } },
      fired: {},
    },
    on: {
      boom: { actions: () => { throw new Error('bad input'); } },
      state: { actions: ({ context, event, self }) => context.io.reply(event.envelope, 'state', { fired: context.fired, value: self.getSnapshot().value }) },
    },
  });
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(machine, 'timed');
  await t.throwsAsync(sim.request('timed', 'boom', {}), { instanceOf: RemoteError });
  t.is(sim.now(), 2);
  await sim.runFor(96); // t = 98; the query arrives at 99: not yet
  t.deepEqual(await sim.request('timed', 'state', {}), { fired: 0, value: 'waiting' });
  const timer = sim.log.events.find((e) => e.ev === 'timer')!;
  t.is(timer.t, 100, 'the timer fired at its original due time');
  t.deepEqual(await sim.request('timed', 'state', {}), { fired: 1, value: 'fired' });
});

test('24 hours of virtual timers complete, on virtual time only', async (t) => {
  const sim = new SimulationCore({ seed: 1, keepLog: false });
  sim.spawn(tickerMachine, 'seconds', { input: { max: 86_400, period: 1000 } });
  sim.spawn(tickerMachine, 'minutes', { input: { max: 1_440, period: 60_000 } });
  await sim.settle();
  t.is(sim.now(), 86_400_000);
  t.deepEqual(await sim.request('seconds', 'ticks', {}), { count: 86_400 });
  t.deepEqual(await sim.request('minutes', 'ticks', {}), { count: 1_440 });
});

test('awaiting a reply that can never come throws a DeadlockError naming the request', async (t) => {
  const silent = fromTransition((s: object) => s, {});
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(silent, 'void');
  const error = await t.throwsAsync(sim.request('void', 'hello', {}), { instanceOf: DeadlockError });
  t.regex(error!.message, /waiting for the reply to 'hello' \(me:0\) from 'void'/);
});

test('a request timeout rejects on virtual time', async (t) => {
  const silent = fromTransition((s: object) => s, {});
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(silent, 'void');
  await t.throwsAsync(sim.request('void', 'hello', {}, { timeout: 250 }), { name: 'RequestTimeoutError' });
  t.is(sim.now(), 250);
});

test('misuse of the API gets clear errors', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(echoMachine, 'bob');
  t.throws(() => sim.spawn(echoMachine, 'bob'), { instanceOf: DuplicateActorError, message: /'bob' already exists/ });
  t.throws(() => sim.spawn(echoMachine, 'me'), { instanceOf: DuplicateActorError });
  t.throws(() => sim.spawn(echoMachine, 'has space'), { message: /without spaces/ });
  t.throws(() => sim.send('bobb', 'ping', {}), { instanceOf: UnknownActorError, message: /no actor 'bobb'.*Known actors: bob/ });
  t.throws(() => sim.actor('carol'), { instanceOf: UnknownActorError });
  t.throws(() => new SimulationCore({ latency: -1 }), { message: /latency must be ≥ 0/ });
});

test('stepping from inside an events$ subscriber is refused as reentrancy', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(echoMachine, 'bob');
  let seen: unknown;
  const subscription = sim.delivered$.subscribe(() => {
    try {
      sim.step();
    } catch (error) {
      seen = error;
    }
  });
  await sim.request('bob', 'ping', { n: 1 });
  subscription.unsubscribe();
  t.true(seen instanceof ReentrancyError);
});

test('the cost model: a busy actor replies later and takes nothing meanwhile', async (t) => {
  const worker = fromTransition(
    (state: { io: ActorIO }, event: ActorMessage) => {
      if (event.type === 'train') {
        state.io.busy(500);
        state.io.reply(event.envelope, 'trained', { at: state.io.now() });
      }
      if (event.type === 'ping') state.io.reply(event.envelope, 'pong', { at: state.io.now() });
      return state;
    },
    ({ input }: { input: { io: ActorIO } }) => ({ io: input.io }),
  );
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(worker, 'w');
  const trained = sim.request('w', 'train', {});
  const pinged = sim.request('w', 'ping', {});
  t.deepEqual(await trained, { at: 1 });
  t.is(sim.now(), 502, 'the reply left when the work was done (1 + 500) and took 1 ms');
  t.deepEqual(await pinged, { at: 501 }, 'the ping waited until the actor was free');
});

test('named random streams are independent: adding a stream never changes another', (t) => {
  const a1 = createStream(42, 'actor/bob/shuffle');
  const drawsAlone = [a1.next(), a1.next(), a1.next()];
  const sim = new SimulationCore({ seed: 42 });
  sim.rng('scheduler').next();
  sim.rng('model/init').next();
  const bob = sim.rng('actor/bob/shuffle');
  t.deepEqual([bob.next(), bob.next(), bob.next()], drawsAlone);
  t.not(createStream(42, 'a').next(), createStream(42, 'b').next());
  t.not(createStream(1, 'a').next(), createStream(2, 'a').next());
  t.is(sim.rng('x'), sim.rng('x'), 'same name, same stream object');
});

test('events$ views and marks: logging, metrics and displays are plain subscribers', async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  const kinds: string[] = [];
  let sent = 0;
  sim.events$.subscribe((e) => kinds.push(e.ev));
  sim.sent$.subscribe(() => sent++);
  sim.spawn(echoMachine, 'bob');
  await sim.request('bob', 'ping', { n: 1 });
  sim.mark('round done', { round: 1 });
  t.deepEqual(kinds, ['spawned', 'sent', 'delivered', 'sent', 'delivered', 'mark']);
  t.is(sent, 2);
  t.regex(sim.log.eventLines().at(-1)!, /"ev":"mark","label":"round done","data":\{"round":1\}/);
});

test('unsolicited messages to me reach unsolicited$', async (t) => {
  const pusher = fromTransition(
    (state: { io: ActorIO }, event: ActorMessage) => {
      if (event.type === 'start') state.io.send('me', 'notice', { hello: true });
      return state;
    },
    ({ input }: { input: { io: ActorIO } }) => ({ io: input.io }),
  );
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(pusher, 'p');
  const notices: unknown[] = [];
  sim.driver.unsolicited$.subscribe((e) => notices.push(e.payload));
  sim.send('p', 'start', {});
  await sim.settle();
  t.deepEqual(notices, [{ hello: true }]);
});

test("a message typed 'xstate.*' is refused, not handed to xstate (which would stop the actor)", async (t) => {
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(echoMachine, 'bob');
  const error = await t.throwsAsync(sim.request('bob', 'xstate.stop', {}), { instanceOf: RemoteError });
  t.is(error!.remoteName, 'ReservedMessageTypeError');
  t.regex(error!.remoteMessage, /types starting with 'xstate\.' are reserved/);
  t.deepEqual(await sim.request('bob', 'ping', { n: 1 }), { n: 2 }, 'bob still serves');
});
