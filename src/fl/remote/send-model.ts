/**
 * `model.send(worker)` for fedsim's models: the FL layer's half of remote models.
 *
 * The pointer layer sends plain data (a forward program and weight arrays) and knows
 * nothing of model kinds; this module compiles the model and passes a `restore` that
 * rebuilds an FL `Model` from fetched weights, so `await modelPtr.get()` is a Model.
 * That inversion is what keeps the layers pointing down: pointers never import fl.
 *
 * Like `tensor.send`, `model.send(bob)` sends a copy of the weights and leaves the
 * local model as it is. The tutorials write `model.copy().send(bob)` because in PyTorch
 * `send` turns the model itself into a pointer; here `copy()` makes a local clone that
 * is handed over by its first `send()` (it is disposed once its weights are in the
 * message), so the literal tutorial line leaves nothing behind.
 *
 * Importing this module installs `send` and `copy` on every built-in and layers model
 * (they share VariableModel's prototype), as importing the pointer layer installs op
 * methods on pointers.
 */
import { type ModelPointer, sendModel as sendDescription, type SendModelOptions, type VirtualWorker } from '../../pointers/index.js';
import { FlConfigError } from '../errors.js';
import { restoreModel } from '../models/create.js';
import { type Model, VariableModel } from '../models/model.js';
import { compileForward } from './forward-program.js';

declare module '../models/model.js' {
  interface Model {
    /** Sends a copy of this model to `worker` and returns a pointer to it (the model stays here). */
    send(worker: VirtualWorker, options?: SendModelOptions): ModelPointer<Model>;
    /** A local clone to send: `model.copy().send(bob)` hands the clone over (it is disposed once sent). */
    copy(): Model;
  }
  interface VariableModel {
    send(worker: VirtualWorker, options?: SendModelOptions): ModelPointer<Model>;
    copy(): Model;
  }
}

/** Clones made by copy(), disposed by their first send(). */
const handedOver = new WeakSet<Model>();

/** Sends `model` to `worker`: its weights become trainable variables there, its forward a program the worker runs. */
export function sendModel(model: Model, worker: VirtualWorker, options: SendModelOptions = {}): ModelPointer<Model> {
  if (model.disposed) {
    throw new FlConfigError(`model.send: this '${model.spec.kind}' model was disposed; send a live model (a copy() is used up by its first send(): call copy() again for another).`, { op: 'model.send', field: 'model' });
  }
  const spec = model.spec;
  const pointer = sendDescription({ program: compileForward(model), weights: model.getWeights(), restore: (weights) => restoreModel({ spec, weights }) }, worker, options);
  if (handedOver.delete(model)) model.dispose();
  return pointer;
}

function send(this: Model, worker: VirtualWorker, options?: SendModelOptions): ModelPointer<Model> {
  return sendModel(this, worker, options);
}

function copy(this: Model): Model {
  const clone = this.clone();
  handedOver.add(clone);
  return clone;
}

for (const [name, value] of [['send', send], ['copy', copy]] as const) {
  Object.defineProperty(VariableModel.prototype, name, { value, writable: true, configurable: true, enumerable: false });
}
