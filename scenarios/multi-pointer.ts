/**
 * Tutorial flow, seed 001 ("Project: Playing with Remote Tensors"): one tensor sent to
 * two workers at once — a MultiPointerTensor — fetched as a list or summed.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

export default async function multiPointer(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const x = tf.tensor([1, 2, 3, 4, 5], undefined, 'int32');

  const xPtr = x.send(bob, alice);
  out.print(xPtr);
  out.print(xPtr.children);
  const both = await xPtr.get();
  out.print(both);

  const summed = await x.send(bob, alice).get({ sumResults: true });
  out.print(summed);

  // Ops run on every child: (x + x) on bob and on alice, summed here.
  const y = x.send(bob, alice);
  const doubledSum = await y.add(y).get({ sumResults: true });
  out.print('(x + x) on both, summed:', doubledSum);

  await sim.settle();
  const observed = {
    pointer: String(xPtr),
    children: [...xPtr.children.keys()],
    both: both.map((t) => t.arraySync()),
    summed: summed.arraySync(),
    doubledSum: doubledSum.arraySync(),
    objects: { bob: (await bob.listObjects()).size, alice: (await alice.listObjects()).size },
  };
  y.dispose();
  tf.dispose([x, ...both, summed, doubledSum]);
  await sim.settle();
  return { printed: out.lines, observed };
}
