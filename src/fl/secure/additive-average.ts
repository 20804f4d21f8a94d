/**
 * Secure average of models with additive sharing, as PySyft 0.2's tutorial "Federated
 * Learning with Encrypted Gradient Aggregation" did it:
 *
 *   new_param = Σ_i params[i].fix_precision().share(bob, alice, crypto_provider=james) … .get().float_precision() / n
 *
 * For each parameter, each participant's worker encodes its own copy in fixed precision
 * and splits it into additive shares (its own stream) that it sends straight to the
 * OTHER participants — or to every participant, itself included, with `shareAmong: 'all'`
 * (the tutorial's two-worker form). Each owner adds up the shares it holds, share-wise
 * (an owner holds no share of its own update: a zero share, see AdditiveSharingTensor);
 * `me` fetches only these sums, adds them up — the sum of the updates, and nothing
 * else — and divides by n.
 *
 * Who sees what: a worker sees one uniform share of every other worker's parameters;
 * `me` sees the n share sums (uniform but for their total) and the total; no message
 * carries one participant's parameters, encoded or not. With 'others' it takes all
 * n − 1 other participants together to rebuild one worker's parameters.
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError } from '../errors.js';
import { AdditiveSharingTensor, Answer, type FixPrecisionOptions, type FixedPrecisionTensor, type PointerTensor, type VirtualWorker } from '../../pointers/index.js';

/** One participant: its worker and pointers to its parameters there (same layout for everyone). */
export interface ModelOnWorker {
  worker: VirtualWorker;
  params: readonly PointerTensor[];
}

export interface AdditiveAverageOptions extends FixPrecisionOptions {
  /** 'others' (default): shares go to the other participants (needs ≥ 3); 'all': to every participant, itself included. */
  shareAmong?: 'others' | 'all';
  /** Passed to share(); averaging needs no triples, but PySyft's tutorial named one. */
  cryptoProvider?: VirtualWorker;
}

/** The participants or their parameters cannot be averaged (a refusal: nothing was shared). */
export class AdditiveAverageError extends FlConfigError {
  override name = 'AdditiveAverageError';
}

/** The average of the participants' parameters, here on `me`, one float32 tensor per parameter. */
export async function additiveAverage(models: readonly ModelOnWorker[], options: AdditiveAverageOptions = {}): Promise<tf.Tensor[]> {
  const { shareAmong = 'others', cryptoProvider, ...fixed } = options;
  const n = models.length;
  if (n < 2) throw new AdditiveAverageError(`additiveAverage: averaging needs at least 2 participants, got ${n}.`);
  if (shareAmong === 'others' && n < 3) {
    throw new AdditiveAverageError(
      `additiveAverage: with ${n} participants, sharing among the OTHER participants leaves each update with one owner, who would hold it whole. ` +
        "Use shareAmong: 'all' (every participant holds a share of every update, as PySyft's two-worker tutorial did), or add participants.",
    );
  }
  const workers = models.map((m) => m.worker);
  if (new Set(workers).size !== n) throw new AdditiveAverageError(`additiveAverage: each participant needs its own worker; got [${workers.map((w) => w.id).join(', ')}].`);
  const layout = models[0].params.length;
  for (const m of models) {
    if (m.params.length !== layout) throw new AdditiveAverageError(`additiveAverage: ${m.worker.id} has ${m.params.length} parameters, ${models[0].worker.id} has ${layout}; every participant must hold the same model.`);
    for (const p of m.params) if (p.location !== m.worker) throw new AdditiveAverageError(`additiveAverage: ${p} is not on ${m.worker.id}; each participant's parameters must be on its own worker.`);
  }
  // Shares need shapes, and shapes are not secret: ask for the unknown ones (all at once).
  await Promise.all(models.flatMap((m) => m.params.filter((p) => !p.shape).map((p) => p.getShape())));
  for (let p = 0; p < layout; p++) {
    const shape = models[0].params[p].shape!;
    for (const m of models) {
      const other = m.params[p].shape!;
      if (other.length !== shape.length || other.some((d, i) => d !== shape[i])) {
        throw new AdditiveAverageError(`additiveAverage: parameter ${p} has shape [${other}] on ${m.worker.id} and [${shape}] on ${models[0].worker.id}.`);
      }
    }
  }

  // Every share and every sum is sent before anything is awaited: one pipelined exchange.
  const shared = Array.from({ length: layout }, (_, p) =>
    models.map((m) => {
      const encoded = m.params[p].fixPrecision(fixed);
      const owners = shareAmong === 'all' ? workers : workers.filter((w) => w !== m.worker);
      const ast = encoded.share(...owners, cryptoProvider ? { cryptoProvider } : {});
      encoded.dispose(); // after the share command on the same channel: the worker has split it already
      return ast;
    }),
  );
  const sums = shared.map((asts) => AdditiveSharingTensor.sum(asts));
  let totals: FixedPrecisionTensor[];
  try {
    totals = await Answer.all(sums.map((s) => s.get()));
  } finally {
    // The individual shares are needed until every owner has added them up, i.e. until the sums arrived.
    for (const asts of shared) for (const ast of asts) ast.dispose();
  }
  return totals.map((total) =>
    tf.tidy(() => {
      const sum = total.floatPrecision();
      return tf.div(sum, n);
    }),
  );
}
