/**
 * The profiles of a whole population, one Float64Array per field indexed by client position
 * (32 bytes a device, no object per device): drawn from seeded distributions, or read from a
 * trace file (device-trace.ts), or both (a file's fields, defaults for the ones it lacks).
 */
import type { RandomStream } from '../../runtime/rng.js';
import { FlInvariantError } from '../errors.js';
import { type Distribution, samplerOf } from './distributions.js';
import type { DeviceProfile } from './population.js';

/** The fields of a profile, in the order files and docs list them. */
export const PROFILE_FIELDS = ['samplesPerSecond', 'uploadBytesPerSecond', 'downloadBytesPerSecond', 'latencyMs'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** Fields that must be > 0 (a speed); latency may be 0. */
export const POSITIVE_FIELDS: ReadonlySet<ProfileField> = new Set(['samplesPerSecond', 'uploadBytesPerSecond', 'downloadBytesPerSecond']);

/** A value or distribution per field. */
export type ProfileSpec = Record<ProfileField, Distribution>;

/** A source of named random streams: the Simulation (sim.rng) or a stand-alone registry. */
export interface RngSource {
  rng(name: string): RandomStream;
}

/** The stream a field's draws come from: one per field, so changing one field's distribution never moves another's draws. */
export const profileStreamName = (field: ProfileField) => `devices/profiles/${field}`;

export class DeviceProfiles {
  readonly size: number;
  private readonly columns: Record<ProfileField, Float64Array>;

  constructor(columns: Record<ProfileField, Float64Array>) {
    this.size = columns.samplesPerSecond.length;
    for (const field of PROFILE_FIELDS) {
      if (columns[field].length !== this.size) {
        throw new FlInvariantError(`DeviceProfiles: column ${field} has ${columns[field].length} entries, samplesPerSecond ${this.size}`, { field });
      }
    }
    this.columns = columns;
  }

  /** A fresh object for one device (callers may keep it; the arrays stay the storage). */
  profile(index: number): DeviceProfile {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new FlInvariantError(`DeviceProfiles.profile(${index}): no device at this index (${this.size} devices)`, { index });
    }
    const c = this.columns;
    return {
      samplesPerSecond: c.samplesPerSecond[index],
      uploadBytesPerSecond: c.uploadBytesPerSecond[index],
      downloadBytesPerSecond: c.downloadBytesPerSecond[index],
      latencyMs: c.latencyMs[index],
    };
  }

  /** One field of every device (read-only by convention: the population owns it). */
  column(field: ProfileField): Float64Array {
    return this.columns[field];
  }

  /** Bytes held by the typed arrays. */
  get byteLength(): number {
    return PROFILE_FIELDS.reduce((sum, field) => sum + this.columns[field].byteLength, 0);
  }
}

/** Empty columns for `size` devices (NaN: "not given yet", filled by drawProfileFields or a file). */
export function emptyColumns(size: number): Record<ProfileField, Float64Array> {
  return Object.fromEntries(PROFILE_FIELDS.map((f) => [f, new Float64Array(size).fill(NaN)])) as Record<ProfileField, Float64Array>;
}

/**
 * Fills the entries of `column` that are NaN (every entry for a drawn population) with draws
 * from `distribution`, in client-index order, from the field's own stream. Entries a file
 * gave are skipped and draw nothing, so which devices a file covers does not shift the
 * draws of the others… except by position: the k-th missing device gets the k-th draw.
 */
export function fillFromDistribution(column: Float64Array, distribution: Distribution, rng: RandomStream): void {
  const draw = samplerOf(distribution, rng);
  for (let i = 0; i < column.length; i++) if (Number.isNaN(column[i])) column[i] = draw();
}

/** Profiles of `size` devices, every field drawn from its distribution (`devices/profiles/<field>` streams). */
export function drawProfiles(spec: ProfileSpec, size: number, rngs: RngSource): DeviceProfiles {
  const columns = emptyColumns(size);
  for (const field of PROFILE_FIELDS) fillFromDistribution(columns[field], spec[field], rngs.rng(profileStreamName(field)));
  return new DeviceProfiles(columns);
}
