/**
 * Helpers for the SecAgg+ tests: client updates, the reference quantisation each client
 * performs (recomputed from the same named stream), plain sums, and log inspection.
 */
import { createStream, type SimEvent, type SimulationCore } from '../../src/runtime/index.js';
import { quantize } from '../../src/fl/secure/crypto/quantize.js';
import { CLIENT_STREAMS, SECAGG, quantizationTarget, type RoundConfig } from '../../src/fl/secure/secagg/index.js';

export const SERVER = 'secagg-server';

/** Client ids c00, c01, … (zero-padded so string order is numeric order). */
export function clientIds(n: number): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `c${String(i).padStart(width, '0')}`);
}

/** n updates of `length` values, normal(0, 1) from a stream of their own (not the simulation's). */
export function makeUpdates(n: number, length: number, seed: number | string = 'updates'): Record<string, Float32Array> {
  const rng = createStream(seed, 'test/updates');
  const out: Record<string, Float32Array> = {};
  for (const id of clientIds(n)) out[id] = Float32Array.from({ length }, () => rng.normal(0, 1));
  return out;
}

/** The quantised vector client `id` computed in round 0 of a run with `seed` (its own stream, replayed). */
export function quantizedInput(seed: number | string, id: string, vector: Float32Array, config: Pick<RoundConfig, 'clippingRange' | 'quantizationRange'>): Uint32Array {
  return quantize(vector, config.clippingRange, quantizationTarget(config), createStream(seed, `actor/${id}/${CLIENT_STREAMS.quantize}`));
}

export function plainSum(updates: Record<string, Float32Array>, ids: readonly string[]): Float64Array {
  const out = new Float64Array(updates[ids[0]].length);
  for (const id of ids) updates[id].forEach((v, i) => (out[i] += v));
  return out;
}

/** Σ vectors mod m, computed with BigInt-free exact double arithmetic (each partial sum < 2^53). */
export function sumMod(vectors: Uint32Array[], modulus: number): Uint32Array {
  const out = new Uint32Array(vectors[0].length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (const v of vectors) s = (s + v[i]) % modulus;
    out[i] = s;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Every message sent to `to` (by the log's 'sent' events). */
export function sentTo(sim: SimulationCore, to: string): Array<Extract<SimEvent, { ev: 'sent' }>> {
  return sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.to === to);
}

/** The masked vectors the server received, by client. */
export function maskedInputs(sim: SimulationCore): Map<string, Uint32Array> {
  const out = new Map<string, Uint32Array>();
  for (const e of sim.log.events) {
    if (e.ev === 'delivered' && e.to === SERVER && e.type === SECAGG.maskedInput) out.set(e.from, (e.envelope.payload as { masked: Uint32Array }).masked);
  }
  return out;
}

/** Every typed array inside a payload (depth-first). */
export function typedArraysIn(value: unknown, out: ArrayBufferView[] = []): ArrayBufferView[] {
  if (ArrayBuffer.isView(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) typedArraysIn(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) typedArraysIn(v, out);
  return out;
}
