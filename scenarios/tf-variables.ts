/**
 * Tutorial flow, seed 003 ("Variables"): a tf.Variable sent to Bob and updated in
 * place there by manual differentiation (`w.assign_sub(dz/dw)`), then fetched. The
 * tutorial's unseeded glorot_normal becomes a seeded one (a named random stream),
 * and remote autograd checks the manual gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { hook, rt, Transcript, type ScenarioOutput, type Simulation } from 'fedsim';

export default async function tfVariables(sim: Simulation): Promise<ScenarioOutput> {
  hook(tf);
  const out = new Transcript();
  const bob = sim.worker('bob');
  const locals: tf.Tensor[] = [];
  const local = <T extends tf.Tensor>(t: T): T => (locals.push(t), t);

  const id = local(tf.tensor([[1, 0], [0, 1]])).send(bob);
  // x = tf.expand_dims(id[0], 0), on bob
  const x = rt.expandDims(rt.gather(id, 0), 0);

  const seed = sim.rng('model/init').int(2 ** 31);
  const wInit = local(tf.initializers.glorotNormal({ seed }).apply([2, 1], 'float32'));
  const wLocal = local(tf.variable(wInit));
  const w = wLocal.send(bob);
  const z = rt.matMul(x, w);
  out.print('z = matmul(x, w):', z);

  // Manual differentiation & update, in place on bob
  const dzdx = rt.transpose(x);
  w.assignSub(dzdx);

  // Remote autograd agrees with the manual derivative: dz/dw = xᵀ
  await z.sum().backward();
  const autograd = await w.grad.get();
  const manual = await dzdx.get();
  out.print('dz/dw by backward():', autograd);
  out.print('dz/dw by hand:', manual);

  const updated = await w.get();
  out.print('Updated: ', updated, `(a ${updated instanceof tf.Variable ? 'tf.Variable' : 'tf.Tensor'} of shape [${updated.shape}])`);

  const observed = {
    initial: wLocal.arraySync(),
    updated: updated.arraySync(),
    isVariable: updated instanceof tf.Variable,
    autograd: autograd.arraySync(),
    manual: manual.arraySync(),
  };
  tf.dispose([autograd, manual, updated, ...locals]);
  await bob.clearObjects();
  return { printed: out.lines, observed };
}
