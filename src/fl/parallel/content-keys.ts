/**
 * The keys under which a worker thread caches what many trainings share, so that each goes
 * to a thread once instead of with every task (training-pool.ts):
 *
 *   datasetId(data)      a client's data set: an id unique in this process, by object identity.
 *   weightsKey(weights)  a round's global weights: a content digest, computed once per round.
 *
 * Why identity for data: a thread lives in this process, and a client's data set is never
 * mutated during a run (it sits in a Held, "replace, never mutate"); hashing 1.9 MB a client
 * would cost more than sending it. Each run wraps its clients' arrays in new Dataset objects
 * (runFederated's clientInput), so two runs — even under the same client ids and over the same
 * arrays, which a user may have refilled between runs — never share an id: a thread cannot
 * train one run's client on another run's data.
 *
 * Why content for weights: the prefetcher compares what a training was sent off with against
 * what the delivered fit asks for, and that comparison must not trust identity. The digest is
 * memoised per layer array: a round's fits all carry the same (immutable, once sent) arrays,
 * so the round's weights are hashed once, not once per client and again at delivery.
 */
import { createHash } from 'node:crypto';
import { sealedBytesDigest, sha256Hex } from '../../runtime/canonical.js';
import type { Dataset } from '../training/dataset.js';

const datasetIds = new WeakMap<Dataset, string>();
let nextDatasetId = 0;

/** `data`'s id in this process: the same object gets the same id, any other object another. */
export function datasetId(data: Dataset): string {
  let id = datasetIds.get(data);
  if (id === undefined) {
    id = `data-${nextDatasetId++}`;
    datasetIds.set(data, id);
  }
  return id;
}

/**
 * A layer's sha256, memoised by sealing the layer (runtime/canonical.ts): the same memo canonicalJson
 * reads, so the event log's digest of a fit does not hash the round's weights again either.
 */
const layerDigest = (layer: Float32Array) => sealedBytesDigest(layer);

/** sha256 of the weights' layers (each named by its length and digest, in order). */
export function weightsKey(weights: readonly Float32Array[]): string {
  return sha256Hex(weights.map((w) => `${w.length}:${layerDigest(w)}`).join(','));
}

/**
 * What canonicalJson writes for a Float32Array — `{"$bytes":<sha256>,"kind":"Float32Array","length":n}`
 * (runtime/canonical.ts) — as a plain object that canonicalJson writes the same, with the digest
 * memoised: a digest over a round's weights (a client's fit digest, client-fit.ts) then hashes
 * each layer once per round instead of once per client. test/fl-parallel-cache.test.ts checks
 * both write the same text.
 */
export const canonicalLayer = (layer: Float32Array) => ({ $bytes: layerDigest(layer), kind: 'Float32Array', length: layer.length });

/** Bytes a data set takes in a thread's cache. */
export const datasetBytes = (data: Dataset) => data.x.byteLength + data.y.byteLength;

/** Bytes weights take in a thread's cache. */
export const weightsBytes = (weights: readonly Float32Array[]) => weights.reduce((n, w) => n + w.byteLength, 0);

const datasetDigests = new WeakMap<Dataset, string>();

/**
 * sha256 of a data set's content (the arrays' kinds, lengths and bytes): its key across
 * processes (src/fl/distributed/), where identity means nothing. Memoised per object (a run's
 * data is not mutated, above): a client's 1.9 MB is hashed once a run, off the simulation's
 * thread (by the NATS bridge thread).
 */
export function datasetDigest(data: Dataset): string {
  let digest = datasetDigests.get(data);
  if (digest === undefined) {
    const hash = createHash('sha256');
    hash.update(`${data.x.constructor.name}:${data.x.length};${data.y.constructor.name}:${data.y.length};`);
    hash.update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength));
    hash.update(new Uint8Array(data.y.buffer, data.y.byteOffset, data.y.byteLength));
    digest = hash.digest('hex');
    datasetDigests.set(data, digest);
  }
  return digest;
}
