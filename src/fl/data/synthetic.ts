/**
 * The Synthetic(α, β) federated data set of FedProx (Li et al. 2020, "Federated
 * Optimization in Heterogeneous Networks", §5.1), following the authors' script
 * data/synthetic_1_1/generate_synthetic.py (and its _0_0, _0.5_0.5 siblings) and
 * data/synthetic_iid/generate_iid.py.
 *
 * For device k:  u_k ~ N(0, α),  B_k ~ N(0, β),  W_k (features×classes) and b_k ~ N(u_k, 1),
 * v_k[j] ~ N(B_k, 1),  x ~ N(v_k, Σ) with Σ = diag(j^-1.2),  y = argmax(softmax(x·W_k + b_k)),
 * n_k = ⌊lognormal(4, 2)⌋ + 50, the first ⌊0.9·n_k⌋ samples for training, the rest for test.
 *
 * α and β are STANDARD DEVIATIONS, not variances: the paper writes N(0, α) but the
 * script calls np.random.normal(0, alpha, NUM_USER), whose second argument is the
 * scale (std). We follow the script, since its outputs are what the paper's numbers
 * were measured on. α is meant to control how much the local models differ (but see
 * below), β how much the local feature distributions differ. Both may be 0 (then u_k = B_k = 0 exactly, but each
 * device still has its own W_k, b_k, v_k: Synthetic(0,0) is not IID).
 *
 * A property of the original worth knowing: u_k shifts every entry of W_k and b_k by
 * the same amount, so it adds u_k·(1 + Σ_j x_j) to every class's logit alike and the
 * argmax never sees it. Given the same underlying draws, α changes no label: in law,
 * Synthetic(α, β) does not depend on α at all. We reproduce this faithfully (the
 * paper's numbers were measured on it); label skew across devices comes from each
 * device's own W_k, b_k and from v_k (β).
 *
 * `iid: true` is the script's synthetic_iid: one global W, b ~ N(0, 1) and every
 * x ~ N(0, Σ); α and β are then unused.
 *
 * Two deliberate departures, neither of which changes the distribution:
 *  - the script shuffles each device's samples before the 90/10 split; samples are
 *    i.i.d. within a device, so a shuffle adds nothing and we take them in draw order;
 *  - the script draws everything from one global stream; we give each device its own
 *    sub-stream `<name>/device/<k>` (and `<name>/global` for the IID model), so adding
 *    devices never changes device 0's data.
 *    Within a device the order is: n_k, u_k, B_k, v_k, W_k (row-major), b_k, then the
 *    samples; u_k and B_k are drawn as α·z and β·z even when α or β is 0, so changing
 *    α or β rescales the same devices instead of reshuffling every later draw.
 *
 * lognormal(4, 2) has a heavy tail (1 device in 100 draws n > 5,800, 1 in 1000 n > 26,000),
 * so `maxSamplesPerDevice` can cap n_k; by default there is no cap, as in the script.
 */
import { createStream, type RandomStream, type Seed } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';

export interface SyntheticOptions {
  alpha: number;
  beta: number;
  devices?: number;
  features?: number;
  classes?: number;
  iid?: boolean;
  trainFraction?: number;
  /** Upper bound on n_k after the lognormal draw (default: none, as in FedProx). */
  maxSamplesPerDevice?: number;
}

export interface SyntheticDevice {
  id: number;
  /** nTrain × features, row-major. */
  trainX: Float32Array;
  trainY: Int32Array;
  /** nTest × features, row-major. */
  testX: Float32Array;
  testY: Int32Array;
  /** n_k = nTrain + nTest. */
  n: number;
  nTrain: number;
  nTest: number;
  /** The device's model-mean u_k and feature-mean B_k (both 0 for the IID variant). */
  u: number;
  B: number;
}

/** Either a stream (two uint32 are drawn from it to key the sub-streams) or a seed and a stream name. */
export type SyntheticRandomness = RandomStream | { seed: Seed; name: string };

/** Refuse sizes whose arrays would not fit comfortably in memory (2^28 float32 = 1 GiB). */
const MAX_ELEMENTS = 2 ** 28;

function checkNonNegative(what: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new FlConfigError(`syntheticFedProx: ${what} must be a finite number ≥ 0, got ${v}; Synthetic(α, β) uses 0, 0.5 or 1`, { op: 'syntheticFedProx', field: what });
}

function checkPositiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new FlConfigError(`syntheticFedProx: ${what} must be a positive integer, got ${v}; pass a whole number ≥ 1`, { op: 'syntheticFedProx', field: what });
}

