/**
 * Processes' clocks disagree a little. Merging their recordings keeps the log's time
 * non-decreasing by lifting an event recorded on a clock that was behind; the event keeps
 * what its process's clock read (`localT`), and the replay's clock reads that, so an actor
 * that puts clock readings in its messages replays without divergence.
 */
import test from 'ava';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, parseLog } from '../src/runtime/index.js';
import { mergeRecordings } from '../src/runtime/transport/recording/merge-recordings.js';
import { defineScenario, runScenario, type Sim } from '../src/scenario/index.js';
import { ready } from './helpers/pointers.js';
import { loopbackPair } from './helpers/loopback-transport.js';

test.before(ready);

/** On 'go' from me, asks worker bob for its objects; once bob answers, answers me with the time it read then. */
const clockReader = fromTransition(
  (state: { io: ActorIO; asked: Envelope | null }, event: ActorMessage) => {
    if (event.type === 'go') {
      state.io.send('bob', 'search', { query: [] });
      return { ...state, asked: event.envelope };
    }
    if (event.type === 'reply' && state.asked !== null) {
      state.io.reply(state.asked, 'time', { at: state.io.now() });
      return { ...state, asked: null };
    }
    return state;
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io, asked: null }),
);

const readings = defineScenario({
  name: 'clock-readings',
  async run(sim: Sim) {
    sim.worker('bob');
    sim.spawn(clockReader, 'reader');
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(((await sim.request('reader', 'go', {})) as { at: number }).at);
    return times;
  },
});

test.serial('a step whose recorded time the merge lifted (its process clock was behind) replays at the time its process read', async (t) => {
  const { driver, peerCore } = loopbackPair(50);
  driver.local.add('reader'); // the peer sends bob's answers to the reader through the transport
  const live = await runScenario(readings, { seed: 1, transport: driver });
  t.is(live.error, undefined, String(live.error));
  const text = mergeRecordings({ ...live.sim.log.header, transport: 'loopback' }, [
    { host: 'driver', lines: live.sim.log.eventLines() },
    { host: 'peer', lines: peerCore.log.eventLines() },
  ]);
  const log = parseLog(text, 'loopback recording');
  const answers = log.events.filter((e) => e.ev === 'delivered' && e.to === 'reader' && e.type === 'reply');
  t.is(answers.length, 3);
  t.true(
    answers.every((e) => typeof e.localT === 'number' && e.localT < e.t),
    "each of bob's answers reached the reader on a clock 50 ms behind bob's: the merge lifted its time",
  );
  const replay = await runScenario(readings, { seed: 1, follow: log });
  t.is(replay.error, undefined, String(replay.error));
  t.deepEqual(replay.result, live.result, 'the reader read the same times');
  t.deepEqual(live.result, answers.map((e) => e.localT));
});
