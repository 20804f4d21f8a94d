/**
 * Timers and time in the replay of a recording (SimulationOptions.follow, what `fedsim replay`
 * does with a live recording): an actor's timer fires where the recording fired it, the clock
 * reads the recorded time at every step, a timer the recording never fired does not fire, and
 * a timer fired in one run and not in the other is a divergence at the recorded event where
 * the runs part. A simulated run stands for the live one here: its log is a recording like
 * any other (times, steps, one process), so every case is exact and cheap.
 */
import test from 'ava';
import { setup } from 'xstate';
import { type ActorIO, type ActorMessage, DivergenceError, parseLog, type RecordedEvent, type RecordedLog, SimulationCore } from '../src/runtime/index.js';
import { echoMachine } from './helpers/actors.js';

type TickerContext = { io: ActorIO; ticks: number; delay: number };

/**
 * On 'go', sends 'tick' { n, at } to me every `delay` ms, three times, then rests. Every tick
 * also sets a 1000 ms give-up timer that the next tick cancels (it never fires); resting
 * sends 'late' to me after 5000 ms.
 */
const ticker = setup({
  types: {} as { context: TickerContext; input: { io: ActorIO; delay: number }; events: ActorMessage },
  delays: { tick: ({ context }) => context.delay },
  actions: {
    tick: ({ context }) => {
      context.ticks++;
      context.io.send('me', 'tick', { n: context.ticks, at: context.io.now() });
    },
  },
}).createMachine({
  context: ({ input }) => ({ io: input.io, ticks: 0, delay: input.delay }),
  initial: 'idle',
  states: {
    idle: { on: { go: 'ticking' } },
    ticking: {
      after: {
        tick: [{ guard: ({ context }) => context.ticks < 2, target: 'ticking', reenter: true, actions: 'tick' }, { target: 'resting', actions: 'tick' }],
        1000: { target: 'resting' },
      },
    },
    resting: { after: { 5000: { actions: ({ context }) => context.io.send('me', 'late', {}) } } },
  },
});

/** The run: the ticker ticks while the driver pings an echo actor every 10 ms. */
async function play(sim: SimulationCore, delay: number): Promise<Array<{ n: number; at: number }>> {
  const ticks: Array<{ n: number; at: number }> = [];
  sim.driver.unsolicited$.subscribe((envelope) => envelope.type === 'tick' && ticks.push(envelope.payload as { n: number; at: number }));
  sim.spawn(echoMachine, 'echo');
  sim.spawn(ticker, 'ticker', { input: { delay } });
  sim.send('ticker', 'go', {});
  for (let n = 0; n < 8; n++) {
    await sim.runFor(10);
    await sim.request('echo', 'ping', { n });
  }
  await sim.settle();
  return ticks;
}

/** A recording of the run with ticks every 25 ms (latency 0.5 ms: times that are not whole). */
async function record(): Promise<RecordedLog> {
  const sim = new SimulationCore({ seed: 3, latency: 0.5 });
  await play(sim, 25);
  return parseLog(sim.log.toJSONL(), 'recording');
}

async function follow(log: RecordedLog, delay: number) {
  const sim = new SimulationCore({ seed: 3, follow: log });
  let error: unknown;
  let ticks: Array<{ n: number; at: number }> = [];
  try {
    ticks = await play(sim, delay);
    sim.close();
  } catch (caught) {
    error = caught;
  }
  return { sim, error, ticks };
}

const timerSeqs = (log: RecordedLog) => log.events.filter((e) => e.ev === 'timer').map((e) => e.seq);

test('the replay fires each timer where the recording did, at the recorded time, and times read from the clock are the recorded ones', async (t) => {
  const log = await record();
  t.is(timerSeqs(log).length, 4, 'three ticks and the late message');
  const { sim, error, ticks } = await follow(log, 25);
  t.is(error, undefined, String(error));
  t.deepEqual(ticks.map((tick) => tick.at), [25.5, 50.5, 75.5], 'go arrives at 0.5 ms, then a tick every 25 ms');
  // Every step (delivery, timer) at its recorded time; the give-up timers (cancelled) never fire.
  const steps = (events: ReadonlyArray<{ ev: string; t: number }>) => events.filter((e) => e.ev === 'delivered' || e.ev === 'timer').map((e) => `${e.ev}@${e.t}`);
  t.deepEqual(steps(sim.log.events), steps(log.events));
});

test('replaying one recording twice gives the same log, byte for byte', async (t) => {
  const log = await record();
  const first = await follow(log, 25);
  const second = await follow(log, 25);
  t.is(first.error, undefined);
  t.is(first.sim.log.toJSONL(), second.sim.log.toJSONL());
});

