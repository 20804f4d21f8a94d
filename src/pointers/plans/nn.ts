/**
 * Layers for Plans, PyTorch style: `fc1 = nn.linear(2, 3)` as a field of a Plan
 * subclass, called as `this.fc1(x)` in `forward`.
 *
 * A layer's parameters are tf.Variables drawn from a seeded stream — never from a
 * tfjs initialiser (those use Math.random). Layers are created before their plan
 * knows them (class fields), so they are initialised lazily: the plan initialises
 * its layers in field order, from its own stream, the first time it needs them
 * (build, a call, parameters(), send). Same stream, same fields ⇒ same weights.
 *
 * Parameter layout is tfjs's: a linear layer's weight is [in, out] and computes
 * x·W + b, so a 2-D batch gives the same ops as fedsim's FL dense layers
 * (matMul, add); a 1-D input (seed 002's `net.build(tf.tensor([1, 2]))`) uses dot.
 */
import * as tf from '@tensorflow/tfjs';
import { FedsimError, type RandomStream } from '../../runtime/index.js';
import { callable, hidden } from './callable.js';
import { F } from './functional.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Draws the initial values (row-major) from the stream. */
  init: (rng: RandomStream, size: number) => Float32Array;
}

/** PyTorch's default for linear layers: U(±1/√fanIn) for weight and bias alike. */
export const uniformFanIn = (fanIn: number) => (rng: RandomStream, size: number) => {
  const bound = 1 / Math.sqrt(fanIn);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.uniform(-bound, bound);
  return values;
};

export interface Layer {
  (x: any): any;
}

export abstract class Layer {
  declare private params: Map<string, tf.Variable> | undefined;

  constructor() {
    const self = callable<Layer>(new.target.prototype, (x: unknown) => self.forward(x));
    hidden(self, { params: undefined });
    return self;
  }

  abstract forward(x: any): any;

  /** This layer's own parameters, in initialisation order. */
  protected parameterSpecs(): ParamSpec[] {
    return [];
  }

  /** Sub-layers, named (their parameters are `name.param`). */
  children(): Array<[string, Layer]> {
    return [];
  }

  get initialised(): boolean {
    return this.params !== undefined && this.children().every(([, child]) => child.initialised);
  }

  /** Creates the parameters (once), drawing from `rng`: own parameters in order, then each child's. */
  initialise(rng: RandomStream): this {
    if (this.params === undefined) {
      this.params = new Map(
        this.parameterSpecs().map((spec) => {
          const size = spec.shape.reduce((a, b) => a * b, 1);
          const initial = tf.tensor(spec.init(rng, size), spec.shape, 'float32');
          const variable = tf.variable(initial, true);
          initial.dispose(); // the variable holds its own reference to the data
          return [spec.name, variable];
        }),
      );
    }
    for (const [, child] of this.children()) child.initialise(rng);
    return this;
  }

  /** `[name, variable]` for every parameter, prefixed (`fc1.weight`). */
  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    const join = (name: string) => (prefix ? `${prefix}.${name}` : name);
    const own = [...(this.params ?? [])].map(([name, v]): [string, tf.Variable] => [join(name), v]);
    return [...own, ...this.children().flatMap(([name, child]) => child.namedParameters(join(name)))];
  }

  protected param(name: string): tf.Variable {
    const value = this.params?.get(name);
    if (value === undefined || value.isDisposed) {
      throw new FedsimError(
        `${this.constructor.name}.${name} is ${value ? 'disposed' : 'not initialised yet'}. A layer is initialised by the Plan it belongs to on first use (plan.build(x), plan(x), plan.parameters()); a stand-alone layer needs layer.initialise(rng).`,
      );
    }
    return value;
  }

  dispose(): void {
    for (const v of this.params?.values() ?? []) v.dispose();
    for (const [, child] of this.children()) child.dispose();
  }
}

/** y = x·W + b, W of shape [in, out] (PyTorch's nn.Linear, in tfjs's layout). */
export class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    for (const [what, n] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nn.linear: ${what} must be a positive integer, got ${n}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = options.bias ?? true;
  }

  protected override parameterSpecs(): ParamSpec[] {
    const init = uniformFanIn(this.inFeatures);
    const specs: ParamSpec[] = [{ name: 'weight', shape: [this.inFeatures, this.outFeatures], init }];
    if (this.hasBias) specs.push({ name: 'bias', shape: [this.outFeatures], init });
    return specs;
  }

  get weight(): tf.Variable {
    return this.param('weight');
  }

  get bias(): tf.Variable | undefined {
    return this.hasBias ? this.param('bias') : undefined;
  }

  forward(x: any): any {
    const y = x.rank === 1 ? F.dot(x, this.weight) : F.matMul(x, this.weight);
    return this.hasBias ? F.add(y, this.bias) : y;
  }
}

/** Layers and functions applied in turn: `nn.sequential(nn.linear(784, 200), F.relu, nn.linear(200, 10))`. */
export class Sequential extends Layer {
  readonly items: ReadonlyArray<Layer | ((x: any) => any)>;

  constructor(items: ReadonlyArray<Layer | ((x: any) => any)>) {
    super();
    this.items = [...items];
  }

  override children(): Array<[string, Layer]> {
    return this.items.flatMap((item, i): Array<[string, Layer]> => (item instanceof Layer ? [[String(i), item]] : []));
  }

  forward(x: any): any {
    return this.items.reduce((value, item) => item(value), x);
  }
}

export const nn = {
  linear: (inFeatures: number, outFeatures: number, options?: { bias?: boolean }) => new Linear(inFeatures, outFeatures, options),
  sequential: (...items: Array<Layer | ((x: any) => any)>) => new Sequential(items),
};
