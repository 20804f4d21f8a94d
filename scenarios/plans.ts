/**
 * Tutorial flow, seed 002 §2: Plans — a function recorded once as a list of ops,
 * sent to a worker and run there by reference: one message per run, not one per op.
 *
 * Usage 1: `calcu = func2plan(fn, { argsShape })`, sent to alice, called on two
 * pointers. Usage 2: `class Net extends Plan` (fc1 2→3, relu, fc2 3→2, log_softmax
 * over dim 0), built on tf.tensor([1, 2]), sent to bob, run on a data pointer — the
 * result equals running net.forward locally, bit for bit — and fetched back.
 */
import * as tf from '@tensorflow/tfjs';
import { F, func2plan, hook, nn, Plan, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

/** Seed 002's Net (the plan tests use this one class too, from test/helpers/plans.ts). */
export class Net extends Plan {
  fc1 = nn.linear(2, 3);
  fc2 = nn.linear(3, 2);

  override forward(x: any) {
    x = F.relu(this.fc1(x));
    x = this.fc2(x);
    return F.logSoftmax(x, 0);
  }
}

const sameBits = (a: tf.Tensor, b: tf.Tensor) => a.dtype === b.dtype && a.shape.join() === b.shape.join() && Buffer.from((a.dataSync() as Float32Array).buffer).equals(Buffer.from((b.dataSync() as Float32Array).buffer));

export default async function plans(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const locals: tf.Tensor[] = [];
  const local = <T extends tf.Tensor>(t: T): T => (locals.push(t), t);
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  let runPlanMessages = 0;
  sim.eventsOf('sent').subscribe((event) => {
    if (event.envelope.type === 'runPlan') runPlanMessages++;
  });

  // Usage 1: a plan from a function, built at once from the argument shapes (−1: any size).
  const calcu = func2plan(
    function calcu(x: any, y: any) {
      const z = x.add(y);
      return z.div(2);
    },
    { argsShape: [[-1], [-1]] },
  );
  out.print(calcu.toString());
  const pointerPlan = calcu.send(alice);
  out.print(pointerPlan);
  const xPtr = local(tf.tensor([1, 2, 3, 4])).send(alice);
  const yPtr = local(tf.tensor([3, 2, 1, 0])).send(alice);
  const resultPtr = pointerPlan(xPtr, yPtr);
  out.print(resultPtr);
  const calcuResult = local(await resultPtr.get());
  out.print(calcuResult);
  out.print(`runPlan messages: ${runPlanMessages}`);

  // Usage 2: a Plan subclass with parameters, built on an example input.
  const net = new Net({ rng: sim.rng('model/init') });
  net.build(local(tf.tensor([1, 2])));
  out.print(net.toString());
  const ptrNet = net.send(bob);
  const inputData = local(tf.tensor([1, 2])).send(bob);
  const netResult = local(await ptrNet(inputData).get());
  out.print(netResult);
  const direct = local(tf.tidy(() => net.forward(tf.tensor([1, 2])) as tf.Tensor));
  out.print('same bits as net.forward(x) here:', sameBits(netResult, direct));
  out.print(await bob.listObjects());
  const fetched = await ptrNet.get();
  out.print('fetched back:', fetched.name, '— bob now holds', (await bob.listObjects()).size, 'object(s)');
  const fetchedResult = local(fetched(local(tf.tensor([1, 2]))));
  out.print('the fetched plan gives the same bits:', sameBits(fetchedResult, direct));
  out.print(`runPlan messages: ${runPlanMessages}`);

  const observed = {
    calcu: calcuResult.arraySync(),
    net: Array.from(netResult.dataSync()),
    bitwise: sameBits(netResult, direct) && sameBits(fetchedResult, direct),
    runPlanMessages,
  };
  pointerPlan.dispose();
  for (const p of [xPtr, yPtr, inputData]) p.dispose();
  fetched.dispose();
  net.dispose();
  calcu.dispose();
  tf.dispose(locals);
  await sim.settle();
  return { printed: out.lines, observed };
}
