/**
 * Live runs on a real nats-server: the pointer tutorial flows with their workers in a
 * child `fedsim worker` process; their recordings replayed in the simulator (no
 * divergence, and a divergence at the right event when a handler changed); duplicated
 * and late deliveries; refusals of envelopes a worker must not take; placements no
 * worker offers.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { connect } from '@nats-io/transport-node';
import pointersBasics from '../scenarios/pointers-basics.js';
import pointerChains from '../scenarios/pointer-chains.js';
import { DivergenceError } from '../src/runtime/index.js';
import { decodeFrame, encodeFrame } from '../src/runtime/transport/nats/frames.js';
import { actorSubject } from '../src/runtime/transport/nats/subjects.js';
import { encodeMessage } from '../src/messages/index.js';
import { defineScenario, runScenario, type Sim } from '../src/scenario/index.js';
import { ready } from './helpers/pointers.js';
import { liveWorld, replayInSimulator, runLive } from './helpers/live-worker.js';

const RUN = `pointers-${process.pid}`;
const world = liveWorld(test, { actors: ['bob', 'alice'], run: RUN, before: ready });


const basics = defineScenario({ name: 'pointers-basics', run: (sim: Sim) => pointersBasics(sim) });
const chains = defineScenario({ name: 'pointer-chains', run: (sim: Sim) => pointerChains(sim) });

/** x, y sent to bob, z = x + y computed there, z fetched: the smallest remote-op flow. */
const addOnBob = defineScenario({
  name: 'add-on-bob',
  async run(sim: Sim) {
    const bob = sim.worker('bob');
    const x = tf.tensor([1, 2, 3]);
    const y = tf.tensor([10, 20, 30]);
    const z = x.send(bob).add(y.send(bob));
    const value = await z.get();
    const out = value.arraySync();
    tf.dispose([x, y, value]);
    return { z: out };
  },
});

test.serial('the pointer tutorial flows run live with their workers in a fedsim worker process, and give what the simulator gives', async (t) => {
  for (const scenario of [basics, chains]) {
    const live = await runLive(scenario, { url: world.server.url, run: RUN });
    t.is(live.outcome.error, undefined, `${scenario.name}: ${String(live.outcome.error)}`);
    const simulated = await runScenario(scenario, { seed: 1 });
    const observedLive = (live.outcome.result as { observed: Record<string, unknown> }).observed;
    const observedSim = (simulated.result as { observed: Record<string, unknown> }).observed;
    // Link metrics count what this process saw: bob → alice traffic is recorded by the worker, not here.
    delete observedLive.moveTraffic;
    delete observedSim.moveTraffic;
    t.deepEqual(observedLive, observedSim, scenario.name);

    const log = live.log!;
    t.is(log.header.transport, 'nats');
    const workerHost = log.header.hosts!.find((h) => h.host !== 'driver')!;
    t.true(workerHost.actors.includes('bob'), 'the worker process hosted bob');
    // Every delivery to a worker was recorded by the worker process, every delivery to me by the driver.
    for (const event of log.events.filter((e) => e.ev === 'delivered')) t.is(event.host, event.to === 'me' ? 'driver' : workerHost.host);
    // Causal order: a message is delivered after it was sent, and its cause was delivered before it was sent.
    const seqOf = new Map<string, number>();
    for (const event of log.events) if (event.ev === 'sent') seqOf.set(event.msg!, event.seq);
    for (const event of log.events.filter((e) => e.ev === 'delivered')) t.true(seqOf.get(event.msg!)! < event.seq);

    const replay = await replayInSimulator(scenario, log);
    t.is(replay.error, undefined, `${scenario.name} replay: ${String(replay.error)}`);
    t.is(replay.closed?.events, log.events.length);
  }
});

test.serial('a changed handler makes the replay of a live recording diverge at the reply that carries its result', async (t) => {
  const live = await runLive(addOnBob, { url: world.server.url, run: RUN });
  t.deepEqual((live.outcome.result as { z: number[] }).z, [11, 22, 33]);
  const log = live.log!;
  t.is((await replayInSimulator(addOnBob, log)).error, undefined);

  // The same code, except that bob's add now subtracts (its kernel swapped for Sub's).
  const backend = tf.getBackend();
  const add = tf.getKernel('Add', backend)!;
  const sub = tf.getKernel('Sub', backend)!;
  tf.unregisterKernel('Add', backend);
  tf.registerKernel({ ...add, kernelFunc: sub.kernelFunc });
  let replay;
  try {
    replay = await replayInSimulator(addOnBob, log);
  } finally {
    tf.unregisterKernel('Add', backend);
    tf.registerKernel(add);
  }
  t.true(replay.error instanceof DivergenceError, String(replay.error));
  const divergence = (replay.error as DivergenceError).divergence;
  const request = log.events.find((e) => e.ev === 'sent' && e.type === 'objectRequest')!;
  const expected = JSON.parse(divergence.expected!);
  // The first message that differs is bob's reply to the get of z: the recorded line, at its recorded seq.
  t.like(expected, { ev: 'sent', from: 'bob', type: 'reply', re: request.msg });
  t.is(divergence.seq, expected.seq);
  t.regex(divergence.actual!, /"digest":"[0-9a-f]{16}"/);
  t.notRegex(divergence.actual!, new RegExp(`"digest":"${expected.digest}"`));
});

