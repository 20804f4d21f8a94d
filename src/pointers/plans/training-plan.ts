/**
 * Training as a Plan: one SGD step of a model — forward, loss, gradients, update —
 * recorded as one op list, so that a worker can run every minibatch of every epoch
 * from a single message (`ptr.train(...)`).
 *
 *   step(x, y):  loss = L(model(x), y)
 *                g    = grads(loss, wrt = model's parameters)     ← the `grads` plan op
 *                assign(p, p − lr·g)  for each parameter p        ← the `assign` plan op
 *                return loss
 *
 * The plan's state *is* the model's parameters, by reference and by name
 * (`fc1.weight`, …): running the plan locally trains the model in place, and a plan
 * fetched back from a worker carries the trained values under the same names
 * (`model.loadState(await ptr.get())`).
 */
import { FedsimError } from '../../runtime/index.js';
import { F } from './functional.js';
import { func2plan } from './func2plan.js';
import { Plan } from './plan.js';

export type TrainingLoss = 'mse' | 'softmaxCrossEntropy' | 'softmax-cross-entropy' | ((output: any, target: any) => any);

export interface TrainingPlanOptions {
  /** `mse` (mean squared error) or `softmaxCrossEntropy` (alias `softmax-cross-entropy`: logits against one-hot targets), or a function of (output, target) written with F. */
  loss: TrainingLoss;
  optimizer: { name?: 'sgd'; lr: number };
  /** Shapes of x and y with −1 for the batch size, e.g. [[-1, 20], [-1, 2]]: builds the plan at once (else call build(xb, yb)). */
  argsShape?: readonly [readonly number[], readonly number[]];
  /** Default `<model name>.train`. */
  name?: string;
}

export function trainingPlan(model: Plan, options: TrainingPlanOptions): Plan {
  if (!(model instanceof Plan)) throw new TypeError('trainingPlan: the model must be a Plan (a Plan subclass with nn layers, or a func2plan plan with declared parameters)');
  const params = model.namedParameters();
  if (params.length === 0) throw new FedsimError(`trainingPlan: ${model.name} has no parameters to train (declare layers as fields, e.g. fc1 = nn.linear(2, 3)).`);
  const { lr, name: optimizer = 'sgd' } = options.optimizer ?? {};
  if (optimizer !== 'sgd') throw new FedsimError(`trainingPlan: optimizer '${optimizer}' is not supported; plans train with { name: 'sgd', lr }.`);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) throw new RangeError(`trainingPlan: optimizer.lr must be a positive number, got ${lr}`);
  const loss = options.loss === 'mse' ? F.mseLoss : options.loss === 'softmaxCrossEntropy' || options.loss === 'softmax-cross-entropy' ? F.softmaxCrossEntropy : options.loss;
  if (typeof loss !== 'function') throw new TypeError(`trainingPlan: loss must be 'mse', 'softmaxCrossEntropy' or a function (output, target) => loss, got ${String(options.loss)}`);
  const variables = params.map(([, v]) => v);
  const step = (x: unknown, y: unknown) => {
    const value = loss(model(x), y);
    const grads = F.grads(value, variables);
    variables.forEach((p, i) => F.assign(p, F.sub(p, F.mul(grads[i], lr))));
    return value;
  };
  return func2plan(step, { name: options.name ?? `${model.name}.train`, argNames: ['x', 'y'], state: params, argsShape: options.argsShape });
}
