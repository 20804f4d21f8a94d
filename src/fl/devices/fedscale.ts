/**
 * Converting FedScale's device traces (dumped from their pickles to JSON, docs/devices.md)
 * into a fedsim device trace.
 *
 * FedScale's fields and what they mean in FedScale's code (fedscale/cloud/internal/
 * client_metadata.py, benchmark/dataset/data/device_info/README.md):
 *
 *   client_device_capacity   { <key>: { computation, communication } }
 *     computation    ms of *inference* per sample; FedScale charges training
 *                    augmentation_factor (3: forward + backward ≈ 3× forward) × that per sample
 *     communication  bandwidth in kbit/s, where FedScale's sizes are bytes / 1024 · 8 "kbits":
 *                    bytes per second = communication · 1024 / 8; the same for upload and download
 *   client_behave_trace      { <key>: { duration, active: [s…], inactive: [s…], finish_time, model } }
 *     active[m], inactive[m]  the m-th online session, seconds; FedScale's is_active holds
 *                             active[m] ≤ t ≤ inactive[m] on t mod finish_time
 *     finish_time             the trace's period in seconds (it repeats: FedScale takes t mod finish_time)
 *     duration                total online seconds (the sum of the sessions; recomputed here, not read)
 *
 * So samplesPerSecond = 1000 / (augmentationFactor · computation), uploadBytesPerSecond =
 * downloadBytesPerSecond = communication · 128, latencyMs = 0 (FedScale has no latency), and
 * online = the sessions repeated every finish_time up to the horizon. FedScale's closed
 * sessions become [start, end) (the end instant is all that differs); sessions of zero length
 * are dropped and overlapping ones merged (FedScale's is_active answers "online" for either).
 *
 * Client j of the output (0-based, in the run's id order) gets the j-th device entry and
 * the j-th behaviour entry, each file's keys sorted numerically, wrapping around when the
 * run has more clients than a file has entries (FedScale, too, reuses its traces cyclically).
 */
import { z } from 'zod';
import { type DocumentProblem, describeIssues, describeProblems } from '../../scenario/document-errors.js';
import { parseDocument, LineCounter } from 'yaml';
import { FlConfigError } from '../errors.js';
import { DeviceTraceError, LISTED_PROBLEMS } from './trace-errors.js';
import { type DeviceTraceFile, type TraceClient, TRACE_FORMAT, TRACE_VERSION } from './trace-format.js';

/** FedScale's computation is inference ms per sample; training costs this many times more (FedScale's default). */
export const FEDSCALE_AUGMENTATION_FACTOR = 3;
/** bytes per second of 1 FedScale bandwidth unit: its sizes are bytes / 1024 · 8 "kbits". */
export const FEDSCALE_BYTES_PER_SECOND_PER_KBPS = 1024 / 8;

const positive = (what: string) => z.number().positive({ message: `expected ${what} > 0` });
const secondsList = z.array(z.number().min(0, { message: 'expected seconds ≥ 0' }));

const CapacitySchema = z.record(
  z.string(),
  z.looseObject({ computation: positive('ms of inference per sample'), communication: positive('a bandwidth in kbit/s') }),
);
const BehaviourSchema = z.record(
  z.string(),
  z.looseObject({ active: secondsList, inactive: secondsList, finish_time: positive('the period of the trace in seconds') }),
);

export interface FedScaleInput {
  /** The parsed JSON and the text it came from (for line numbers), and the file's name as shown. */
  data: unknown;
  text: string;
  file: string;
}

export interface FedScaleOptions {
  /** Client ids of the output, in order (the run's sorted ids). */
  ids: readonly string[];
  /** Seconds of availability to write (the periodic trace is unrolled up to here); default one period of each client. */
  horizonSeconds?: number;
  augmentationFactor?: number;
}

const lazyContext = (input: FedScaleInput) => {
  const lines = new LineCounter();
  const doc = parseDocument(input.text, { lineCounter: lines, prettyErrors: false });
  return { file: input.file, doc, lines };
};

