/**
 * The cost model of a fit on a device, in virtual ms (docs/devices.md, "The cost model"):
 *
 *   latency + bytesDown / download  +  samplesSeen / speed  +  latency + bytesUp / upload
 *
 * the model travelling down, the local training, the update travelling up. Each transfer
 * pays the link's one-way latency once. Bytes come from the wire-size model of the
 * messages; samplesSeen counts every sample of every local epoch.
 *
 * One pure function so that the sync engine, the async engine and the tests agree on it.
 */
import { FlConfigError } from '../errors.js';
import type { DeviceProfile } from './population.js';

/** What one fit asks of a device. */
export interface FitWork {
  /** Bytes of the fit request (the global model) the device downloads. */
  bytesDown: number;
  /** Samples processed by local training, all epochs counted. */
  samplesSeen: number;
  /** Bytes of the reply (the update) the device uploads. */
  bytesUp: number;
}

const MS_PER_SECOND = 1000;

/** Virtual ms to move `bytes` over a link of `bytesPerSecond`, latency included. */
export function transferMs(profile: DeviceProfile, bytes: number, bytesPerSecond: number): number {
  return profile.latencyMs + (bytes / bytesPerSecond) * MS_PER_SECOND;
}

/** Virtual ms of local training over `samples` samples. */
export function trainingMs(profile: DeviceProfile, samples: number): number {
  return (samples / profile.samplesPerSecond) * MS_PER_SECOND;
}

/** Virtual ms from the fit request leaving the server to the update arriving there. */
export function fitDurationMs(profile: DeviceProfile, work: FitWork): number {
  for (const field of ['bytesDown', 'samplesSeen', 'bytesUp'] as const) {
    const value = work[field];
    // A negative or NaN amount of work is a caller's bug that would otherwise move virtual time backwards.
    if (!Number.isFinite(value) || value < 0) {
      throw new FlConfigError(`fitDurationMs: ${field} must be a finite number ≥ 0, got ${value}.`, { field, op: 'fitDurationMs' });
    }
  }
  return (
    transferMs(profile, work.bytesDown, profile.downloadBytesPerSecond) +
    trainingMs(profile, work.samplesSeen) +
    transferMs(profile, work.bytesUp, profile.uploadBytesPerSecond)
  );
}
