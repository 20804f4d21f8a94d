/**
 * Reading a device trace file (JSON or CSV, trace-format.ts) into a DeviceTrace: one entry
 * per client with its profile fields and online intervals (virtual ms), checked. Every
 * refusal names the file, the line and the field (DeviceTraceError).
 *
 * A JSON file is parsed with JSON.parse (fast, for a million clients); only when a problem
 * is found is it parsed again with positions (the `yaml` package reads JSON), to name the
 * line of the field.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type DocumentContext, type DocumentProblem, describeIssues, describeProblems, describeValue } from '../../scenario/document-errors.js';
import { FlFault } from '../errors.js';
import { PROFILE_FIELDS, type ProfileField } from './device-profiles.js';
import { DeviceTraceError, LISTED_PROBLEMS, listProblems, traceProblem } from './trace-errors.js';
import { AVAILABILITY_COLUMNS, DeviceTraceFileSchema, PROFILE_COLUMNS } from './trace-format.js';

const MS_PER_SECOND = 1000;

/**
 * Largest trace file read (bytes): a file is read as one string, and V8 cannot hold a string
 * much over 512 MiB. A trace that large has tens of millions of intervals: split it.
 */
export const MAX_TRACE_BYTES = 512 * 1024 * 1024 - 1024;

export interface TraceEntry {
  id: string;
  /** The fields the file gives for this client. */
  profile: Partial<Record<ProfileField, number>>;
  /** Online intervals as flat [start, end, start, end, …] virtual ms; undefined: always online. */
  online?: number[];
}

export interface DeviceTrace {
  /** The file as shown in messages. */
  file: string;
  kind: 'json' | 'profiles-csv' | 'availability-csv';
  entries: TraceEntry[];
  /** Whether the file can say when clients are online (JSON, availability CSV). */
  givesAvailability: boolean;
  /** Profile fields the file has (a CSV's columns; for JSON, the fields any client gives). */
  fields: ReadonlySet<ProfileField>;
  /** A refusal line about entry `index` (its id, or `field` of it): `file:line:col: at …: expected …`. */
  problemAt(index: number, field: 'id' | ProfileField | 'online', expected: string, found?: string): string;
}

/** Checks one client's intervals (seconds) and returns them as flat ms, or the problems found (`at(m, side)` names the place). */
function checkIntervals(pairs: ReadonlyArray<readonly [number, number | null]>, problem: (m: number, side: 0 | 1 | undefined, expected: string, found: string) => void): number[] {
  const flat: number[] = [];
  let previousEnd = -Infinity;
  pairs.forEach(([startS, endS], m) => {
    const end = endS === null ? Infinity : endS;
    if (!(end > startS)) {
      problem(m, 1, `an end after the start (${startS}): an online interval [start, end) needs end > start`, describeValue(endS));
      return;
    }
    if (startS < previousEnd) {
      problem(m, 0, `intervals sorted by start and disjoint: this one starts before the previous one ends (${previousEnd === Infinity ? 'never' : previousEnd})`, describeValue(startS));
      return;
    }
    flat.push(startS * MS_PER_SECOND, end * MS_PER_SECOND);
    previousEnd = end;
  });
  return flat;
}

function readText(path: string, shown: string): string {
  let size: number;
  try {
    const stat = statSync(path);
    // A path that names no file is the user's input to fix, like a bad line (exit 2 before the run), not a fault.
    if (stat.isDirectory()) throw new DeviceTraceError(shown, [], `${shown} is a directory; give the path of a device trace file (JSON or CSV, docs/devices.md)`);
    size = stat.size;
  } catch (error) {
    if (error instanceof DeviceTraceError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DeviceTraceError(shown, [], `${shown} does not exist; paths are relative to the experiment file (docs/devices.md)`);
    throw new FlFault(`cannot read the device trace ${shown}: ${(error as Error).message}`, { file: shown });
  }
  if (size > MAX_TRACE_BYTES) {
    throw new DeviceTraceError(shown, [], `${shown} is ${size.toLocaleString('en-US')} bytes; a device trace is read whole and must be under 512 MiB: split the population, or keep profiles and availability in separate files.`);
  }
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new FlFault(`cannot read the device trace ${shown}: ${(error as Error).message}`, { file: shown });
  }
}

/** Reads a trace file: `.json` or `.csv` (by extension). `shown` is its name in messages. */
export function readDeviceTrace(path: string, shown = path): DeviceTrace {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.csv') {
    throw new DeviceTraceError(shown, [], `${shown}: a device trace is a .json or .csv file (docs/devices.md), found '${ext || '(no extension)'}'.`);
  }
  const text = readText(path, shown);
  return ext === '.json' ? parseJsonTrace(text, shown) : parseCsvTrace(text, shown);
}

/** The positions of a JSON text, computed only when a problem must be placed. */
function lazyContext(text: string, file: string): () => DocumentContext {
  let context: DocumentContext | undefined;
  return () => {
    if (!context) {
      const lines = new LineCounter();
      const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
      context = { file, doc, lines };
    }
    return context;
  };
}

