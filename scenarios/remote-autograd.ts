/**
 * Tutorial flow, seed 000: a worker owned by a clinic, sending and getting back a
 * tensor, remote arithmetic, and remote autograd — an L1 loss computed on the
 * clinic's machine, `loss.backward()` there, and the gradient fetched: [1, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { hook, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

export default async function remoteAutograd(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const locals: tf.Tensor[] = [];
  const local = <T extends tf.Tensor>(t: T): T => (locals.push(t), t);

  // II. a virtual worker owned by a clinic
  const clinic = sim.worker('clinic');

  // III. send a tensor (a gene sequence), get a pointer
  const dnaPtr = local(tf.tensor([0, 1, 2, 1, 2], undefined, 'int32')).send(clinic);
  out.print(dnaPtr);
  out.print(await clinic.listObjects());

  // IV. get it back: the clinic no longer has it
  const dna = await dnaPtr.get();
  out.print(dna);
  out.print(await clinic.listObjects());

  // V. deep learning with pointers
  const a = local(tf.tensor([3.14, 6.28])).send(clinic);
  const b = local(tf.tensor([6.14, 3.28])).send(clinic);
  const c = a.add(b);
  out.print(c);
  const cValue = await c.get();
  out.print(cValue);

  const train = local(tf.tensor([2.4, 6.2])).send(clinic, { requiresGrad: true });
  const label = local(tf.tensor([2, 6])).send(clinic);
  // L1 loss, computed on the clinic's machine (tidy deletes the intermediate results there)
  const loss = sim.tidy(() => train.sub(label).abs().sum());
  loss.backward(); // PyTorch style: a statement; it runs in order before what follows
  const grad = await train.grad.get();
  const trainValue = await train.get();
  out.print(trainValue);
  out.print(grad);

  // Gradients accumulate until zeroGrad(), as in PyTorch.
  const w = local(tf.tensor([1, -2, 3])).send(clinic, { requiresGrad: true });
  const l2 = sim.tidy(() => w.square().sum());
  await l2.backward();
  await l2.backward();
  const accumulated = await w.grad.get();
  out.print('after two backward():', accumulated);
  w.zeroGrad();
  const l3 = sim.tidy(() => w.mul(3).sum());
  await l3.backward();
  const afterZero = await w.grad.get();
  out.print('after zeroGrad() and one more backward():', afterZero);

  const observed = {
    dna: dna.arraySync(),
    c: cValue.arraySync(),
    train: trainValue.arraySync(),
    grad: grad.arraySync(),
    accumulated: accumulated.arraySync(),
    afterZero: afterZero.arraySync(),
  };
  tf.dispose([dna, cValue, grad, trainValue, accumulated, afterZero, ...locals]);
  for (const p of [a, b, label, loss, w, l2, l3]) p.dispose();
  await sim.settle();
  return { printed: out.lines, observed };
}
