/**
 * SCAFFOLD (Karimireddy et al. 2020, Algorithm 1, option II) written out again in float64
 * plain JS, independent of fedsim's tensors, strategies and round engine: the reference the
 * SCAFFOLD tests and bench/scaffold-dynamics.ts compare fedsim with.
 *
 *   client i in S     y ← x;  K times: y ← y − η (g_i(y) − c_i + c)   (minibatch g_i)
 *                     c_i⁺ = c_i − c + (x − y)/(K η);  Δy_i = y − x;  Δc_i = c_i⁺ − c_i
 *   server            x ← x + η_g · mean_{i∈S} Δy_i;   c ← c + (1/N) Σ_{i∈S} Δc_i
 *
 * `mean` is the paper's uniform 1/|S| or fedsim's n_i-weighted mean (`modelMean`); K is the
 * client's own step count, E·⌈n_i/B⌉. Clients not in S keep their c_i (stale); a client's
 * first c_i is zero. The model is y = xW + b with W row-major [inputs × outputs] (fedsim's
 * weight layout [W, b]), trained on the batch-mean MSE (over all outputs) or softmax
 * cross-entropy. Which clients take part and each epoch's sample order are inputs, so a
 * test can hand in fedsim's own (its named shuffle streams, its round's selection).
 */

export type ReferenceLoss = 'mse' | 'softmax-cross-entropy';

export interface ReferenceClient {
  id: string;
  /** n × inputs, row-major. */
  x: ArrayLike<number>;
  /** mse: n × outputs targets; softmax-cross-entropy: n class labels. */
  y: ArrayLike<number>;
}

export interface ReferenceOptions {
  loss: ReferenceLoss;
  inputs: number;
  outputs: number;
  clients: readonly ReferenceClient[];
  /** [W, b] to start from. */
  initial: readonly ArrayLike<number>[];
  rounds: number;
  epochs: number;
  batchSize: number;
  lr: number;
  serverLr?: number;
  modelMean: 'weighted' | 'uniform';
  /** Every client takes exactly this many steps (epochs continue past E as needed, or stop early) instead of E·⌈n_i/B⌉: the paper's equal-K setting. */
  localSteps?: number;
  /** false: c and every c_i stay zero (FedAvg on the same code path, for comparison). Default true. */
  controlVariates?: boolean;
  /** The clients of round r (1-based). */
  selection(round: number): readonly string[];
  /** Shuffles `order` in place for one epoch of client `id` in round r (called once per epoch, in order). */
  shuffler(id: string, round: number): (order: number[]) => void;
  /** Called after every round with the server's state. */
  onRound?(round: number, state: ReferenceState): void;
}

export interface ReferenceState {
  /** [W, b], float64. */
  x: Float64Array[];
  c: Float64Array[];
  ci: Map<string, Float64Array[]>;
  /** The last round's K per client that took part. */
  steps: Map<string, number>;
}

const clone = (w: readonly ArrayLike<number>[]) => w.map((a) => Float64Array.from(a));

function sampleCount(client: ReferenceClient, options: ReferenceOptions): number {
  const n = options.loss === 'mse' ? client.y.length / options.outputs : client.y.length;
  if (!Number.isInteger(n) || client.x.length !== n * options.inputs) throw new Error(`reference: client ${client.id} has inconsistent x/y sizes`);
  return n;
}

/** Adds the gradient of the batch-mean loss over rows `rows` at (W, b) into gW, gb. */
export function batchGradient(options: Pick<ReferenceOptions, 'loss' | 'inputs' | 'outputs'>, client: ReferenceClient, rows: readonly number[], W: Float64Array, b: Float64Array, gW: Float64Array, gb: Float64Array): void {
  const { inputs: d, outputs: k } = options;
  const z = new Float64Array(k);
  const m = rows.length;
  gW.fill(0);
  gb.fill(0);
  for (const i of rows) {
    for (let o = 0; o < k; o++) {
      let s = b[o];
      for (let j = 0; j < d; j++) s += client.x[i * d + j] * W[j * k + o];
      z[o] = s;
    }
    if (options.loss === 'mse') {
      // mean over m·k elements of (z − t)²
      for (let o = 0; o < k; o++) z[o] = (2 * (z[o] - client.y[i * k + o])) / (m * k);
    } else {
      let max = -Infinity;
      for (let o = 0; o < k; o++) max = Math.max(max, z[o]);
      let sum = 0;
      for (let o = 0; o < k; o++) sum += (z[o] = Math.exp(z[o] - max));
      for (let o = 0; o < k; o++) z[o] = (z[o] / sum - (o === client.y[i] ? 1 : 0)) / m;
    }
    for (let o = 0; o < k; o++) {
      gb[o] += z[o];
      for (let j = 0; j < d; j++) gW[j * k + o] += client.x[i * d + j] * z[o];
    }
  }
}

