/**
 * Tutorial flows: sending tensors to a worker, pointer metadata, get, and remote
 * arithmetic (seeds 001 "Basic Remote Execution", 002 §1.2, 003 Part 1 §1.1–1.2).
 *
 * Object ids are sequential per simulation instead of PySyft's random integers, so
 * every run prints the same ids.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, rt, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

export default async function pointersBasics(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  // send() sends a copy: the local tensors stay ours, to dispose at the end.
  const locals: tf.Tensor[] = [];
  const local = <T extends tf.Tensor>(t: T): T => (locals.push(t), t);

  // Section 1.1 — sending tensors to Bob's machine
  out.print('bob.objects:', await bob.listObjects());
  const xPtr = local(tf.tensor([1, 2, 3, 4, 5])).send(bob);
  const yPtr = local(tf.tensor([1, 1, 1, 1, 1])).send(bob);
  out.print('bob.objects:', await bob.listObjects());
  const zPtr = xPtr.add(xPtr);
  out.print('z_ptr:', zPtr);
  out.print('bob.objects:', await bob.listObjects());

  // The metadata a pointer carries
  out.print('x_ptr.location:', xPtr.location);
  out.print('bob == x_ptr.location:', bob === xPtr.location);
  out.print('x_ptr.id_at_location:', xPtr.idAtLocation);
  out.print('x_ptr.id:', xPtr.id);
  out.print('x_ptr.owner:', xPtr.owner);
  out.print('me == x_ptr.owner:', sim.me === xPtr.owner);

  // get() brings the tensors back; Bob no longer has them
  const x = await xPtr.get();
  const y = await yPtr.get();
  const z = await zPtr.get();
  out.print('x_ptr.get():', x);
  out.print('y_ptr.get():', y);
  out.print('z_ptr.get():', z);
  out.print('bob.objects:', await bob.listObjects());

  // Section 1.2 — arithmetic with pointers, any tfjs op through rt
  const x2 = local(tf.tensor([1, 2, 3, 4])).send(bob);
  const y2 = x2.add(x2);
  const reshaped = rt.reshape(y2, [2, 2]);
  const identity = local(tf.tensor([[1, 0], [0, 1]])).send(bob);
  const product = await rt.matMul(reshaped, identity).get();
  out.print('z.get():', product);

  // Seed 002: compute remotely, get the result
  const sum = await local(tf.tensor([1, 2, 3, 4, 5])).send(bob).add(local(tf.tensor([5, 4, 3, 2, 1])).send(bob)).get();
  out.print('(x_ptr + y_ptr).get():', sum);

  await sim.settle();
  const observed = {
    x: x.arraySync(),
    z: z.arraySync(),
    product: product.arraySync(),
    sum: sum.arraySync(),
    pointer: String(zPtr),
    objectsLeft: (await bob.listObjects()).size,
  };
  tf.dispose([x, y, z, product, sum, ...locals]);
  for (const p of [x2, y2, reshaped, identity]) p.dispose();
  await bob.clearObjects(); // the operands of the last sum were never given names to dispose
  await sim.settle();
  return { printed: out.lines, observed };
}
