/**
 * The release policy "an aggregate of at least k contributors" counts only parts the
 * requester does not know: data owners (workers of the federation) other than the
 * requester, whose part the requester may not see on its own. Each attack below manufactures
 * a contributor whose part `me` knows — zeros `me` sends privately, zeros an actor outside
 * the federation sends, data its owner lets `me` see — and used to turn
 * `minContributors: 2` into a release of one worker's private value. A property test draws
 * aggregates of every kind of part, with weights 0, ±1 and 2, and checks each decision and
 * each released value against an oracle that knows where every part came from.
 */
import test from 'ava';
import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { setup } from 'xstate';
import { AdditiveSharingTensor, GetNotPermittedError, type PointerTensor, Simulation, type VirtualWorker } from '../src/index.js';
import type { ActorIO, ActorMessage } from '../src/runtime/index.js';
import { ready } from './helpers/pointers.js';

test.before(ready);

const policy = (minContributors: number) => ({ release: { aggregate: { minContributors } } });

const releases = (sim: Simulation) => sim.log.events.filter((e) => e.ev === 'mark' && e.label === 'release').map((e) => (e as { data: { worker: string; contributors: string[]; uncounted?: string[] } }).data);

/** An actor outside the federation (spawned with sim.spawn, not sim.worker) that sends a tensor privately when told. */
const outsider = setup({ types: {} as { context: { io: ActorIO }; input: { io: ActorIO }; events: ActorMessage } }).createMachine({
  context: ({ input }) => ({ io: input.io }),
  on: {
    send: {
      actions: ({ context, event }) => {
        const { to, id, values } = event.payload as { to: string; id: string; values: number[] };
        context.io.send(to, 'object', { id, value: { kind: 'tensor', tensor: tf.tensor(values) }, meta: { allowedUsers: [to], tags: [`from-outsider-${id}`] } });
      },
    },
  },
});

/** A pointer to what the outsider sent `to` privately (found by its tag, as scenario code would find it). */
async function sentByOutsider(sim: Simulation, outsiderId: string, to: VirtualWorker, values: number[]): Promise<PointerTensor> {
  const id = `outsider-${sim.nextId()}`;
  sim.send(outsiderId, 'send', { to: to.id, id, values });
  await sim.settle(); // me → mallory → alice is another path than me → alice: let it arrive first
  const [found] = await to.search(`from-outsider-${id}`);
  return found;
}

function world(minContributors: number, options: { strict?: boolean } = {}) {
  const sim = new Simulation({ seed: 11, policies: policy(minContributors), ...options });
  const [bob, alice, carol, james] = ['bob', 'alice', 'carol', 'james'].map((id) => sim.worker(id));
  sim.spawn(outsider, 'mallory');
  const shared = (p: PointerTensor) => p.fixPrecision().share(carol, james, { cryptoProvider: bob });
  return { sim, bob, alice, carol, james, shared };
}

async function refused(t: import('ava').ExecutionContext, answer: PromiseLike<unknown>, reason: RegExp, what: string): Promise<void> {
  const error = await t.throwsAsync(Promise.resolve(answer), { instanceOf: GetNotPermittedError }, what);
  t.regex(error?.message ?? '', reason, what);
}

const SECRET = [3.25, -1.5];

test("the trial's repro: me's zeros sent privately to bob (or to alice) are not a second contributor to bob's value", async (t) => {
  for (const to of ['bob', 'alice']) {
    const { sim, bob, shared } = world(2);
    const x = bob.load(tf.tensor(SECRET), { allowedUsers: ['bob'] });
    const zeros = tf.tensor([0, 0]).send(sim.workerOf(to), { allowedUsers: [to] });
    await refused(t, shared(x).add(shared(zeros)).get(), /a sum of 2 contributor\(s\) \[bob, me\], of which 1 count \[bob\] \(me is the requester\)/, `zeros sent to ${to}`);
    t.deepEqual(releases(sim), []);
  }
});