/** Mean loss of the model [W, b] over all rows of `clients` (sample-weighted). */
export function referenceLoss(options: Pick<ReferenceOptions, 'loss' | 'inputs' | 'outputs'>, clients: readonly ReferenceClient[], x: readonly Float64Array[]): number {
  const { inputs: d, outputs: k } = options;
  const [W, b] = x;
  let total = 0;
  let count = 0;
  const z = new Float64Array(k);
  for (const client of clients) {
    const n = options.loss === 'mse' ? client.y.length / k : client.y.length;
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < k; o++) {
        let s = b[o];
        for (let j = 0; j < d; j++) s += client.x[i * d + j] * W[j * k + o];
        z[o] = s;
      }
      if (options.loss === 'mse') {
        for (let o = 0; o < k; o++) total += (z[o] - client.y[i * k + o]) ** 2 / k;
      } else {
        const max = Math.max(...z);
        const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
        total += lse - z[client.y[i]];
      }
      count++;
    }
  }
  return total / count;
}

/** Runs SCAFFOLD; returns the final server state (and reports every round through onRound). */
export function scaffoldReference(options: ReferenceOptions): ReferenceState {
  const { inputs: d, outputs: k, epochs, batchSize: B, lr } = options;
  const serverLr = options.serverLr ?? 1;
  const N = options.clients.length;
  const byId = new Map(options.clients.map((c) => [c.id, c]));
  const state: ReferenceState = { x: clone(options.initial), c: options.initial.map((w) => new Float64Array(w.length)), ci: new Map(), steps: new Map() };
  if (state.x.length !== 2 || state.x[0].length !== d * k || state.x[1].length !== k) throw new Error('reference: initial must be [W (inputs×outputs), b (outputs)]');
  const gW = new Float64Array(d * k);
  const gb = new Float64Array(k);
  for (let round = 1; round <= options.rounds; round++) {
    const selected = options.selection(round);
    const x = state.x;
    const c = state.c;
    const sumModel = x.map((w) => new Float64Array(w.length));
    const sumDeltaC = x.map((w) => new Float64Array(w.length));
    let totalWeight = 0;
    state.steps = new Map();
    for (const id of selected) {
      const client = byId.get(id);
      if (!client) throw new Error(`reference: unknown client ${id}`);
      const n = sampleCount(client, options);
      const ci = state.ci.get(id) ?? x.map((w) => new Float64Array(w.length));
      const y = clone(x);
      const shuffle = options.shuffler(id, round);
      const order = new Array<number>(n);
      let K = 0;
      const fixedK = options.localSteps;
      for (let epoch = 0; fixedK === undefined ? epoch < epochs : K < fixedK; epoch++) {
        for (let i = 0; i < n; i++) order[i] = i;
        shuffle(order);
        for (let start = 0; start < n && (fixedK === undefined || K < fixedK); start += B) {
          batchGradient(options, client, order.slice(start, Math.min(n, start + B)), y[0], y[1], gW, gb);
          for (let j = 0; j < gW.length; j++) y[0][j] -= lr * (gW[j] - ci[0][j] + c[0][j]);
          for (let j = 0; j < gb.length; j++) y[1][j] -= lr * (gb[j] - ci[1][j] + c[1][j]);
          K++;
        }
      }
      const next = ci.map((cl, l) => cl.map((v, j) => v - c[l][j] + (x[l][j] - y[l][j]) / (K * lr)));
      const weight = options.modelMean === 'weighted' ? n : 1;
      totalWeight += weight;
      y.forEach((w, l) => w.forEach((v, j) => (sumModel[l][j] += weight * v)));
      next.forEach((w, l) => w.forEach((v, j) => (sumDeltaC[l][j] += v - ci[l][j])));
      if (options.controlVariates !== false) state.ci.set(id, next);
      state.steps.set(id, K);
    }
    state.x = x.map((w, l) => w.map((v, j) => v + serverLr * (sumModel[l][j] / totalWeight - v)));
    if (options.controlVariates !== false) state.c = c.map((w, l) => w.map((v, j) => v + sumDeltaC[l][j] / N));
    options.onRound?.(round, state);
  }
  return state;
}