test('a timer set in the recording that never fired (the run ended first) does not fire in the replay', async (t) => {
  const full = await record();
  const late = full.events.find((e) => e.ev === 'timer' && e.seq === timerSeqs(full).at(-1))!;
  // The recording of a run that ended before the resting timer fell due: everything from that firing on is cut.
  const cut = parseLog([JSON.stringify(full.header), ...full.lines.slice(0, late.seq)].join('\n') + '\n', 'cut recording');
  const { sim, error } = await follow(cut, 25);
  t.is(error, undefined, String(error));
  t.false(sim.log.events.some((e) => e.ev === 'sent' && (e as { type?: string }).type === 'late'));
  t.is(sim.clock.timersOf('ticker').length, 1, 'the resting timer is still set, unfired');
});

test('a timer that fired live but would fire later in the replay is a divergence at the recorded firing', async (t) => {
  const log = await record();
  const { error } = await follow(log, 40);
  t.true(error instanceof DivergenceError, String(error));
  const divergence = (error as DivergenceError).divergence;
  t.is(divergence.seq, timerSeqs(log)[0]);
  t.regex(divergence.actual!, /the recording fires a timer of ticker here, at 25.5 ms; in the replay ticker's next timer \(#\d+\) is due later, at 40.5 ms/);
  t.regex((error as Error).message, /diverged at seq \d+/);
});

test('a timer that would fire in the replay before a recorded step it did not precede live is a divergence at that step', async (t) => {
  const log = await record();
  const { error } = await follow(log, 15);
  t.true(error instanceof DivergenceError, String(error));
  const divergence = (error as DivergenceError).divergence;
  // The first step recorded after 15.5 ms (when the replay's first tick falls due): a ping of the driver's.
  const firstAfter = log.events.find((e) => (e.ev === 'delivered' || e.ev === 'timer') && e.t >= 15.5)!;
  t.is(divergence.seq, firstAfter.seq);
  t.regex(divergence.actual!, /timer #\d+ of ticker, due at 15.5 ms, fires here in the replay: it is due before the recorded delivery of me:\d+ at [\d.]+ ms/);
});

test('a recorded firing with no timer of that actor pending is a divergence naming the actor', async (t) => {
  const log = await record();
  // The recording says the echo actor's timer fired: echo never sets one.
  const first = timerSeqs(log)[0];
  const edited = log.lines.map((line, seq) => (seq === first ? line.replace('"actor":"ticker"', '"actor":"echo"') : line));
  const { error } = await follow(parseLog([JSON.stringify(log.header), ...edited].join('\n') + '\n', 'edited'), 25);
  t.true(error instanceof DivergenceError, String(error));
  t.is((error as DivergenceError).divergence.seq, first);
  t.regex((error as DivergenceError).divergence.actual!, /the recording fires a timer of echo here, at 25.5 ms; in the replay echo has no timer pending/);
});

test('an await that cannot go on while the recording took more steps is a divergence naming the message the replay has not sent', async (t) => {
  // Recorded: two pings sent at once. Replayed: the second is sent only once the first is answered.
  const recorded = new SimulationCore({ seed: 3 });
  recorded.spawn(echoMachine, 'echo');
  await Promise.all([recorded.request('echo', 'ping', { n: 1 }), recorded.request('echo', 'ping', { n: 2 })]);
  const log = parseLog(recorded.log.toJSONL(), 'recording');
  const sim = new SimulationCore({ seed: 3, follow: log });
  sim.spawn(echoMachine, 'echo');
  const error = await t.throwsAsync(async () => {
    await sim.request('echo', 'ping', { n: 1 });
    await sim.request('echo', 'ping', { n: 2 });
  });
  t.true(error instanceof DivergenceError, String(error));
  const secondDelivered = log.events.find((e) => e.ev === 'delivered' && e.msg === 'me:1')!;
  t.is((error as DivergenceError).divergence.seq, secondDelivered.seq);
  t.regex((error as DivergenceError).divergence.actual!, /the replay waits for the reply to 'ping' \(me:0\) from 'echo', but the recording's next step delivers me:1, which the replay has not sent/);
});

/**
 * A recording whose process numbered its timers differently from the replay: before the run
 * it set (and cancelled) a timer of its own that the replay never sets — as a live process
 * does with a partition's timers, or any timer of its runtime — so every recorded timer id
 * is one more than the replay's for the same firing.
 */
async function recordWithOffsetTimerIds(): Promise<RecordedLog> {
  const sim = new SimulationCore({ seed: 3, latency: 0.5 });
  sim.clock.clearTimeout(sim.clock.setTimeout(() => {}, 1));
  await play(sim, 25);
  return parseLog(sim.log.toJSONL(), 'recording');
}

const tickSends = (events: ReadonlyArray<{ ev: string; type?: unknown; cause?: unknown }>) => events.filter((e) => e.ev === 'sent' && e.type === 'tick');

/** The recording with the cause of its `index`-th tick send replaced by `cause`. */
function withTickCause(log: RecordedLog, index: number, cause: string): { log: RecordedLog; seq: number } {
  const seq = (tickSends(log.events)[index] as RecordedEvent).seq;
  const edited = log.lines.map((line, at) => (at === seq ? line.replace(/"cause":"timer:\d+"/, `"cause":"${cause}"`) : line));
  return { log: parseLog([JSON.stringify(log.header), ...edited].join('\n') + '\n', 'edited'), seq };
}

test('a cause naming a timer is compared through the firing it stands for: a recording whose timer ids are offset from the replay\'s replays', async (t) => {
  const log = await recordWithOffsetTimerIds();
  const { sim, error } = await follow(log, 25);
  t.is(error, undefined, String(error));
  // The ids differ indeed: each tick names the recorded timer that fired, one more than the replay's.
  const causeIds = (events: ReadonlyArray<{ ev: string; type?: unknown; cause?: unknown }>) => tickSends(events).map((e) => Number(String(e.cause).replace('timer:', '')));
  t.is(causeIds(log.events).length, 3);
  t.deepEqual(causeIds(log.events), causeIds(sim.log.events as never).map((id) => id + 1));
  // Replaying it twice gives the same log.
  const again = await follow(log, 25);
  t.is(again.sim.log.toJSONL(), sim.log.toJSONL());
});

test('a message caused by another timer firing than the recorded one is still a divergence, naming both firings', async (t) => {
  const log = await recordWithOffsetTimerIds();
  const [first] = tickSends(log.events);
  // The second tick, recorded as caused by the first tick's timer.
  const { log: edited, seq } = withTickCause(log, 1, String(first.cause));
  const { error } = await follow(edited, 25);
  t.true(error instanceof DivergenceError, String(error));
  const divergence = (error as DivergenceError).divergence;
  t.is(divergence.seq, seq);
  const firstFiring = timerSeqs(log)[0];
  t.regex(divergence.actual!, new RegExp(`the replay's cause, timer:\\d+, is its firing of the timer the recording fired at seq ${timerSeqs(log)[1]} .*; the recording's, ${first.cause}, is its firing at seq ${firstFiring}\\)`));
});

test('a recorded cause naming a timer that no replayed firing stands for is a divergence saying so', async (t) => {
  const log = await recordWithOffsetTimerIds();
  const { log: edited, seq } = withTickCause(log, 0, 'timer:999');
  const { error } = await follow(edited, 25);
  t.true(error instanceof DivergenceError, String(error));
  t.is((error as DivergenceError).divergence.seq, seq);
  t.regex((error as DivergenceError).divergence.actual!, /the recording's, timer:999, names a firing the replay has not reproduced/);
});

/**
 * The recording as two processes would have made it: the ticker in one, the driver and the
 * echo actor in the other. Each process records what happens there — a send where the sender
 * is, a delivery where the receiver is, a firing where its actor is — so a tick's delivery is
 * recorded where its cause (the ticker's timer) was not.
 */
function asTwoProcesses(log: RecordedLog): RecordedLog {
  const hostOf = (actor: unknown) => (actor === 'ticker' ? 'ticker-process' : 'driver');
  const header = { ...log.header, hosts: [{ host: 'driver', actors: ['me', 'echo'] }, { host: 'ticker-process', actors: ['ticker'] }] };
  const lines = log.events.map((event) => {
    const recorder = event.ev === 'sent' || event.ev === 'duplicated' ? event.from : event.ev === 'timer' ? event.actor : event.to;
    return JSON.stringify({ ...event, host: hostOf(recorder) });
  });
  return parseLog([JSON.stringify(header), ...lines].join('\n') + '\n', 'two-process recording');
}

test('a delivery recorded by the receiving process compares its timer cause in the sender\'s process (where the timer fired)', async (t) => {
  const log = asTwoProcesses(await recordWithOffsetTimerIds());
  const tickDeliveries = log.events.filter((e) => e.ev === 'delivered' && e.type === 'tick');
  t.is(tickDeliveries.length, 3);
  t.true(tickDeliveries.every((e) => e.host === 'driver' && /^timer:\d+$/.test(String(e.cause))), 'recorded where the cause did not fire');
  const { error } = await follow(log, 25);
  t.is(error, undefined, String(error));
});
