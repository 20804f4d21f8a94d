/**
 * The Host/Transport seam: the simulator is a Host (virtual time, pumping); a second live
 * transport written in one test file (helpers/loopback-transport.ts) runs the pointer
 * tutorial with nothing in the runtime or the pointer layer knowing it; per-process
 * recordings merge in causal order whatever the clocks say, and replay in the simulator.
 */
import test from 'ava';
import pointersBasics from '../scenarios/pointers-basics.js';
import { parseLog, SimulationCore } from '../src/runtime/index.js';
import type { Host } from '../src/runtime/transport/host.js';
import { mergeRecordings } from '../src/runtime/transport/recording/merge-recordings.js';
import { defineScenario, runScenario, type Sim } from '../src/scenario/index.js';
import { ready, simulation } from './helpers/pointers.js';
import { loopbackPair } from './helpers/loopback-transport.js';
import { replayInSimulator } from './helpers/live-worker.js';

test.before(ready);

const basics = defineScenario({ name: 'pointers-basics', run: (sim: Sim) => pointersBasics(sim) });

test('the in-process simulation is a Host: virtual time, its own actors, awaited replies pump the scheduler', async (t) => {
  const sim = simulation();
  const host: Host = sim;
  t.is(host.transportName, 'simulation');
  const bob = sim.worker('bob');
  t.true(host.isLocal('bob'));
  t.true(host.isLocal(host.driverId));
  t.deepEqual(host.localActorIds(), ['bob']);
  let fired = -1;
  host.setTimer(() => (fired = host.now()), 250);
  // Awaiting pumps: the reply arrives without any real I/O, at a virtual time.
  const listing = await bob.listObjects();
  t.is(listing.size, 0);
  t.is(fired, -1, 'the timer is not due yet in virtual time');
  await sim.settle();
  t.is(fired, 250);
});

test.serial('a transport in one file (loopback between two cores) runs the pointer tutorial live, and its recording replays in the simulator', async (t) => {
  const { driver, peerCore } = loopbackPair();
  const live = await runScenario(basics, { seed: 1, transport: driver });
  t.is(live.error, undefined, String(live.error));
  const simulated = await runScenario(basics, { seed: 1 });
  t.deepEqual((live.result as { observed: unknown }).observed, (simulated.result as { observed: unknown }).observed);
  t.true(peerCore.isLocal('bob'), 'bob ran in the peer core');
  t.false(live.sim.isLocal('bob'));
  t.regex(String(live.sim.workerOf('bob')), /<VirtualWorker id:bob \(loopback\)>/);
  t.throws(() => live.sim.inspect('bob').objects, { message: /bob runs in another process .* use messages/ });

  const text = mergeRecordings({ ...live.sim.log.header, transport: 'loopback' }, [
    { host: 'driver', lines: live.sim.log.eventLines() },
    { host: 'peer', lines: peerCore.log.eventLines() },
  ]);
  const log = parseLog(text, 'loopback recording');
  t.true(log.events.some((e) => e.ev === 'delivered' && e.host === 'peer' && e.to === 'bob'));
  const replay = await replayInSimulator(basics, log);
  t.is(replay.error, undefined, String(replay.error));
  // Replaying a live recording is deterministic: twice, the same simulated log, byte for byte.
  const again = async () => (await runScenario(basics, { seed: 1, follow: log })).sim.log.toJSONL();
  t.is(await again(), await again());
});

test('merging recordings keeps causal order when clocks disagree: a delivery never comes before its send', (t) => {
  const line = (e: Record<string, unknown>) => JSON.stringify(e);
  // The worker's clock runs 50 ms behind the driver's: its receipt of me:0 looks earlier than the send.
  const driver = [
    line({ seq: 0, t: 100, ev: 'sent', msg: 'me:0', from: 'me', to: 'bob', type: 'search', digest: 'a', cause: null }),
    line({ seq: 1, t: 160, ev: 'delivered', msg: 'bob:0', from: 'bob', to: 'me', type: 'reply', digest: 'b', cause: 'me:0', re: 'me:0' }),
  ];
  const worker = [
    line({ seq: 0, t: 0, ev: 'spawned', actor: 'bob' }),
    line({ seq: 1, t: 60, ev: 'delivered', msg: 'me:0', from: 'me', to: 'bob', type: 'search', digest: 'a', cause: null }),
    line({ seq: 2, t: 60, ev: 'sent', msg: 'bob:0', from: 'bob', to: 'me', type: 'reply', digest: 'b', cause: 'me:0', re: 'me:0' }),
    line({ seq: 3, t: 61, ev: 'duplicated', msg: 'bob:0', from: 'bob', to: 'me', type: 'reply', digest: 'b', cause: 'me:0', re: 'me:0', copy: 1 }),
  ];
  const header = new SimulationCore().log.header;
  const log = parseLog(mergeRecordings(header, [{ host: 'driver', lines: driver }, { host: 'worker', lines: worker }]), 'merged');
  t.deepEqual(
    log.events.map((e) => `${e.host} ${e.ev} ${e.msg ?? e.actor}`),
    ['worker spawned bob', 'driver sent me:0', 'worker delivered me:0', 'worker sent bob:0', 'worker duplicated bob:0', 'driver delivered bob:0'],
  );
  // Contiguous seq and non-decreasing time, as every fedsim log.
  t.deepEqual(log.events.map((e) => e.seq), [0, 1, 2, 3, 4, 5]);
  t.true(log.events.every((e, i) => i === 0 || e.t >= log.events[i - 1].t));
});
