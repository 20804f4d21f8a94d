/**
 * Writing a fedsim device trace as JSON, one client per line (readable, diffable, and
 * streamable: a million clients are never one string in memory).
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { DeviceTraceFile, TraceClient } from './trace-format.js';

/** The file's text in pieces: the header line, one line per client, the closing line. */
export function* traceLines(header: Omit<DeviceTraceFile, 'clients'>, clients: Iterable<TraceClient>): Generator<string> {
  const { format, version, source } = header;
  yield `{"format":${JSON.stringify(format)},"version":${version},${source === undefined ? '' : `"source":${JSON.stringify(source)},`}"clients":[\n`;
  let first = true;
  for (const client of clients) {
    yield `${first ? '' : ',\n'}${JSON.stringify(client)}`;
    first = false;
  }
  yield `${first ? '' : '\n'}]}\n`;
}

/** Writes the lines to `path` through a temporary file renamed into place (an interrupted write leaves the old file). */
export function writeTraceFile(path: string, lines: Iterable<string>): void {
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  try {
    let buffer = '';
    for (const line of lines) {
      buffer += line;
      if (buffer.length > 1 << 16) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
    writeSync(fd, buffer);
  } catch (error) {
    closeSync(fd);
    unlinkSync(partial);
    throw error;
  }
  closeSync(fd);
  renameSync(partial, path);
}