function subStreams(source: SyntheticRandomness): (suffix: string) => RandomStream {
  if ('seed' in source && !('next' in source)) {
    return (suffix) => createStream(source.seed, `${source.name}/${suffix}`);
  }
  const stream = source as RandomStream;
  // A fixed number of draws, whatever the options, keys every sub-stream.
  const key = `${stream.uint32().toString(16)}-${stream.uint32().toString(16)}`;
  return (suffix) => createStream(key, `${stream.name}/${suffix}`);
}

export function syntheticFedProx(options: SyntheticOptions, rng: SyntheticRandomness): SyntheticDevice[] {
  const { alpha, beta, devices = 30, features = 60, classes = 10, iid = false, trainFraction = 0.9 } = options;
  const cap = options.maxSamplesPerDevice;
  checkNonNegative('alpha', alpha);
  checkNonNegative('beta', beta);
  checkPositiveInt('devices', devices);
  checkPositiveInt('features', features);
  checkPositiveInt('classes', classes);
  if (!(trainFraction >= 0 && trainFraction <= 1)) {
    throw new FlConfigError(`syntheticFedProx: trainFraction must be in [0, 1], got ${trainFraction}; the script's split is 0.9`, { op: 'syntheticFedProx', field: 'trainFraction' });
  }
  if (cap !== undefined) checkPositiveInt('maxSamplesPerDevice', cap);

  const stream = subStreams(rng);
  // Σ = diag(j^-1.2), j = 1..features; x_j = v_j + sqrt(Σ_jj)·z.
  const sd = new Float64Array(features);
  for (let j = 0; j < features; j++) sd[j] = Math.sqrt(Math.pow(j + 1, -1.2));

  let globalModel: { W: Float64Array; b: Float64Array } | undefined;
  if (iid) {
    const g = stream('global');
    globalModel = { W: normals(g, features * classes, 0), b: normals(g, classes, 0) };
  }

  const out: SyntheticDevice[] = [];
  for (let k = 0; k < devices; k++) {
    const r = stream(`device/${k}`);
    // np.random.lognormal(4, 2).astype(int) + 50: truncation of a positive number is floor.
    let n = Math.floor(Math.exp(r.normal(4, 2))) + 50;
    if (cap !== undefined) n = Math.min(n, cap);
    if (n * features > MAX_ELEMENTS) {
      throw new FlConfigError(
        `syntheticFedProx: device ${k} drew n = ${n} samples (${n * features} floats); set maxSamplesPerDevice to cap it (at most ${MAX_ELEMENTS} floats per device fit in memory)`,
        { op: 'syntheticFedProx', field: 'maxSamplesPerDevice', device: k },
      );
    }
    let u = 0;
    let B = 0;
    let v: Float64Array;
    let model: { W: Float64Array; b: Float64Array };
    if (globalModel) {
      v = new Float64Array(features);
      model = globalModel;
    } else {
      // `+ 0` turns the -0 of 0·(negative z) into 0.
      u = alpha * r.normal() + 0;
      B = beta * r.normal() + 0;
      v = normals(r, features, B);
      model = { W: normals(r, features * classes, u), b: normals(r, classes, u) };
    }
    const X = new Float32Array(n * features);
    const Y = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      const row = s * features;
      for (let j = 0; j < features; j++) X[row + j] = v[j] + sd[j] * r.normal();
      // Labels come from the stored float32 features, so a model that reads X sees exactly
      // the inputs the labels were computed from. softmax is monotone: argmax of the logits.
      Y[s] = argmaxLogits(X, row, features, classes, model.W, model.b);
    }
    const nTrain = Math.floor(trainFraction * n);
    out.push({
      id: k,
      trainX: X.slice(0, nTrain * features),
      trainY: Y.slice(0, nTrain),
      testX: X.slice(nTrain * features),
      testY: Y.slice(nTrain),
      n,
      nTrain,
      nTest: n - nTrain,
      u,
      B,
    });
  }
  return out;
}

/** `count` draws of N(mean, 1), in order. */
function normals(r: RandomStream, count: number, mean: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = r.normal(mean, 1);
  return out;
}

/** argmax_c of b_c + Σ_j x_j W[j, c]; ties go to the lowest class, as np.argmax does. */
function argmaxLogits(X: Float32Array, row: number, features: number, classes: number, W: Float64Array, b: Float64Array): number {
  let best = 0;
  let bestLogit = -Infinity;
  for (let c = 0; c < classes; c++) {
    let logit = b[c];
    for (let j = 0; j < features; j++) logit += X[row + j] * W[j * classes + c];
    if (logit > bestLogit) {
      bestLogit = logit;
      best = c;
    }
  }
  return best;
}