/** Keys sorted numerically (FedScale's keys are client numbers), then the others by code point. */
function sortedKeys(record: Record<string, unknown>): string[] {
  const numeric = (k: string) => (/^\d+$/.test(k) ? Number(k) : NaN);
  return Object.keys(record).sort((a, b) => {
    const x = numeric(a);
    const y = numeric(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    if (!Number.isNaN(x)) return -1;
    if (!Number.isNaN(y)) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function parseOrRefuse<T>(schema: z.ZodType<T>, input: FedScaleInput, what: string): T {
  const parsed = schema.safeParse(input.data);
  if (parsed.success) {
    if (Object.keys(parsed.data as object).length === 0) throw new DeviceTraceError(input.file, [], `${input.file} has no entries: expected FedScale's ${what} (a JSON object of client key → entry).`);
    return parsed.data;
  }
  throw new DeviceTraceError(input.file, describeIssues(parsed.error, input.data, lazyContext(input)), `${input.file} is not FedScale's ${what}:`);
}

/** One behaviour entry's sessions in [0, period], sorted and merged, as flat seconds; or problems. */
function sessionsOf(key: string, entry: { active: number[]; inactive: number[]; finish_time: number }, problems: DocumentProblem[]): number[] {
  if (entry.active.length !== entry.inactive.length) {
    problems.push({ path: [key, 'inactive'], expected: `as many ends as active has starts (${entry.active.length})`, found: `${entry.inactive.length}` });
    return [];
  }
  const pairs: Array<[number, number]> = [];
  entry.active.forEach((start, m) => {
    const end = entry.inactive[m];
    if (end < start) {
      problems.push({ path: [key, 'inactive', m], expected: `an end ≥ the session's start (active[${m}] = ${start})` });
      return;
    }
    const clippedEnd = Math.min(end, entry.finish_time);
    if (clippedEnd > start) pairs.push([start, clippedEnd]);
  });
  pairs.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [start, end] of pairs) {
    const last = merged.length - 1;
    if (last > 0 && start <= merged[last]) merged[last] = Math.max(merged[last], end);
    else merged.push(start, end);
  }
  return merged;
}

/** The sessions of one period repeated every `period` seconds over [0, horizon), joined across period boundaries. */
function unroll(sessions: readonly number[], period: number, horizon: number): Array<[number, number | null]> {
  const out: Array<[number, number | null]> = [];
  for (let base = 0; base < horizon && sessions.length; base += period) {
    for (let m = 0; m < sessions.length; m += 2) {
      const start = base + sessions[m];
      if (start >= horizon) break;
      const end = Math.min(horizon, base + sessions[m + 1]);
      const last = out[out.length - 1];
      if (last && start <= (last[1] as number)) last[1] = Math.max(last[1] as number, end);
      else out.push([start, end]);
    }
  }
  return out;
}

/** 12 significant digits: drops floating-point noise (0.30000000000000004) from the file, no figure that matters. */
const tidy = (x: number) => Number(x.toPrecision(12));

export function convertFedScale(device: FedScaleInput, behaviour: FedScaleInput, options: FedScaleOptions): DeviceTraceFile {
  const factor = options.augmentationFactor ?? FEDSCALE_AUGMENTATION_FACTOR;
  if (!(factor > 0) || !Number.isFinite(factor)) throw new FlConfigError(`augmentation factor ${factor}: expected a number > 0 (FedScale's default is 3).`, { field: 'augmentationFactor' });
  if (options.horizonSeconds !== undefined && !(options.horizonSeconds > 0 && Number.isFinite(options.horizonSeconds))) {
    throw new FlConfigError(`horizon ${options.horizonSeconds} s: expected a number of seconds > 0.`, { field: 'horizonSeconds' });
  }
  const capacity = parseOrRefuse(CapacitySchema, device, 'client_device_capacity ({ <key>: { computation, communication } })');
  const behave = parseOrRefuse(BehaviourSchema, behaviour, 'client_behave_trace ({ <key>: { active, inactive, finish_time, … } })');
  const deviceKeys = sortedKeys(capacity);
  const behaviourKeys = sortedKeys(behave);

  const problems: DocumentProblem[] = [];
  const sessions = new Map<string, number[]>();
  // Only the entries the output uses are converted (and so checked).
  const used = Math.min(options.ids.length, behaviourKeys.length);
  for (let j = 0; j < used; j++) sessions.set(behaviourKeys[j], sessionsOf(behaviourKeys[j], behave[behaviourKeys[j]], problems));
  if (problems.length) throw new DeviceTraceError(behaviour.file, describeProblems(problems, behaviour.data, lazyContext(behaviour), LISTED_PROBLEMS), `${behaviour.file}: FedScale sessions fedsim cannot read:`);

  const clients: TraceClient[] = options.ids.map((id, j) => {
    const speed = capacity[deviceKeys[j % deviceKeys.length]];
    const key = behaviourKeys[j % behaviourKeys.length];
    const entry = behave[key];
    const bandwidth = tidy(speed.communication * FEDSCALE_BYTES_PER_SECOND_PER_KBPS);
    return {
      id,
      samplesPerSecond: tidy(1000 / (factor * speed.computation)),
      uploadBytesPerSecond: bandwidth,
      downloadBytesPerSecond: bandwidth,
      latencyMs: 0,
      online: unroll(sessions.get(key)!, entry.finish_time, options.horizonSeconds ?? entry.finish_time),
    };
  });
  const reuse = options.ids.length > Math.min(deviceKeys.length, behaviourKeys.length) ? ' (entries reused cyclically: the run has more clients)' : '';
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    source:
      `converted from FedScale: device capacity ${device.file} (${deviceKeys.length} entries), behaviour ${behaviour.file} (${behaviourKeys.length} entries); ` +
      `client j ← the j-th entry of each by numeric key${reuse}; samplesPerSecond = 1000 / (${factor} · computation), bytes/s = communication · 128` +
      (options.horizonSeconds !== undefined ? `; sessions repeated every finish_time up to ${options.horizonSeconds} s` : '; one period (finish_time) of sessions'),
    clients,
  };
}
