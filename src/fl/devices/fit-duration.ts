/**
 * The cost model of a fit on a device, in virtual ms (documented in docs/devices.md):
 *
 *   fitDurationMs = latencyMs + bytesDown / downloadBytesPerSecond · 1000      (the fit arrives)
 *                 + samplesSeen / samplesPerSecond · 1000                      (local training, all epochs)
 *                 + latencyMs + bytesUp / uploadBytesPerSecond · 1000          (the update leaves)
 *
 * One pure function so that the client actor charges it (client-fit.ts) and anyone can
 * check a device's round time by hand. The bytes are the wire-size model's (rounds/protocol.ts
 * wireBytes), so the same shapes always cost the same time.
 */
import type { DeviceProfile } from './population.js';

/** What one fit moves and computes on a device. */
export interface FitWork {
  /** Bytes of the fit the device receives (the global model and any arrays in its config). */
  bytesDown: number;
  /** Samples processed over all local epochs. */
  samplesSeen: number;
  /** Bytes of the update the device sends back. */
  bytesUp: number;
}

/** Virtual ms from a fit reaching `profile`'s device to its update having left it. */
export function fitDurationMs(profile: DeviceProfile, work: FitWork): number {
  const download = (work.bytesDown / profile.downloadBytesPerSecond) * 1000;
  const training = (work.samplesSeen / profile.samplesPerSecond) * 1000;
  const upload = (work.bytesUp / profile.uploadBytesPerSecond) * 1000;
  return profile.latencyMs + download + training + profile.latencyMs + upload;
}