test('zeros sent privately by an actor outside the federation are not a contributor either (it may be the requester\'s)', async (t) => {
  const { sim, bob, alice, shared } = world(2);
  const x = bob.load(tf.tensor(SECRET), { allowedUsers: ['bob'] });
  const zeros = await sentByOutsider(sim, 'mallory', alice, [0, 0]);
  await refused(t, shared(x).add(shared(zeros)).get(), /of which 1 count \[bob\] \(mallory is not a data owner/, "mallory's zeros");
});

test("a data owner's part the requester may see does not count: alice lets me see her data, so bob + alice reveals bob", async (t) => {
  const { sim, bob, alice, carol, shared } = world(2);
  const x = bob.load(tf.tensor(SECRET), { allowedUsers: ['bob'] });
  const known = alice.load(tf.tensor([0, 0]), { allowedUsers: ['alice', 'me'] });
  await refused(t, shared(x).add(shared(known)).get(), /of which 1 count \[bob\] \(alice's part is visible to me\)/, 'bob + alice (visible to me)');
  // The part's visibility travels with it: moved to carol (whom alice also allows) and shared from there, it still does not count.
  const movable = alice.load(tf.tensor([0, 0]), { allowedUsers: ['alice', 'carol', 'me'] });
  await movable.move(carol);
  await refused(t, shared(bob.load(tf.tensor(SECRET), { allowedUsers: ['bob'] })).add(shared(movable)).get(), /alice's part is visible to me/, 'moved, then shared');
  t.deepEqual(releases(sim), []);
});

test('parts that do not count do not block a release of enough others: bob + carol + (alice, visible to me) with k = 2, logged with what was not counted', async (t) => {
  const run = async () => {
    const { sim, bob, alice, carol, shared } = world(2, { strict: true });
    const parts = [
      bob.load(tf.tensor([1, 2]), { allowedUsers: ['bob'] }),
      carol.load(tf.tensor([10, 20]), { allowedUsers: ['carol'] }),
      alice.load(tf.tensor([100, 200]), { allowedUsers: ['alice', 'me'] }),
    ];
    const total = (await AdditiveSharingTensor.sum(parts.map(shared)).get()).floatPrecision();
    t.deepEqual([...total.dataSync()], [111, 222]);
    total.dispose();
    const marks = releases(sim);
    t.is(marks.length, 2, 'one release per owner of a share (carol and james)');
    for (const mark of marks) t.like(mark, { contributors: ['bob', 'carol'], uncounted: ['alice'] });
    return sim.log.toJSONL();
  };
  t.is(await run(), await run(), 'one seed, one log');
});

test('a copy of one contributor\'s data, scaled or moved elsewhere, is still that contributor: bob + 2·bob-on-alice is one contributor', async (t) => {
  const { bob, alice, shared } = world(2);
  const x = bob.load(tf.tensor(SECRET), { allowedUsers: ['bob', 'alice'] });
  const copy = x.copy();
  await copy.move(alice);
  await refused(t, shared(x).add(shared(copy).mul(2)).get(), /a sum of 1 contributor\(s\) \[bob\]/, 'bob + 2·(bob, moved to alice)');
  const derived = bob.load(tf.tensor(SECRET), { allowedUsers: ['bob'] });
  const oneMinus = derived.mul(-1).add(1);
  await oneMinus.getShape();
  await refused(t, shared(derived).add(shared(oneMinus)).get(), /a sum of 1 contributor\(s\) \[bob\]/, 'bob + (1 − bob), computed on bob');
});

test('zero-weight and cancelled parts are not contributors: bob + 0·alice + (carol − carol) with k = 2', async (t) => {
  const { bob, alice, carol, shared } = world(2);
  const load = (w: VirtualWorker, v: number[]) => shared(w.load(tf.tensor(v), { allowedUsers: [w.id] }));
  const c = load(carol, [5, 5]);
  await refused(t, AdditiveSharingTensor.sum([load(bob, SECRET), load(alice, [7, 7]).mul(0), c, c.neg()]).get(), /a sum of 1 contributor\(s\) \[bob\]/, 'bob + 0·alice + carol − carol');
});

// ── the class, against an oracle ──────────────────────────────────────────────

/** Where a part of an aggregate comes from, and whether `me` knows it (the oracle's view, not the labels'). */
type Source = 'bob' | 'alice' | 'dave' | 'carol-visible-to-me' | 'me-to-bob' | 'me-to-alice' | 'mallory';
const UNKNOWN_TO_ME: ReadonlySet<Source> = new Set(['bob', 'alice', 'dave']);
const VALUES: Record<Source, number[]> = {
  bob: [1.5, -2],
  alice: [0.25, 4],
  dave: [-3, 0.5],
  'carol-visible-to-me': [8, 16],
  'me-to-bob': [0, 0],
  'me-to-alice': [0, 1],
  mallory: [2, 0],
};

const partArb = fc.record({ source: fc.constantFrom<Source>(...(Object.keys(VALUES) as Source[])), weight: fc.constantFrom(0, 1, 1, 2, -1) });
const caseArb = fc.record({ k: fc.constantFrom(2, 3), parts: fc.uniqueArray(partArb, { minLength: 1, maxLength: 4, selector: (p) => p.source }) });

async function pointerTo(sim: Simulation, source: Source): Promise<PointerTensor> {
  const values = tf.tensor(VALUES[source]);
  try {
    switch (source) {
      case 'bob':
      case 'alice':
      case 'dave':
        return sim.workerOf(source).load(values, { allowedUsers: [source] });
      case 'carol-visible-to-me':
        return sim.workerOf('carol').load(values, { allowedUsers: ['carol', 'me'] });
      case 'me-to-bob':
      case 'me-to-alice': {
        const to = source === 'me-to-bob' ? 'bob' : 'alice';
        return values.send(sim.workerOf(to), { allowedUsers: [to] });
      }
      case 'mallory':
        return await sentByOutsider(sim, 'mallory', sim.workerOf('alice'), VALUES.mallory);
    }
  } finally {
    values.dispose();
  }
}

test('property: a weighted aggregate is released iff at least k parts unknown to me have a non-zero, common weight (or me may see every part); a release is the weighted sum', async (t) => {
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ k, parts }) => {
      const sim = new Simulation({ seed: 3, policies: policy(k) });
      for (const id of ['bob', 'alice', 'carol', 'dave', 'h1', 'h2']) sim.worker(id);
      sim.spawn(outsider, 'mallory');
      const [h1, h2] = [sim.workerOf('h1'), sim.workerOf('h2')];
      const terms: AdditiveSharingTensor[] = [];
      for (const { source, weight } of parts) {
        const shared = (await pointerTo(sim, source)).fixPrecision().share(h1, h2);
        terms.push(weight === 1 ? shared : shared.mul(weight));
      }
      const unknown = parts.filter((p) => UNKNOWN_TO_ME.has(p.source) && p.weight !== 0);
      const releasable =
        parts.every((p) => p.source === 'carol-visible-to-me') || (unknown.length >= k && unknown.every((p) => p.weight === unknown[0].weight));
      const outcome = await Promise.resolve(AdditiveSharingTensor.sum(terms).get()).then(
        (value) => {
          const released = value.floatPrecision();
          const out = [...released.dataSync()].map((v) => Math.round(v * 1000) / 1000);
          released.dispose();
          return out;
        },
        (error: unknown) => {
          if (!(error instanceof GetNotPermittedError)) throw error;
          return 'refused' as const;
        },
      );
      if (!releasable && outcome !== 'refused') throw new Error(`released ${JSON.stringify(outcome)}, but me knows all but ${unknown.length} part(s)`);
      if (releasable && outcome === 'refused') throw new Error('refused, but the aggregate has enough parts unknown to me');
      if (releasable) {
        const expected = [0, 1].map((i) => parts.reduce((sum, p) => sum + p.weight * VALUES[p.source][i], 0));
        if (JSON.stringify(outcome) !== JSON.stringify(expected)) throw new Error(`released ${JSON.stringify(outcome)}, expected the weighted sum ${JSON.stringify(expected)}`);
      }
    }),
    { numRuns: 80, seed: 12 },
  );
  t.pass();
});
