/**
 * Seeded weight initialisation.
 *
 * tfjs's initialisers draw from Math.random (or from a seed that is itself drawn
 * from it), so fedsim never uses them: every initial weight comes from a named
 * RandomStream, is drawn in float64 and rounded to float32 in a fixed order
 * (parameter order, then row-major), and so is bit-identical for one seed on any
 * machine and backend.
 *
 * The rule, one per parameter:
 *  - weights followed by a ReLU: He uniform, U(±√(6/fanIn)) (He et al. 2015), which
 *    keeps activations' variance through ReLU layers;
 *  - other weights (output layers, linear and logistic regression): Glorot uniform,
 *    U(±√(6/(fanIn+fanOut))) (Glorot & Bengio 2010), Keras's default;
 *  - biases: zeros (Keras's default; PyTorch draws them, which buys nothing here);
 *  - BatchNorm scales (gamma) and moving variances: ones.
 * Fans follow Keras: a [in, out] matrix has fanIn = in, fanOut = out; a conv kernel
 * [kh, kw, cin, cout] has fanIn = kh·kw·cin, fanOut = kh·kw·cout.
 */
import type { RandomStream } from '../../runtime/rng.js';

export type InitRule = 'he-uniform' | 'glorot-uniform' | 'zeros' | 'ones';

export interface ParamInit {
  name: string;
  shape: number[];
  init: InitRule;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Keras's computeFans: [fanIn, fanOut] of a weight of this shape. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = sizeOf(shape.slice(0, -2));
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** Draws one parameter's initial values from `rng` (zeros and ones draw nothing). */
export function initialValues(param: ParamInit, rng: RandomStream): Float32Array {
  const out = new Float32Array(sizeOf(param.shape));
  if (param.init === 'zeros') return out;
  if (param.init === 'ones') return out.fill(1);
  const [fanIn, fanOut] = fans(param.shape);
  const limit = param.init === 'he-uniform' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

/** Initial values of every parameter, in order. */
export function initialWeights(params: readonly ParamInit[], rng: RandomStream): Float32Array[] {
  return params.map((p) => initialValues(p, rng));
}
