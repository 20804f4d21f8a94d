/**
 * A run's devices built from its `devices:` settings (devices-settings.ts): profiles drawn
 * or read from a trace, availability read or generated, all as typed arrays indexed by the
 * position of each client in the run's sorted ids.
 *
 * Trace files are matched to the run by client id. A client of the file the run lacks, or
 * a client of the run the file lacks, is refused (naming the file, the line and the first
 * few ids) unless the settings say what to do: `extraClients: ignore`, `missing:`, or a
 * default profile field beside `file`.
 */
import { resolve } from 'node:path';
import { displayPath } from '../../scenario/scenario-path.js';
import { FlInvariantError } from '../errors.js';
import { AvailabilityBuilder, type IntervalAvailability } from './availability.js';
import { DeviceProfiles, POSITIVE_FIELDS, PROFILE_FIELDS, type RngSource, emptyColumns, fillFromDistribution, profileStreamName } from './device-profiles.js';
import { type DeviceTrace, readDeviceTrace } from './device-trace.js';
import type { DevicesSettings } from './devices-settings.js';
import { DIURNAL_STREAM, generateDiurnal } from './diurnal.js';
import type { DevicePopulation, DeviceProfile } from './population.js';
import { DeviceTraceError, LISTED_PROBLEMS } from './trace-errors.js';

export class ArrayDevicePopulation implements DevicePopulation {
  constructor(
    readonly profiles: DeviceProfiles,
    readonly availability?: IntervalAvailability,
  ) {
    if (availability && availability.size !== profiles.size) {
      throw new FlInvariantError(`ArrayDevicePopulation: ${profiles.size} profiles but availability for ${availability.size} clients`, {});
    }
  }

  get size(): number {
    return this.profiles.size;
  }

  profile(index: number): DeviceProfile {
    return this.profiles.profile(index);
  }

  /** Bytes held by the population's typed arrays. */
  get byteLength(): number {
    return this.profiles.byteLength + (this.availability?.byteLength ?? 0);
  }
}

/** `a, b, c, … (12 in all)` */
function firstFew(ids: readonly string[], total = ids.length): string {
  const shown = ids.slice(0, 5).map((id) => `'${id}'`).join(', ');
  return total > 5 ? `${shown}, … (${total} in all)` : shown;
}

/**
 * For each entry of the trace, the run index of its client (−1: not in the run). Clients of
 * the trace the run lacks are refused unless `extraClients` is 'ignore'.
 */
function matchEntries(trace: DeviceTrace, indexOf: ReadonlyMap<string, number>, sortedIds: readonly string[], extraClients: 'refuse' | 'ignore' | undefined, setting: string): Int32Array {
  const runIndex = new Int32Array(trace.entries.length);
  const problems: string[] = [];
  let unknown = 0;
  trace.entries.forEach((entry, k) => {
    const index = indexOf.get(entry.id);
    runIndex[k] = index ?? -1;
    if (index === undefined && extraClients !== 'ignore') {
      if (++unknown <= LISTED_PROBLEMS) problems.push(trace.problemAt(k, 'id', `a client of this run (${firstFew(sortedIds)})`, `'${entry.id}', which the run does not have`));
    }
  });
  if (unknown > 0) {
    if (unknown > LISTED_PROBLEMS) problems.push(`… and ${unknown - LISTED_PROBLEMS} more clients the run does not have`);
    throw new DeviceTraceError(trace.file, problems, `${trace.file} lists clients this run does not have (remove them, or set ${setting}.extraClients: ignore):`);
  }
  return runIndex;
}

/** The run indexes no entry of the trace names. */
function absentIndexes(runIndex: Int32Array, size: number): number[] {
  const seen = new Uint8Array(size);
  for (const index of runIndex) if (index >= 0) seen[index] = 1;
  const absent: number[] = [];
  for (let i = 0; i < size; i++) if (!seen[i]) absent.push(i);
  return absent;
}

