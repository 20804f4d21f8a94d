/**
 * Issue #12, item 1 (continued): secure aggregation of private updates still works, through
 * an explicit release policy recorded in the log header — "a sum of at least k contributors,
 * all with the same weight" — and every release is a `release` mark in the event log. The
 * attacks a data scientist would try to single one contributor out of an aggregate (a
 * difference of sums, a weighted sum, too few contributors, contributors made up by `me`, a
 * product, one contributor counted three times) are refused.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { AdditiveSharingTensor, GetNotPermittedError, Simulation, type VirtualWorker, verifyRun } from '../src/index.js';
import { additiveAverage } from '../src/fl/secure/additive-average.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const UPDATES: Record<string, number[]> = { bob: [1.5, -2], alice: [0.25, 4], carol: [-1, 0.5] };

function federation(minContributors?: number) {
  const sim = simulation(minContributors === undefined ? {} : { policies: { release: { aggregate: { minContributors } } } });
  const contributors = Object.keys(UPDATES).map((id) => sim.worker(id));
  const [dave, erin] = [sim.worker('dave'), sim.worker('erin')];
  // Each contributor's owner loads its private update; dave and erin only hold shares.
  const shared = (w: VirtualWorker) => w.load(tf.tensor(UPDATES[w.id]), { allowedUsers: [w.id] }).fixPrecision().share(dave, erin);
  return { sim, contributors, dave, erin, shared };
}

const releases = (sim: Simulation) => sim.log.events.filter((e) => e.ev === 'mark' && e.label === 'release').map((e) => (e as { data: { worker: string; contributors: string[] } }).data);

async function value(answer: PromiseLike<{ floatPrecision(): tf.Tensor }>): Promise<number[]> {
  const t = (await answer).floatPrecision();
  const out = [...t.dataSync()].map((v) => Math.round(v * 1000) / 1000);
  t.dispose();
  return out;
}

test('the sum of three private updates is released under the policy, each release logged with its contributors; the header names the policy', async (t) => {
  const { sim, contributors, shared } = federation(3);
  const total = AdditiveSharingTensor.sum(contributors.map(shared));
  t.deepEqual(await value(total.get()), [0.75, 2.5]);
  t.deepEqual(sim.log.header.policies, { release: { aggregate: { minContributors: 3 } } });
  const marks = releases(sim);
  t.deepEqual(marks.map((m) => m.worker).sort(), ['dave', 'erin'], 'one release per owner of a share of the sum');
  for (const mark of marks) t.deepEqual(mark.contributors, ['alice', 'bob', 'carol']);
});

test('without a release policy the same sum stays private', async (t) => {
  const { contributors, shared } = federation();
  const total = AdditiveSharingTensor.sum(contributors.map(shared));
  const error = await t.throwsAsync(total.get(), { instanceOf: GetNotPermittedError });
  t.deepEqual(error!.allowedUsers, [], 'nobody may see a sum of bob\'s, alice\'s and carol\'s data');
});

test('attacks on the policy: a difference of sums, a weighted sum, too few contributors, one contributor thrice, a product', async (t) => {
  const { contributors, shared, sim } = federation(3);
  const [bob, alice, carol] = contributors;
  const refusedBecause = async (answer: PromiseLike<unknown>, reason: RegExp, what: string) => {
    const error = await t.throwsAsync(Promise.resolve(answer), { instanceOf: GetNotPermittedError }, what);
    t.regex(error!.message, reason, what);
  };
  const [x, y, z] = [shared(bob), shared(alice), shared(carol)];
  const all = AdditiveSharingTensor.sum([x, y, z]);
  const others = AdditiveSharingTensor.sum([y, z]);
  await refusedBecause(all.sub(others).get(), /a sum of 1 contributor\(s\) \[bob\]/, '(bob + alice + carol) − (alice + carol)');
  const [x2, y2, z2] = [shared(bob), shared(alice), shared(carol)];
  await refusedBecause(AdditiveSharingTensor.sum([x2.mul(1000), y2, z2]).get(), /different weights \(alice ×1, bob ×1000, carol ×1\)/, '1000·bob + alice + carol');
  const [x3, y3] = [shared(bob), shared(alice)];
  await refusedBecause(x3.add(y3).get(), /a sum of 2 contributor\(s\) \[alice, bob\]: fewer than the 3/, 'bob + alice');
  const x4 = shared(bob);
  await refusedBecause(AdditiveSharingTensor.sum([x4, x4, x4]).get(), /a sum of 1 contributor\(s\) \[bob\]/, 'bob + bob + bob');
  const james = sim.worker('james');
  const [bx, ay] = ['bob', 'alice'].map((id) => sim.workerOf(id).load(tf.tensor(UPDATES[id]), { allowedUsers: [id] }).fixPrecision().share(sim.workerOf('dave'), sim.workerOf('erin'), { cryptoProvider: james }));
  await refusedBecause(bx.mul(ay).get(), /not a sum of contributions/, 'bob · alice (Beaver)');
  t.deepEqual(releases(sim), [], 'nothing was released');
});

test('contributors made up by me count as one: zeros sent privately "for alice" and "for carol" do not make bob\'s update an aggregate', async (t) => {
  const { contributors, dave, erin, shared, sim } = federation(3);
  const [bob] = contributors;
  const fakeAlice = tf.tensor([0, 0]).send(sim.workerOf('alice'), { allowedUsers: ['alice'] }).fixPrecision().share(dave, erin);
  const fakeCarol = tf.tensor([0, 0]).send(sim.workerOf('carol'), { allowedUsers: ['carol'] }).fixPrecision().share(dave, erin);
  const error = await t.throwsAsync(AdditiveSharingTensor.sum([shared(bob), fakeAlice, fakeCarol]).get(), { instanceOf: GetNotPermittedError });
  t.regex(error!.message, /a sum of 2 contributor\(s\) \[bob, me\]/);
});

test("additiveAverage of three privately trained models: released under 'the aggregate of at least 2' (each owner holds the other two's shares), refused without a policy", async (t) => {
  for (const policy of [2, undefined]) {
    const sim = simulation(policy === undefined ? {} : { policies: { release: { aggregate: { minContributors: policy } } } });
    const workers = ['bob', 'alice', 'carol'].map((id) => sim.worker(id));
    const models = workers.map((worker, i) => {
      const x = worker.load(tf.tensor2d([[1, i], [2, 1]]), { allowedUsers: [worker.id] });
      const w = tf.tensor2d([[0.5], [-0.5]]).send(worker);
      return { worker, params: [w.sub(x.matMul(w).mean().mul(0.1))] };
    });
    if (policy === undefined) {
      await t.throwsAsync(additiveAverage(models), { instanceOf: GetNotPermittedError });
      continue;
    }
    const [average] = await additiveAverage(models);
    t.deepEqual(average.shape, [2, 1]);
    t.true(average.dataSync().every(Number.isFinite));
    average.dispose();
    t.is(releases(sim).length, 3, 'each of the three owners released its share of the sum');
  }
});

test('a run with releases is deterministic: one seed, one log', async (t) => {
  const run = async () => {
    const { sim, contributors, shared } = federation(3);
    await value(AdditiveSharingTensor.sum(contributors.map(shared)).get());
    return sim.log.toJSONL();
  };
  t.is(await run(), await run());
});

test('a run with a release policy replays from its log alone: the header carries the policy', async (t) => {
  const scenario = async (sim: Simulation) => {
    const contributors = Object.keys(UPDATES).map((id) => sim.worker(id));
    const [dave, erin] = [sim.worker('dave'), sim.worker('erin')];
    const shares = contributors.map((w) => w.load(tf.tensor(UPDATES[w.id]), { allowedUsers: [w.id] }).fixPrecision().share(dave, erin));
    await value(AdditiveSharingTensor.sum(shares).get());
  };
  const recorded = simulation({ policies: { release: { aggregate: { minContributors: 3 } } } });
  await scenario(recorded);
  await recorded.settle();
  const { events } = await verifyRun(recorded.log.toJSONL(), scenario, {}, (options) => new Simulation(options));
  t.is(events, recorded.log.length);
});
