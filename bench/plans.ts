/**
 * Issue #5 benchmark: one SGD training step of a small MLP (20-32-2, softmax
 * cross-entropy, batch 16), three ways, in one run:
 *
 * - plan: a training plan sent to bob once; each step is one `runPlan` message
 *   (plus the delete of its loss pointer), pipelined. Also the loop form: all steps
 *   of an epoch in one `runPlanLoop` request.
 * - op by op: the same step as individual remote op messages through pointers —
 *   forward and loss ops, backward(), then grad / mul / assignSub / zeroGrad per
 *   parameter (the seed-000 way), pipelined.
 * - local tfjs: tf.valueAndGrads and assign, no simulation.
 *
 *   npx tsx bench/plans.ts            (or: npm run bench -- plans)
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../src/runtime/backend.js';
import { F, nn, Plan, type PointerTensor, rt, Simulation, trainingPlan } from '../src/index.js';
import { performance } from 'node:perf_hooks';
import { fmt, type Measurement, table } from './timing.js';

const [INPUTS, HIDDEN, CLASSES, BATCH] = [20, 32, 2, 16];
const LR = 0.1;
const STEPS = 1000;
const OP_STEPS = 200;

class Mlp extends Plan {
  l1 = nn.linear(INPUTS, HIDDEN);
  l2 = nn.linear(HIDDEN, CLASSES);

  override forward(x: any) {
    return this.l2(F.relu(this.l1(x)));
  }
}

/** A fixed batch (seeded), and a model with seeded weights. */
function setup(keepLog = false) {
  const sim = new Simulation({ seed: 1, keepLog });
  const rng = sim.rng('bench/data');
  const x = tf.tensor2d(new Float32Array(BATCH * INPUTS).map(() => rng.uniform(-1, 1)), [BATCH, INPUTS]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, () => rng.int(CLASSES)), 'int32'), CLASSES).toFloat());
  const model = new Mlp({ rng: sim.rng('model/init') });
  model.parameters();
  return { sim, x, y, model, bob: sim.worker('bob') };
}

function teardown(parts: { x: tf.Tensor; y: tf.Tensor; model: Plan }): void {
  tf.dispose([parts.x, parts.y]);
  parts.model.dispose();
}

/** The step, in plain tfjs: the reference. */
function localStep(params: tf.Variable[], x: tf.Tensor, y: tf.Tensor): void {
  tf.tidy(() => {
    const f = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
      const logits = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1)) as tf.Tensor2D, w2 as tf.Tensor2D), b2);
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)));
    };
    const { grads } = tf.valueAndGrads(f as (...xs: tf.Tensor[]) => tf.Tensor)(params);
    params.forEach((p, i) => p.assign(tf.sub(p, tf.mul(grads[i], LR))));
  });
}

/** The step as individual remote ops on pointers (parameters are remote trainable variables). */
function opByOpStep(sim: Simulation, params: PointerTensor[], x: PointerTensor, y: PointerTensor): void {
  const [w1, b1, w2, b2] = params;
  const loss = sim.tidy(() => {
    const logits = rt.add(rt.matMul(rt.relu(rt.add(rt.matMul(x, w1), b1)), w2), b2);
    return rt.neg(rt.mean(rt.sum(rt.mul(y, rt.logSoftmax(logits)), -1)));
  });
  loss.backward(); // a request; the commands after it are delivered after it (FIFO per channel)
  sim.tidy(() => {
    for (const p of params) {
      p.assignSub(p.grad.mul(LR));
      p.zeroGrad();
    }
  });
  loss.dispose();
}

interface Case {
  name: string;
  steps: number;
  /** Sets up a fresh simulation (model and data sent); returns the timed part and what follows it. */
  prepare: () => Promise<{ run: () => Promise<void>; after: () => Promise<void> }>;
}

/**
 * Like timing.ts's measure, with two differences: only the steps are timed (not
 * sending the model and data, which for the loop form is every batch), and the cases
 * take turns, repetition by repetition, so a busy machine slows them alike and the
 * ratios stay meaningful. Median of `repeats` after a warm-up round.
 */
async function measureInTurns(cases: Case[], repeats = 5): Promise<Measurement[]> {
  const samples = cases.map((): number[] => []);
  for (let r = 0; r <= repeats; r++) {
    for (const [i, c] of cases.entries()) {
      const { run, after } = await c.prepare();
      const start = performance.now();
      await run();
      const seconds = (performance.now() - start) / 1000;
      await after();
      if (r > 0) samples[i].push(c.steps / seconds);
    }
  }
  return cases.map((c, i) => {
    const sorted = [...samples[i]].sort((a, b) => a - b);
    return { name: c.name, perSecond: sorted[Math.floor(sorted.length / 2)], samples: samples[i] };
  });
}

const bits = (values: readonly tf.Tensor[]) => values.map((t) => Buffer.from(Float32Array.from(t.dataSync() as Float32Array).buffer).toString('hex')).join();

/** The parameters after `steps` local steps from the seeded initial weights. */
function reference(steps: number): string {
  const s = setup();
  const params = s.model.parameters();
  for (let i = 0; i < steps; i++) localStep(params, s.x, s.y);
  const result = bits(params);
  teardown(s);
  return result;
}

