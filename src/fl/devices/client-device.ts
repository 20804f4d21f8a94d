/**
 * A client actor's own device: its profile and, when the population has a trace, its
 * availability. Each client actor is given one in its input (runFederated), so the client
 * decides on its own, from the trace, whether it can take a fit and finish it.
 *
 * Online is the half-open interval [start, end) of the trace: at `end` the device is gone.
 * A fit counts as finished when its update has left the device, so a fit that needs `d` ms
 * from `t` finishes while online exactly when t + d ≤ end of the interval holding t.
 */
import type { Availability, DeviceProfile, DevicePopulation } from './population.js';

export interface ClientDevice {
  /** The client's position in the run's sorted client ids (the population's index). */
  index: number;
  profile: DeviceProfile;
  /** Absent: always online. */
  availability?: Availability;
}

/** The device of client `index` of `population`. */
export function clientDevice(population: DevicePopulation, index: number): ClientDevice {
  return { index, profile: population.profile(index), ...(population.availability ? { availability: population.availability } : {}) };
}

/** Whether the device is online at virtual time `t`. */
export function isDeviceOnline(device: ClientDevice, t: number): boolean {
  return device.availability === undefined || device.availability.isOnline(device.index, t);
}

/**
 * When the device goes offline, seen from `t` (Infinity when it never does, or has no
 * trace); `t` itself when it is offline at `t`.
 */
export function deviceOfflineAt(device: ClientDevice, t: number): number {
  if (device.availability === undefined) return Infinity;
  return device.availability.onlineUntil(device.index, t) ?? t;
}