function lineColOf(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/**
 * `:line:col` of a JSON syntax error: from JSON.parse's "position N" when it gives one, else
 * from the `yaml` parser's JSON schema (JSON.parse says only "Unexpected token 'N'" for NaN).
 */
function jsonErrorPosition(text: string, message: string): string {
  const at = /position (\d+)/.exec(message);
  if (at) return `:${lineColOf(text, Number(at[1]))}`;
  const lines = new LineCounter();
  const [first] = parseDocument(text, { lineCounter: lines, schema: 'json', prettyErrors: false }).errors;
  if (!first) return '';
  const { line, col } = lines.linePos(first.pos[0]);
  return `:${line}:${col}`;
}

export function parseJsonTrace(text: string, file: string): DeviceTrace {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new DeviceTraceError(file, [`${file}${jsonErrorPosition(text, (error as Error).message)}: ${(error as Error).message}`], `${file} is not valid JSON:`);
  }
  const context = lazyContext(text, file);
  const parsed = DeviceTraceFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new DeviceTraceError(file, describeIssues(parsed.error, data, { ...context(), schema: DeviceTraceFileSchema }));
  }
  const problems: DocumentProblem[] = [];
  const firstIndexOf = new Map<string, number>();
  const fields = new Set<ProfileField>();
  const entries: TraceEntry[] = parsed.data.clients.map((client, k) => {
    const earlier = firstIndexOf.get(client.id);
    if (earlier !== undefined) problems.push({ path: ['clients', k, 'id'], expected: `a unique client id: '${client.id}' is also clients[${earlier}]` });
    else firstIndexOf.set(client.id, k);
    const profile: Partial<Record<ProfileField, number>> = {};
    for (const field of PROFILE_FIELDS) {
      if (client[field] !== undefined) {
        profile[field] = client[field];
        fields.add(field);
      }
    }
    const online =
      client.online === undefined
        ? undefined
        : checkIntervals(client.online, (m, side, expected, found) =>
            problems.push({ path: ['clients', k, 'online', m, ...(side === undefined ? [] : [side])], expected, found }),
          );
    return { id: client.id, profile, online };
  });
  if (problems.length) throw new DeviceTraceError(file, describeProblems(problems, data, context(), LISTED_PROBLEMS));
  return {
    file,
    kind: 'json',
    entries,
    givesAvailability: true,
    fields,
    problemAt: (index, field, expected, found) => describeProblems([{ path: ['clients', index, ...(field === 'id' ? ['id'] : [field])], expected, found }], data, context())[0],
  };
}

interface CsvRow {
  line: number;
  /** Cells and their 1-based columns. */
  cells: string[];
  cols: number[];
}

/** Splits a CSV text into rows (no quoting: ids and numbers need none, so a quote is refused rather than misread). */
function csvRows(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const quote = line.indexOf('"');
    if (quote >= 0) {
      problems.push(traceProblem(file, { line: i + 1, col: quote + 1, field: 'the row' }, 'plain comma-separated cells (ids and numbers need no quotes; fedsim does not read quoted CSV)', 'a quote'));
      return;
    }
    const cells: string[] = [];
    const cols: number[] = [];
    let col = 1;
    for (const cell of line.split(',')) {
      cells.push(cell.trim());
      cols.push(col + (cell.length - cell.trimStart().length));
      col += cell.length + 1;
    }
    rows.push({ line: i + 1, cells, cols });
  });
  if (problems.length) throw new DeviceTraceError(file, listProblems(problems));
  return rows;
}

/** A number from a CSV cell (`inf` allowed where `allowInfinity`), or undefined with a problem recorded. */
function csvNumber(cell: string, allowInfinity: boolean): number | undefined {
  if (allowInfinity && /^(inf|infinity)$/i.test(cell)) return Infinity;
  // Number('') is 0 and Number(' 0x1F') 31: only plain decimal numbers are read.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell)) return undefined;
  return Number(cell);
}