async function run(): Promise<string> {
  const backend = await initBackend();
  const expected: Record<number, string> = { [STEPS]: reference(STEPS), [OP_STEPS]: reference(OP_STEPS) };
  const same: Record<string, boolean> = {};
  const check = (key: string, steps: number, params: readonly tf.Tensor[], sim: Simulation) => {
    same[key] = (same[key] ?? true) && bits(params) === expected[steps] && sim.remoteErrors.length === 0;
  };
  const counts: Record<string, number> = {};
  const countMessages = (sim: Simulation, key: string, steps: number) => {
    let sent = 0;
    sim.eventsOf('sent').subscribe(() => sent++);
    return () => (counts[key] = sent / steps);
  };

  // Plain tfjs.
  const localCase: Case = {
    name: 'local tfjs (valueAndGrads + assign)',
    steps: STEPS,
    prepare: async () => {
      const s = setup();
      const params = s.model.parameters();
      return {
        run: async () => {
          for (let i = 0; i < STEPS; i++) localStep(params, s.x, s.y);
        },
        after: async () => teardown(s),
      };
    },
  };

  // Plan: one runPlan message per step.
  const planCase: Case = {
    name: 'plan: one runPlan message per step',
    steps: STEPS,
    prepare: async () => {
      const s = setup();
      const ptr = trainingPlan(s.model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, INPUTS], [-1, CLASSES]] }).send(s.bob);
      const [xPtr, yPtr] = [s.sim.me.send(s.x, s.bob), s.sim.me.send(s.y, s.bob)];
      await s.sim.settle();
      const done = countMessages(s.sim, 'plan', STEPS);
      return {
        run: async () => {
          for (let i = 0; i < STEPS; i++) ptr(xPtr, yPtr).dispose();
          await s.sim.settle();
        },
        after: async () => {
          done();
          const trained = await ptr.get();
          check('plan', STEPS, [...trained.stateTensors().values()], s.sim);
          trained.dispose();
          teardown(s);
        },
      };
    },
  };

  // Plan, loop form: an epoch of STEPS batches (the same batch repeated) in one request.
  const loopCase: Case = {
    name: 'plan: runPlanLoop, all steps in one message',
    steps: STEPS,
    prepare: async () => {
      const s = setup();
      const ptr = trainingPlan(s.model, { loss: 'softmaxCrossEntropy', optimizer: { lr: LR }, argsShape: [[-1, INPUTS], [-1, CLASSES]] }).send(s.bob);
      const [data, target] = [tf.tile(s.x, [STEPS, 1]), tf.tile(s.y, [STEPS, 1])];
      const [dataPtr, targetPtr] = [s.sim.me.send(data, s.bob), s.sim.me.send(target, s.bob)];
      tf.dispose([data, target]);
      await s.sim.settle();
      const done = countMessages(s.sim, 'loop', STEPS);
      return {
        run: async () => void (await ptr.train({ data: dataPtr, target: targetPtr, epochs: 1, batchSize: BATCH, shuffle: false })),
        after: async () => {
          done();
          const trained = await ptr.get();
          check('loop', STEPS, [...trained.stateTensors().values()], s.sim);
          trained.dispose();
          teardown(s);
        },
      };
    },
  };

  // Op by op: every op of the step is a message.
  const opCase: Case = {
    name: 'op by op: remote op messages per step',
    steps: OP_STEPS,
    prepare: async () => {
      const s = setup();
      const params = s.model.parameters().map((v) => s.sim.me.send(v, s.bob));
      const [xPtr, yPtr] = [s.sim.me.send(s.x, s.bob), s.sim.me.send(s.y, s.bob)];
      await s.sim.settle();
      const done = countMessages(s.sim, 'ops', OP_STEPS);
      return {
        run: async () => {
          for (let i = 0; i < OP_STEPS; i++) opByOpStep(s.sim, params, xPtr, yPtr);
          await s.sim.settle();
        },
        after: async () => {
          done();
          const trained = await Promise.all(params.map((p) => p.get()));
          check('ops', OP_STEPS, trained, s.sim);
          tf.dispose(trained);
          teardown(s);
        },
      };
    },
  };

  const [localRun, planRun, loopRun, opRun] = await measureInTurns([localCase, planCase, loopCase, opCase]);
  const keys = { [planRun.name]: 'plan', [loopRun.name]: 'loop', [opRun.name]: 'ops' };
  const perStep = { [localRun.name]: 0, [planRun.name]: counts.plan, [loopRun.name]: counts.loop, [opRun.name]: counts.ops };
  const rows = [localRun, planRun, loopRun, opRun].map((m) => ({
    case: m.name,
    'steps/s': fmt(m.perSecond),
    'messages/step': perStep[m.name] === 0 ? '0' : perStep[m.name].toFixed(perStep[m.name] < 1 ? 3 : 1),
    'time vs local': `${(localRun.perSecond / m.perSecond).toFixed(1)}×`,
    'weights = local tfjs': m === localRun ? '—' : same[keys[m.name]] ? 'bitwise' : 'NO',
  }));
  return (
    `backend ${backend}; MLP ${INPUTS}-${HIDDEN}-${CLASSES}, softmax cross-entropy, batch ${BATCH}, SGD lr ${LR}; ` +
    `${STEPS} steps (op by op: ${OP_STEPS}), timed without set-up (sending model and data); cases timed in turns, median of 5 after a warm-up round; event log kept off\n\n` +
    table(rows) +
    `\n\nA step as a plan is ${(planRun.perSecond / opRun.perSecond).toFixed(1)}× faster than the same step as remote op messages ` +
    `(${counts.plan.toFixed(0)} vs ${counts.ops.toFixed(0)} messages); the loop form runs ${(loopRun.perSecond / planRun.perSecond).toFixed(1)}× the per-step plan rate.`
  );
}

export const benchmark = { name: 'plans', title: 'Plans: a training step as a plan vs remote op messages vs local tfjs (issue #5)', run };

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
