/**
 * Tutorial flow, seed 002 §1.3: sending a pointer to another worker (a pointer chain),
 * fetching one hop back, pulling the object along the chain (remoteGet), and moving
 * data straight from one worker to another.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

export default async function pointerChains(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const locals: tf.Tensor[] = [];
  const local = <T extends tf.Tensor>(t: T): T => (locals.push(t), t);

  // Send a pointer to a remote machine: bob holds the tensor, alice a pointer to it.
  await bob.clearObjects();
  await alice.clearObjects();
  const xPtr = local(tf.tensor([1, 2, 3, 4])).send(bob);
  out.print(xPtr.owner);
  const pointerToXPtr = xPtr.send(alice);
  out.print(pointerToXPtr.owner);
  // PySyft's bob._objects, through the front door: a listing message each worker answers.
  const bobsObjects = await bob.listObjects();
  const alicesObjects = await alice.listObjects();
  out.print(bobsObjects);
  out.print(alicesObjects);
  const bobHeld = bobsObjects.size;
  const aliceEntry = alicesObjects.shown(alicesObjects.ids[0]);

  // get() on the chain brings back one hop: a pointer to bob's tensor.
  const oneHop = await pointerToXPtr.get();
  out.print('pointer_to_x_ptr.get():', oneHop);
  out.print('  bob:', await bob.listObjects());
  out.print('alice:', await alice.listObjects());
  const x = await oneHop.get();
  out.print('.get() again:', x);

  // remoteGet(): alice pulls bob's object to herself through her pointer.
  const chain = local(tf.tensor([5, 6, 7])).send(bob).send(alice);
  const pulledPtr = await chain.remoteGet(); // the same pointer, now to a tensor on alice
  out.print('after remoteGet  bob:', await bob.listObjects());
  out.print('after remoteGet alice:', await alice.listObjects());
  const pulled = await pulledPtr.get();
  out.print('chain.get():', pulled);

  // Send data directly to a remote machine: move() goes bob → alice, not through me.
  const moved = local(tf.tensor([1, 2, 3, 4, 5])).send(bob);
  out.print('  bob:', await bob.listObjects());
  out.print('alice:', await alice.listObjects());
  out.print(moved);
  const meToAlice = sim.metrics.link('me', 'alice').sent.messages;
  const bobToAlice = sim.metrics.link('bob', 'alice').sent.messages;
  await moved.move(alice);
  const moveTraffic = {
    // move() sends nothing from me to alice: the tensor travels bob → alice.
    meToAlice: sim.metrics.link('me', 'alice').sent.messages - meToAlice,
    bobToAlice: sim.metrics.link('bob', 'alice').sent.messages - bobToAlice,
  };
  out.print('  bob:', await bob.listObjects());
  out.print('alice:', await alice.listObjects());
  out.print(moved);
  const movedValue = await moved.get();
  out.print('moved.get():', movedValue);

  const observed = {
    bobHeld,
    aliceEntry,
    oneHop: String(oneHop),
    x: x.arraySync(),
    pulled: pulled.arraySync(),
    moved: String(moved),
    movedValue: movedValue.arraySync(),
    moveTraffic,
  };
  tf.dispose([x, pulled, movedValue, ...locals]);
  await sim.settle();
  return { printed: out.lines, observed };
}