export function parseCsvTrace(text: string, file: string): DeviceTrace {
  const rows = csvRows(text, file);
  if (rows.length === 0) throw new DeviceTraceError(file, [], `${file} is empty: a CSV device trace starts with a header line (${PROFILE_COLUMNS.join(',')} or ${AVAILABILITY_COLUMNS.join(',')}).`);
  const [header, ...body] = rows;
  const columns = header.cells;
  const availability = columns.includes('start') || columns.includes('end');
  const allowed = availability ? AVAILABILITY_COLUMNS : PROFILE_COLUMNS;
  const problems: string[] = [];
  const at = (row: CsvRow, c: number, field: string) => ({ line: row.line, col: row.cols[c] ?? row.cols[row.cols.length - 1], field });
  columns.forEach((name, c) => {
    if (!allowed.includes(name)) {
      problems.push(traceProblem(file, at(header, c, `column ${c + 1} of the header`), `one of ${allowed.join(', ')} (${availability ? 'an availability table' : 'a profile table'})`, `'${name}'`));
    } else if (columns.indexOf(name) !== c) {
      problems.push(traceProblem(file, at(header, c, `column ${c + 1} of the header`), `each column once`, `'${name}' a second time`));
    }
  });
  const required = availability ? AVAILABILITY_COLUMNS : ['id'];
  for (const name of required) {
    if (!columns.includes(name)) problems.push(traceProblem(file, { line: header.line, field: 'the header' }, `a column '${name}' (the header of ${availability ? 'an availability table is id,start,end' : 'a profile table has id and some of ' + PROFILE_FIELDS.join(', ')})`, `missing column '${name}'`));
  }
  if (problems.length) throw new DeviceTraceError(file, listProblems(problems));

  const entries: TraceEntry[] = [];
  const rowOfEntry: CsvRow[] = [];
  const indexOf = new Map<string, number>();
  const idColumn = columns.indexOf('id');
  const fields = new Set(PROFILE_FIELDS.filter((f) => columns.includes(f)));
  // Availability rows of each client, in file order, checked when the file is read.
  const pairsOf: Array<Array<[number, number, CsvRow]>> = [];
  for (const row of body) {
    if (row.cells.length !== columns.length) {
      const missing = row.cells.length < columns.length;
      const c = missing ? row.cells.length : columns.length;
      problems.push(
        traceProblem(file, at(row, Math.min(c, row.cells.length - 1), missing ? `column '${columns[c]}'` : `cell ${c + 1}`), `${columns.length} cells (${columns.join(',')})`, missing ? `${row.cells.length}: a missing column` : `${row.cells.length}: an extra cell`),
      );
      continue;
    }
    const id = row.cells[idColumn];
    if (id === '') {
      problems.push(traceProblem(file, at(row, idColumn, "column 'id'"), 'a client id', 'an empty cell'));
      continue;
    }
    let index = indexOf.get(id);
    if (availability) {
      if (index === undefined) {
        index = entries.length;
        indexOf.set(id, index);
        entries.push({ id, profile: {}, online: [] });
        rowOfEntry.push(row);
        pairsOf.push([]);
      }
      const [start, end] = (['start', 'end'] as const).map((name) => {
        const c = columns.indexOf(name);
        const value = csvNumber(row.cells[c], name === 'end');
        if (value === undefined || (name === 'start' && value < 0)) {
          problems.push(traceProblem(file, at(row, c, `column '${name}' (client '${id}')`), name === 'start' ? 'a time in seconds ≥ 0' : 'a time in seconds (or inf: online from start on)', row.cells[c] === '' ? 'an empty cell' : `'${row.cells[c]}'`));
        }
        return value;
      });
      if (start !== undefined && end !== undefined && start >= 0) pairsOf[index].push([start, end, row]);
      continue;
    }
    if (index !== undefined) {
      problems.push(traceProblem(file, at(row, idColumn, "column 'id'"), `a unique client id: '${id}' is also on line ${rowOfEntry[index].line}`, `'${id}' again`));
      continue;
    }
    const profile: Partial<Record<ProfileField, number>> = {};
    for (const field of fields) {
      const c = columns.indexOf(field);
      const cell = row.cells[c];
      // An empty cell: this client's value comes from the settings' default.
      if (cell === '') continue;
      const value = csvNumber(cell, false);
      const positive = field !== 'latencyMs';
      if (value === undefined || (positive ? !(value > 0) : !(value >= 0))) {
        problems.push(traceProblem(file, at(row, c, `column '${field}' (client '${id}')`), positive ? 'a speed > 0' : 'a latency ≥ 0 (ms)', `'${cell}'`));
        continue;
      }
      profile[field] = value;
    }
    indexOf.set(id, entries.length);
    entries.push({ id, profile });
    rowOfEntry.push(row);
  }
  if (availability) {
    pairsOf.forEach((pairs, index) => {
      const flat = checkIntervals(
        pairs.map(([s, e]) => [s, e]),
        (m, side, expected, found) => {
          const row = pairs[m][2];
          problems.push(traceProblem(file, at(row, columns.indexOf(side === 0 ? 'start' : 'end'), `column '${side === 0 ? 'start' : 'end'}' (client '${entries[index].id}')`), expected, found));
        },
      );
      entries[index].online = flat;
    });
  }
  if (problems.length) throw new DeviceTraceError(file, listProblems(problems));
  return {
    file,
    kind: availability ? 'availability-csv' : 'profiles-csv',
    entries,
    givesAvailability: availability,
    fields,
    problemAt: (index, field, expected, found) => {
      const row = rowOfEntry[index];
      const c = field === 'online' ? columns.indexOf('start') : columns.indexOf(field);
      return traceProblem(file, { line: row.line, ...(c >= 0 ? { col: row.cols[c] } : {}), field: field === 'id' ? "column 'id'" : field === 'online' ? `client '${entries[index].id}'` : `column '${field}' (client '${entries[index].id}')` }, expected, found);
    },
  };
}