function buildProfiles(settings: DevicesSettings['profiles'], sortedIds: readonly string[], indexOf: () => Map<string, number>, traceOf: (file: string) => DeviceTrace, rngs: RngSource): DeviceProfiles {
  const size = sortedIds.length;
  const columns = emptyColumns(size);
  if (settings?.file !== undefined) {
    const trace = traceOf(settings.file);
    if (trace.fields.size === 0) {
      throw new DeviceTraceError(trace.file, [], `${trace.file} gives no profile field (${PROFILE_FIELDS.join(', ')}), so it cannot be devices.profiles.file: give a profile table (id,${PROFILE_FIELDS.join(',')}) or a JSON trace with these fields.`);
    }
    const runIndex = matchEntries(trace, indexOf(), sortedIds, settings.extraClients, 'devices.profiles');
    trace.entries.forEach((entry, k) => {
      const index = runIndex[k];
      if (index < 0) return;
      for (const field of PROFILE_FIELDS) {
        const value = entry.profile[field];
        if (value !== undefined) columns[field][index] = value;
      }
    });
    const undefaulted = PROFILE_FIELDS.filter((field) => settings[field] === undefined);
    const absent = absentIndexes(runIndex, size);
    if (absent.length && undefaulted.length) {
      throw new DeviceTraceError(
        trace.file,
        [],
        `${trace.file} has no profile for ${absent.length} client${absent.length > 1 ? 's' : ''} of this run: ${firstFew(absent.map((i) => sortedIds[i]))}. ` +
          `Add ${absent.length > 1 ? 'them' : 'it'} to the file, or give defaults beside \`file\` in devices.profiles for ${undefaulted.join(', ')}.`,
      );
    }
    for (const field of undefaulted) {
      if (!trace.fields.has(field)) {
        throw new DeviceTraceError(trace.file, [], `${trace.file} has no ${trace.kind === 'json' ? 'client with the field' : 'column'} '${field}' (missing column): add it, or give devices.profiles.${field} as the default.`);
      }
      const lacking: string[] = [];
      trace.entries.forEach((entry, k) => {
        if (runIndex[k] >= 0 && entry.profile[field] === undefined) lacking.push(trace.problemAt(k, field, `a value of '${field}' for this client (or devices.profiles.${field} as the default)`, 'none'));
      });
      if (lacking.length) throw new DeviceTraceError(trace.file, lacking.slice(0, LISTED_PROBLEMS), `${trace.file}: ${lacking.length} client${lacking.length > 1 ? 's' : ''} of the run ha${lacking.length > 1 ? 've' : 's'} no '${field}':`);
    }
  }
  for (const field of PROFILE_FIELDS) {
    const distribution = settings?.[field];
    if (distribution !== undefined) fillFromDistribution(columns[field], distribution, rngs.rng(profileStreamName(field)));
    // Given nowhere: the field costs nothing (an infinite speed, no latency).
    else if (settings?.file === undefined) columns[field].fill(POSITIVE_FIELDS.has(field) ? Infinity : 0);
  }
  return new DeviceProfiles(columns);
}

function buildAvailability(settings: NonNullable<DevicesSettings['availability']>, sortedIds: readonly string[], indexOf: () => Map<string, number>, traceOf: (file: string) => DeviceTrace, rngs: RngSource): IntervalAvailability {
  const size = sortedIds.length;
  const builder = new AvailabilityBuilder(size);
  if (settings.diurnal !== undefined) {
    generateDiurnal(settings.diurnal, size, rngs.rng(DIURNAL_STREAM), (index, startS, endS) => {
      builder.startClient(index);
      builder.add(startS * 1000, endS * 1000);
    });
    return builder.build();
  }
  if (settings.file === undefined) throw new FlInvariantError('devices.availability has neither file nor diurnal (the schema requires one)', {});
  const trace = traceOf(settings.file);
  if (!trace.givesAvailability) {
    throw new DeviceTraceError(trace.file, [], `${trace.file} is a profile table: it says nothing of when clients are online, so it cannot be devices.availability.file. Give a JSON trace with \`online\` intervals or an id,start,end table.`);
  }
  const runIndex = matchEntries(trace, indexOf(), sortedIds, settings.extraClients, 'devices.availability');
  const entryOf = new Int32Array(size).fill(-1);
  runIndex.forEach((index, k) => {
    if (index >= 0) entryOf[index] = k;
  });
  const missing = settings.missing ?? 'refuse';
  if (missing === 'refuse') {
    const absent = absentIndexes(runIndex, size);
    if (absent.length) {
      throw new DeviceTraceError(
        trace.file,
        [],
        `${trace.file} does not say when ${absent.length} client${absent.length > 1 ? 's' : ''} of this run ${absent.length > 1 ? 'are' : 'is'} online: ${firstFew(absent.map((i) => sortedIds[i]))}. ` +
          'Add them to the file, or set devices.availability.missing: always-online (or never-online).',
      );
    }
  }
  for (let index = 0; index < size; index++) {
    const k = entryOf[index];
    if (k < 0) {
      if (missing === 'always-online') builder.alwaysOnline(index);
      continue;
    }
    const online = trace.entries[k].online;
    if (online === undefined) {
      builder.alwaysOnline(index);
      continue;
    }
    builder.startClient(index);
    for (let m = 0; m < online.length; m += 2) builder.add(online[m], online[m + 1]);
  }
  return builder.build();
}

/**
 * The devices of a run from its settings. `sortedClientIds`: the run's client ids in
 * compareIds order (index i is the i-th); `rngs`: the simulation (its named streams);
 * `baseDir`: where relative trace paths start (the experiment file's directory).
 */
export function devicePopulationFrom(settings: DevicesSettings, sortedClientIds: readonly string[], rngs: RngSource, baseDir: string): ArrayDevicePopulation {
  let indexes: Map<string, number> | undefined;
  // Built only when a trace file must be matched by id (a generated population needs no map of a million ids).
  const indexOf = () => (indexes ??= new Map(sortedClientIds.map((id, i) => [id, i])));
  const traces = new Map<string, DeviceTrace>();
  const traceOf = (file: string) => {
    const path = resolve(baseDir, file);
    let trace = traces.get(path);
    if (!trace) {
      trace = readDeviceTrace(path, displayPath(path));
      traces.set(path, trace);
    }
    return trace;
  };
  const profiles = buildProfiles(settings.profiles, sortedClientIds, indexOf, traceOf, rngs);
  const availability = settings.availability && buildAvailability(settings.availability, sortedClientIds, indexOf, traceOf, rngs);
  return new ArrayDevicePopulation(profiles, availability);
}