test.serial('duplicated deliveries, some arriving after later messages, are recognised by the receivers as in simulation', async (t) => {
  // Every message is sent twice; the copy trails its original by 25 ms, behind the messages sent after it.
  const faults = { duplicate: 1, delay: { rate: 0, dist: { kind: 'fixed' as const, ms: 25 } } };
  const live = await runLive(addOnBob, { url: world.server.url, run: RUN, faults });
  t.is(live.outcome.error, undefined, String(live.outcome.error));
  t.deepEqual((live.outcome.result as { z: number[] }).z, [11, 22, 33]);
  const log = live.log!;
  const copies = log.events.filter((e) => e.ev === 'delivered' && e.copy === 1);
  t.true(copies.length >= 4, `copies delivered: ${copies.length}`);
  // A copy delivered after a message its original preceded on the same channel: a reordered delivery.
  const overtaken = copies.some((copy) => {
    const original = log.events.find((e) => e.ev === 'delivered' && e.msg === copy.msg && e.copy === undefined)!;
    return log.events.some((e) => e.ev === 'delivered' && e.from === copy.from && e.to === copy.to && e.seq > original.seq && e.seq < copy.seq);
  });
  t.true(overtaken, 'some copy arrived after later messages of its channel');
  t.deepEqual(log.events.filter((e) => e.ev === 'error'), [], 'no receiver failed on a duplicate');
  const replay = await replayInSimulator(addOnBob, log);
  t.is(replay.error, undefined, String(replay.error));
});

test.serial('envelope frames re-published verbatim, with no fault plan, are each handled once: the run gives what the simulator gives', async (t) => {
  // Another client of the server repeats every frame sent to bob, once: what a network or anyone with
  // publish rights could do. Each message is safe to deliver twice, fault plan or not.
  const echo = await connect({ servers: world.server.url });
  const seen = new Set<string>();
  echo.subscribe(actorSubject(RUN, 'bob'), {
    callback: (_error, msg) => {
      const key = Buffer.from(msg.data).toString('base64');
      if (seen.has(key)) return;
      seen.add(key);
      echo.publish(msg.subject, msg.data);
    },
  });
  await echo.flush();
  try {
    // The chains tutorial moves and deletes objects: a second delete or move handled would lose them.
    const live = await runLive(chains, { url: world.server.url, run: RUN });
    t.is(live.outcome.error, undefined, String(live.outcome.error));
    const simulated = await runScenario(chains, { seed: 1 });
    const observed = (outcome: { result?: unknown }) => {
      const { moveTraffic: _, ...rest } = (outcome.result as { observed: Record<string, unknown> }).observed;
      return rest;
    };
    t.deepEqual(observed(live.outcome), observed(simulated));
    t.deepEqual(live.log!.events.filter((e) => e.ev === 'error'), [], 'no receiver failed on a repeated frame');
    const delivered = live.log!.events.filter((e) => e.ev === 'delivered' && e.to === 'bob');
    t.true(delivered.length > new Set(delivered.map((e) => e.msg)).size, 'the repeats did reach bob');
  } finally {
    await echo.close();
  }
});

