/**
 * The RDP curve of one DpEvent at given orders: what the accountant adds per repetition.
 */
import type { DpEvent } from './events.js';
import { rdpPoissonSampledGaussian } from './rdp-sampled-gaussian.js';

export function rdpOfEvent(event: DpEvent, orders: readonly number[]): Float64Array {
  const out = new Float64Array(orders.length);
  switch (event.kind) {
    case 'gaussian': {
      const s2 = event.noiseMultiplier * event.noiseMultiplier;
      orders.forEach((alpha, i) => (out[i] = alpha / (2 * s2)));
      return out;
    }
    case 'poisson-sampled-gaussian':
      orders.forEach((alpha, i) => (out[i] = rdpPoissonSampledGaussian(event.samplingRate, event.noiseMultiplier, alpha)));
      return out;
    case 'rdp-curve':
      // Rényi divergence is non-decreasing in the order, so the value at the next order up bounds this one; above the last, nothing is known.
      orders.forEach((alpha, i) => {
        const j = event.orders.findIndex((o) => o >= alpha);
        out[i] = j < 0 ? Infinity : event.rdp[j];
      });
      return out;
  }
}
