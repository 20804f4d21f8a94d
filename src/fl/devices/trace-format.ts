/**
 * The device trace file formats (docs/devices.md, "Trace files"). Times in files are
 * seconds, as in FedScale's traces; fedsim converts them to virtual ms when it reads them.
 *
 * JSON — profiles and availability together; a client without `online` is always online,
 * `online: []` never; an end of null means the interval never ends:
 *
 *   { "format": "fedsim-devices", "version": 1, "source": "…optional provenance…",
 *     "clients": [ { "id": "client-0", "samplesPerSecond": 120, "uploadBytesPerSecond": 250000,
 *                    "downloadBytesPerSecond": 1000000, "latencyMs": 40,
 *                    "online": [[0, 3600], [79200, 108000]] }, … ] }
 *
 * CSV — one of two tables, told apart by the header:
 *
 *   id,samplesPerSecond,uploadBytesPerSecond,downloadBytesPerSecond,latencyMs     (profiles)
 *   id,start,end                                                                  (availability)
 */
import { z } from 'zod';
import { PROFILE_FIELDS, type ProfileField } from './device-profiles.js';

export const TRACE_FORMAT = 'fedsim-devices';
export const TRACE_VERSION = 1;

const speed = (what: string) => z.number().positive({ message: `expected a speed > 0 (${what})` });
const seconds = z.number().min(0, { message: 'expected a time in seconds ≥ 0 (seconds from the start of the run)' });

/** One online interval [start, end) in seconds; end null: online from start on. */
const IntervalSchema = z.tuple([seconds, seconds.nullable()]);

export const TraceClientSchema = z
  .object({
    id: z.string().min(1, { message: 'expected a client id (a non-empty string)' }),
    samplesPerSecond: speed('samples processed per second').optional(),
    uploadBytesPerSecond: speed('bytes per second').optional(),
    downloadBytesPerSecond: speed('bytes per second').optional(),
    latencyMs: z.number().min(0, { message: 'expected a latency ≥ 0 (ms)' }).optional(),
    online: z.array(IntervalSchema).optional(),
  })
  .strict();
export type TraceClient = z.infer<typeof TraceClientSchema>;

export const DeviceTraceFileSchema = z
  .object({
    format: z.literal(TRACE_FORMAT, { message: `a fedsim device trace starts with "format": "${TRACE_FORMAT}" (a FedScale trace is converted first: fedsim trace from-fedscale)` }),
    version: z.literal(TRACE_VERSION, { message: `version ${TRACE_VERSION} is the only version of the format` }),
    /** Where the trace came from (the generator and its parameters, the files converted). */
    source: z.string().optional(),
    clients: z.array(TraceClientSchema),
  })
  .strict();
export type DeviceTraceFile = z.infer<typeof DeviceTraceFileSchema>;

export const PROFILE_COLUMNS: readonly string[] = ['id', ...PROFILE_FIELDS];
export const AVAILABILITY_COLUMNS: readonly string[] = ['id', 'start', 'end'];

export type { ProfileField };