test.serial('a forged finish frame that ends the worker\'s part of the run midway fails the run with what happened: no hang', async (t) => {
  // Another client reads the run's session from the first envelope to bob and tells bob's process the run is over.
  const forger = await connect({ servers: world.server.url });
  let forged = false;
  forger.subscribe(actorSubject(RUN, 'bob'), {
    callback: (_error, msg) => {
      if (forged) return;
      const { header } = decodeFrame(msg.data);
      if (header.kind !== 'envelope') return;
      forged = true;
      forger.publish(msg.subject, encodeFrame({ kind: 'finish', session: header.session }));
    },
  });
  await forger.flush();
  try {
    const live = await runLive(chains, { url: world.server.url, run: RUN });
    t.true(forged);
    t.truthy(live.outcome.error, 'the run cannot go on without bob');
    // Either bob's process says it has no such run any more, or (its part stopped, quiet) the replies are known lost.
    t.regex(String(live.outcome.error), /could not answer 'sync'.*placed no actor here \(it ended|DeadlockError: .*so the request or its reply was lost/);
  } finally {
    await forger.close();
  }
});

test.serial('a worker refuses, and records, an envelope for an actor it does not host and one whose payload fails the checks', async (t) => {
  const forged = await connect({ servers: world.server.url });
  let session = '';
  const live = await runLive(addOnBob, {
    url: world.server.url,
    run: RUN,
    async beforeRecord(s) {
      session = s.transport.session;
      const header = { kind: 'envelope' as const, session, from: 'mallory', serial: 0, cause: null, digest: '0' };
      // Published on bob's subject but addressed to carol, whom that worker does not host.
      forged.publish(actorSubject(RUN, 'bob'), encodeFrame({ ...header, to: 'carol', type: 'search' }, encodeMessage('search', { query: [] })));
      // For bob, but its frame is not a message frame.
      forged.publish(actorSubject(RUN, 'bob'), encodeFrame({ ...header, serial: 1, to: 'bob', type: 'search' }, new Uint8Array([1, 2, 3])));
      await forged.flush();
      await s.transport.quiesce();
    },
  });
  await forged.close();
  t.is(live.outcome.error, undefined);
  const drops = live.log!.events.filter((e) => e.ev === 'dropped');
  t.like(drops.find((e) => e.msg === 'mallory:0'), { to: 'carol', reason: 'unknown-actor' });
  t.like(drops.find((e) => e.msg === 'mallory:1'), { to: 'bob', reason: 'invalid' });
  const refusals = live.log!.events.filter((e) => e.ev === 'mark' && e.label === 'refused').map((e) => (e.data as { detail: string }).detail);
  t.true(refusals.some((d) => /'carol' is not hosted by this process/.test(d)), refusals.join('\n'));
  // Neither reached an actor: bob handled only the run's own messages.
  t.false(live.log!.events.some((e) => e.ev === 'delivered' && e.from === 'mallory'));
});

test.serial('a worker no process hosts is a clear error naming the command that would host it', async (t) => {
  const scenario = defineScenario({
    name: 'carol-nowhere',
    async run(sim: Sim) {
      const carol = sim.worker('carol');
      await carol.listObjects();
    },
  });
  const live = await runLive(scenario, { url: world.server.url, run: RUN });
  t.regex(String((live.outcome.error as Error)?.message), new RegExp(`No fedsim worker hosts 'carol' on run '${RUN}'.*fedsim worker --nats .* --actors carol --run ${RUN}`));
});

/** Sends x and y to bob, disposes x (a one-way `delete`), then lists bob's objects. */
const disposeThenList = defineScenario({
  name: 'dispose-then-list',
  async run(sim: Sim) {
    const bob = sim.worker('bob');
    const [xl, yl] = [tf.tensor([1, 2]), tf.tensor([3, 4])];
    const x = xl.send(bob);
    const y = yl.send(bob);
    tf.dispose([xl, yl]);
    x.dispose();
    // Live this waits real time (past any partition below); in the simulator, virtual time.
    await sim.runFor(300);
    const listing = await bob.listObjects();
    y.dispose();
    return { ids: listing.ids };
  },
});

test.serial('live faults at the transport: a scripted drop and a partition lose the messages the simulator loses, and are recorded the same way', async (t) => {
  // me:2 is the delete of x: dropped, x stays on bob, as in simulation under the same plan.
  const drop = { script: [{ msg: 'me:2', drop: true }] };
  const live = await runLive(disposeThenList, { url: world.server.url, run: RUN, faults: drop });
  t.is(live.outcome.error, undefined, String(live.outcome.error));
  const simulated = await runScenario(disposeThenList, { seed: 1, faults: drop });
  t.deepEqual(live.outcome.result, simulated.result);
  t.deepEqual((live.outcome.result as { ids: string[] }).ids, ['1', '3']);
  t.like(live.log!.events.find((e) => e.ev === 'dropped'), { msg: 'me:2', type: 'delete', reason: 'fault', host: 'driver' });
  t.is((await replayInSimulator(disposeThenList, live.log!)).error, undefined);

  // me and bob cannot reach each other for the first 200 ms: x and y are lost on the way in, at bob's process.
  const partition = { partitions: [{ groups: [['me'], ['bob']], from: 0, until: 200 }] };
  const cut = await runLive(disposeThenList, { url: world.server.url, run: RUN, faults: partition });
  t.is(cut.outcome.error, undefined, String(cut.outcome.error));
  t.deepEqual((cut.outcome.result as { ids: string[] }).ids, []);
  const lost = cut.log!.events.filter((e) => e.ev === 'dropped' && e.reason === 'partition');
  t.deepEqual(lost.map((e) => `${e.msg} ${e.type} ${e.host === 'driver' ? 'driver' : 'worker'}`), ['me:0 object worker', 'me:1 object worker', 'me:2 delete worker']);
  t.true(cut.log!.events.some((e) => e.ev === 'partition-start'));
  t.is((await replayInSimulator(disposeThenList, cut.log!)).error, undefined);
});
