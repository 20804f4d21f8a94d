import test from 'ava';
import { SimulationCore } from '../src/runtime/index.js';
import { concurrentSenders, SENDERS } from './helpers/concurrent-senders.js';

const orderKey = (received: Array<{ from: string; i: number }>) => received.map((r) => `${r.from}.${r.i}`).join(' ');

function fifoHolds(received: Array<{ from: string; i: number }>): boolean {
  return SENDERS.every((s) => {
    const seen = received.filter((r) => r.from === s).map((r) => r.i);
    return seen.every((v, k) => v === k);
  });
}

test('100 seeds give at least 90 distinct delivery orders, and per-channel FIFO holds under fifo-random', async (t) => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 100; seed++) {
    const received = await concurrentSenders(new SimulationCore({ seed }));
    t.is(received.length, 12);
    t.true(fifoHolds(received), `FIFO broken for seed ${seed}: ${orderKey(received)}`);
    orders.add(orderKey(received));
  }
  t.true(orders.size >= 90, `only ${orders.size} distinct orders`);
});

test("the 'random' strategy explores orders that break channel FIFO", async (t) => {
  let broken = 0;
  for (let seed = 0; seed < 50; seed++) {
    const received = await concurrentSenders(new SimulationCore({ seed, strategy: 'random' }));
    t.is(received.length, 12);
    if (!fifoHolds(received)) broken++;
  }
  t.true(broken > 25, `FIFO broken in only ${broken}/50 runs`);
});

test('PCT is deterministic per seed, keeps FIFO, and varies across seeds', async (t) => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 30; seed++) {
    const a = await concurrentSenders(new SimulationCore({ seed, strategy: { name: 'pct', depth: 3, maxSteps: 40 } }));
    const b = await concurrentSenders(new SimulationCore({ seed, strategy: { name: 'pct', depth: 3, maxSteps: 40 } }));
    t.is(orderKey(a), orderKey(b));
    t.true(fifoHolds(a));
    orders.add(orderKey(a));
  }
  t.true(orders.size > 5);
  // PCT runs the highest-priority channel to exhaustion unless a change point intervenes:
  // with depth 1 (no change points) every sender's items arrive as one block.
  const blocky = await concurrentSenders(new SimulationCore({ seed: 4, strategy: { name: 'pct', depth: 1 } }));
  const runs = blocky.filter((r, k) => k === 0 || r.from !== blocky[k - 1].from).length;
  t.is(runs, 3);
});

test('an unknown strategy is rejected with the list of valid ones', (t) => {
  const error = t.throws(() => new SimulationCore({ strategy: 'lifo' as any }));
  t.regex(error!.message, /Unknown scheduling strategy "lifo".*fifo-random.*random.*pct/);
});

test('virtual time advances only by latency and delays: messages sent together arrive together', async (t) => {
  const sim = new SimulationCore({ seed: 1, latency: 10 });
  await concurrentSenders(sim);
  const delivered = sim.log.events.filter((e) => e.ev === 'delivered' && e.type === 'item');
  t.true(delivered.every((e) => e.t === 20)); // 'go' arrives at 10, items at 20
  t.deepEqual(
    sim.log.events.map((e) => e.t),
    [...sim.log.events.map((e) => e.t)].sort((a, b) => a - b),
    'virtual time never decreases along the log',
  );
  t.deepEqual(
    sim.log.events.map((e) => e.seq),
    sim.log.events.map((_, i) => i),
    'seq is contiguous',
  );
});
