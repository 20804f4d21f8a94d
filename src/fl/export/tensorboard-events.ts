/**
 * A metrics table as a TensorBoard event file (`events.out.tfevents.*`): TFRecord-framed
 * (tfrecord.ts) `tensorflow.Event` protos, as TensorFlow's summary writer makes them:
 *
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; }
 *
 * The first record names the format ("brain.Event:2"); then one event per row, step = the
 * round (an async run's model version), one scalar per numeric column (tag = column name,
 * nested fields joined with '/', e.g. `drops/offline`). `simple_value` is a float32: values
 * are rounded to single precision (the CSV keeps the doubles).
 *
 * No maintained npm package writes tfevents (searched: only TFRecord readers/writers without
 * the Event protos), hence this small writer.
 *
 * Reproducible bytes: the `wall_time` of a row is its virtual time in seconds (`endedAt` ms
 * / 1000) — the real clock is never read — so TensorBoard's "relative" time axis shows the
 * run's virtual time, and its "wall" axis shows dates in January 1970. The file-version
 * record has wall_time 0 (virtual time 0), and the file name carries no host or clock.
 */
import type { MetricsTable } from './metrics-table.js';
import { ProtoWriter } from './protobuf-writer.js';
import { tfRecord } from './tfrecord.js';

export const FILE_VERSION = 'brain.Event:2';

/** The file name: TensorBoard reads any file whose name contains "tfevents"; this one is fixed, so re-exporting overwrites it. */
export const EVENTS_FILE_NAME = 'events.out.tfevents.0.fedsim';

export interface TensorboardOptions {
  /** The column giving the step (default `round`). */
  step?: string;
  /** The column giving virtual time in ms, turned into wall_time seconds (default `endedAt`; absent: 0). */
  virtualTimeMs?: string;
  /** Columns not written as scalars (default: the step's and time's). */
  exclude?: readonly string[];
}

function event(wallTime: number, step: number, fill: (event: ProtoWriter) => void): Uint8Array {
  const writer = new ProtoWriter().double(1, wallTime).varint(2, step);
  fill(writer);
  return tfRecord(writer.finish());
}

/** The event file's bytes. Rows without a whole, non-negative step are skipped (there are none in fedsim's results). */
export function tensorboardEvents(table: MetricsTable, options: TensorboardOptions = {}): Uint8Array {
  const stepColumn = options.step ?? 'round';
  const timeColumn = options.virtualTimeMs ?? 'endedAt';
  const exclude = new Set(options.exclude ?? [stepColumn, timeColumn]);
  const records: Uint8Array[] = [event(0, 0, (e) => e.string(3, FILE_VERSION))];
  for (const row of table.rows) {
    const step = row[stepColumn];
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) continue;
    const time = row[timeColumn];
    const wallTime = typeof time === 'number' ? time / 1000 : 0;
    const summary = new ProtoWriter();
    let values = 0;
    for (const column of table.columns) {
      const value = row[column];
      if (exclude.has(column) || typeof value !== 'number') continue;
      summary.bytes(1, new ProtoWriter().string(1, column.replace(/\./g, '/')).float(2, value).finish());
      values++;
    }
    if (values > 0) records.push(event(wallTime, step, (e) => e.bytes(5, summary.finish())));
  }
  const total = records.reduce((n, r) => n + r.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}
