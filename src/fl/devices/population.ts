/**
 * The device side of a federated population: how fast each client is, how well it is
 * connected, and when it is online. The round engine asks it who may be selected now and
 * what a fit costs a device in virtual time; the client actor asks it when it goes offline.
 *
 * Indexes are positions in the run's sorted client ids (compareIds order), so a population
 * of a million devices is typed arrays indexed by position — never a million objects.
 *
 * (Interfaces only: the implementations are device-profiles.ts, availability.ts and
 * device-population.ts; the formats and the cost model are documented in docs/devices.md.)
 */

/** One device's speed and connection. */
export interface DeviceProfile {
  /** Local training speed: samples processed per virtual second (all epochs count). */
  samplesPerSecond: number;
  /** Upload bandwidth, bytes per virtual second. */
  uploadBytesPerSecond: number;
  /** Download bandwidth, bytes per virtual second. */
  downloadBytesPerSecond: number;
  /** One-way latency of the device's link, virtual ms (added to each transfer). */
  latencyMs: number;
}

/** When each client is online: sorted, disjoint [start, end) intervals of virtual ms per client. */
export interface Availability {
  /** Whether client `index` is online at virtual time `t`. */
  isOnline(index: number, t: number): boolean;
  /** End of the online interval that holds `t` (Infinity when it never ends), or undefined when offline at `t`. */
  onlineUntil(index: number, t: number): number | undefined;
  /** How many clients are online at `t`, in O(log intervals) (no per-client scan). */
  onlineCount(t: number): number;
}

/** The devices of a run, by index in its sorted client ids. */
export interface DevicePopulation {
  readonly size: number;
  profile(index: number): DeviceProfile;
  /** Absent: every client is always online. */
  readonly availability?: Availability;
}
