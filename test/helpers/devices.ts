/**
 * Small device populations built from plain arrays, for the round engine's device tests:
 * profiles by client index and online intervals [start, end) in virtual ms. The queries
 * scan (fine for a handful of clients); the real, compact implementation is devices/.
 */
import type { Availability, DevicePopulation, DeviceProfile } from '../../src/fl/devices/population.js';
import type { ClientData } from '../../src/fl/rounds/index.js';

export type Intervals = ReadonlyArray<readonly [number, number]>;

export function arrayAvailability(online: readonly Intervals[]): Availability {
  const holding = (index: number, t: number) => online[index].find(([start, end]) => start <= t && t < end);
  return {
    isOnline: (index, t) => holding(index, t) !== undefined,
    onlineUntil: (index, t) => holding(index, t)?.[1],
    onlineCount: (t) => online.filter((_, index) => holding(index, t) !== undefined).length,
  };
}

export function arrayPopulation(profiles: readonly DeviceProfile[], online?: readonly Intervals[]): DevicePopulation {
  if (online && online.length !== profiles.length) throw new Error(`arrayPopulation: ${profiles.length} profiles but ${online.length} traces`);
  return { size: profiles.length, profile: (index) => profiles[index], ...(online ? { availability: arrayAvailability(online) } : {}) };
}

/** A device whose transfers take `transferMs` each way (bytes/s set from the message size) and trains `samplesPerSecond`. */
export function profile(samplesPerSecond: number, bytesPerSecond = 1e9, latencyMs = 0): DeviceProfile {
  return { samplesPerSecond, uploadBytesPerSecond: bytesPerSecond, downloadBytesPerSecond: bytesPerSecond, latencyMs };
}

export const FEATURES = 4;

/** Clients with exactly `sizes[i]` samples each (4 features, 2 classes), the same data in every run. */
export function clientsOfSizes(sizes: readonly number[]): ClientData[] {
  return sizes.map((n, c) => {
    const x = new Float32Array(n * FEATURES);
    for (let i = 0; i < x.length; i++) x[i] = (((i * 37 + c * 11) % 23) / 23) - 0.5;
    const y = Int32Array.from({ length: n }, (_, i) => (i + c) % 2);
    return { x, y };
  });
}
