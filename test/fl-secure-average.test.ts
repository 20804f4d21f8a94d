/**
 * Seed 002 §1.3, "train two models and average" (scenarios/secure-average.ts): copies
 * trained 5 steps on bob and on alice, moved to secure_worker, averaged there, only
 * the average fetched. Checked against the float64 reference to 1e-5, and against the
 * event log: in the averaging phase `me` receives only acks and the two averages, and
 * no message to `me` ever carries a parameter of bob's or alice's trained models —
 * those travel from their worker straight to secure_worker.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import type { Simulation } from '../src/index.js';
import type { DeliveredEvent, MarkEvent, SimEvent } from '../src/runtime/events.js';
import secureAverage, { ITERATIONS, LEARNING_RATE, WORKER_ITERS } from '../scenarios/secure-average.js';
import { INITIAL_WEIGHTS, torchScalar } from '../scenarios/toy-federated.js';
import { ALICE, BOB, type Linear, sgdStep } from './helpers/linear-reference.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

interface Round {
  bob: number;
  alice: number;
  model: Linear;
}

function reference(): Round[] {
  let model: Linear = { w: [...INITIAL_WEIGHTS.kernel], b: INITIAL_WEIGHTS.bias[0] };
  const rounds: Round[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    let bobs = model;
    let alices = model;
    let bobLoss = NaN;
    let aliceLoss = NaN;
    for (let wi = 0; wi < WORKER_ITERS; wi++) {
      ({ loss: bobLoss, next: bobs } = sgdStep(bobs, BOB.x, BOB.t, LEARNING_RATE));
      ({ loss: aliceLoss, next: alices } = sgdStep(alices, ALICE.x, ALICE.t, LEARNING_RATE));
    }
    model = { w: [(alices.w[0] + bobs.w[0]) / 2, (alices.w[1] + bobs.w[1]) / 2], b: (alices.b + bobs.b) / 2 };
    rounds.push({ bob: bobLoss, alice: aliceLoss, model });
  }
  return rounds;
}

const close = (actual: number, expected: number) => Math.abs(actual - expected) <= 1e-5;

type History = Array<{ bob: number; alice: number; kernel: number[]; bias: number[] }>;

for (const strict of [false, true]) {
  test.serial(`secure average: losses and averaged weights of every iteration match the float64 reference to 1e-5${strict ? ' (strict)' : ''}`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ strict });
    const { printed, observed } = await secureAverage(sim);
    const expected = reference();
    const history = observed.history as History;
    t.is(history.length, ITERATIONS);
    history.forEach((round, i) => {
      const want = expected[i];
      t.true(close(round.bob, want.bob) && close(round.alice, want.alice), `iteration ${i} losses ${round.bob}, ${round.alice} vs ${want.bob}, ${want.alice}`);
      t.true(close(round.kernel[0], want.model.w[0]) && close(round.kernel[1], want.model.w[1]) && close(round.bias[0], want.model.b), `iteration ${i} weights`);
    });
    t.deepEqual(
      printed.slice(0, ITERATIONS),
      expected.map((r) => `Bob:${torchScalar(r.bob)} Alice:${torchScalar(r.alice)}`),
    );
    t.is(sim.remoteErrors.length, 0);
    t.deepEqual((await Promise.all(sim.workers.map(async (w) => (await w.listObjects()).size))), [0, 0, 0]);
    t.is(tf.memory().numTensors, before);
  });
}

/** Message events addressed to `me` between each `average` mark and the next `averaged` mark. */
function averagingPhases(sim: Simulation): Map<number, Array<{ type: string; payload: any }>> {
  const phases = new Map<number, Array<{ type: string; payload: any }>>();
  let current: number | undefined;
  for (const event of sim.log.events) {
    if (event.ev === 'mark') {
      const mark = event as MarkEvent;
      if (mark.label === 'average') current = (mark.data as { iteration: number }).iteration;
      if (mark.label === 'averaged') current = undefined;
      if (current !== undefined) phases.set(current, []);
    } else if (event.ev === 'delivered' && event.to === 'me' && current !== undefined) {
      phases.get(current)!.push({ type: event.type, payload: event.envelope.payload });
    }
  }
  return phases;
}

test.serial("the event log: only the averages reach me; bob's and alice's trained weights go straight to secure_worker", async (t) => {
  const sim = simulation();
  const { observed } = await secureAverage(sim);
  const averageIds = observed.averageIds as string[][];
  const trainedParamIds = new Set(observed.trainedParamIds as string[]);
  t.is(trainedParamIds.size, ITERATIONS * 4, 'two parameters × two models per iteration');

  const phases = averagingPhases(sim);
  t.is(phases.size, ITERATIONS);
  for (const [iteration, messages] of phases) {
    t.true(messages.every((m) => m.type === 'reply'), `iteration ${iteration}: only replies reach me`);
    const objects = messages.filter((m) => m.payload.kind === 'object');
    t.deepEqual(objects.map((m) => m.payload.id).sort(), [...averageIds[iteration]].sort(), `iteration ${iteration}: the only objects me receives are the two averages`);
    t.true(messages.every((m) => m.payload.kind === 'object' || m.payload.kind === 'ack'), 'everything else is an ack (of a move)');
  }

  // Over the whole run: no object reply to me is a trained parameter; each one left its worker for secure_worker.
  const delivered = sim.log.events.filter((e: SimEvent): e is DeliveredEvent => e.ev === 'delivered');
  const toMe = delivered.filter((e) => e.to === 'me' && e.type === 'reply' && (e.envelope.payload as any).kind === 'object');
  t.false(toMe.some((e) => trainedParamIds.has((e.envelope.payload as any).id)), 'no trained parameter is ever sent to me');
  const moved = delivered.filter((e) => e.type === 'object' && e.to === 'secure_worker' && trainedParamIds.has((e.envelope.payload as any).id));
  t.is(moved.length, trainedParamIds.size, 'every trained parameter was delivered to secure_worker');
  t.true(moved.every((e) => (e.from === 'bob' || e.from === 'alice') && (e.envelope.payload as any).value.kind === 'tensor'), 'straight from bob or alice, as a tensor');
});

test.serial('a move to secure_worker keeps the model usable there: forward and parameters answer from its new location', async (t) => {
  // (The same mechanics the scenario relies on, checked on their own.)
  const { restoreModel, nn } = await import('../src/fl/index.js');
  const sim = simulation();
  const bob = sim.worker('bob');
  const secure = sim.worker('secure_worker');
  const model = restoreModel({ spec: nn.linear(2, 1), weights: [Float32Array.of(1, 2), Float32Array.of(0.5)] });
  const remote = model.send(bob);
  await remote.move(secure);
  t.is(remote.location, secure);
  await sim.settle();
  t.is((await bob.listObjects()).size, 0);
  t.is((await secure.listObjects()).size, 2);
  const x = tf.tensor2d([[1, 1]]);
  const y = await remote.forward(x.send(secure)).get();
  t.deepEqual([...y.dataSync()], [3.5]);
  const back = await remote.get();
  t.deepEqual(back.getWeights().map((w) => [...w]), [[1, 2], [0.5]]);
  tf.dispose([x, y]);
  model.dispose();
  back.dispose();
  await secure.clearObjects();
});
