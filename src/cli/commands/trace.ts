/**
 * `fedsim trace …`: make device trace files (docs/devices.md).
 *
 *   fedsim trace diurnal --clients 100 --days 2 --seed 7 -o traces/diurnal-100x2d.json
 *   fedsim trace from-fedscale device.json behaviour.json -o traces/fedscale.json --clients 1000 --days 7
 *
 * Client ids are the ones a `kind: fedavg` experiment of that many clients has (client-0…,
 * zero-padded), so a trace made here fits such a run as it is. Without -o the trace goes
 * to stdout.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createStream } from '../../runtime/rng.js';
import { parseSeed } from '../../scenario/run-arguments.js';
import { displayPath } from '../../scenario/scenario-path.js';
import { DIURNAL_STREAM, DiurnalSettingsSchema, type DiurnalSettings, nextDiurnalClient } from '../../fl/devices/diurnal.js';
import { convertFedScale, type FedScaleInput, FEDSCALE_AUGMENTATION_FACTOR } from '../../fl/devices/fedscale.js';
import { DeviceTraceError } from '../../fl/devices/trace-errors.js';
import { TRACE_FORMAT, TRACE_VERSION, type TraceClient } from '../../fl/devices/trace-format.js';
import { traceLines, writeTraceFile } from '../../fl/devices/trace-writer.js';
import { experimentClientIds } from '../../fl/experiments/preflight.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { DIURNAL_FLAGS, flagOf } from './trace-flags.js';

/** Most clients a generated trace may have (a file of ~100 bytes a client: 10 M clients ≈ 1 GB). */
const MAX_TRACE_CLIENTS = 10_000_000;

/** Flags of `trace diurnal`, as commander hands them over. */
export interface DiurnalOptions {
  clients?: string;
  days?: string;
  seed?: string;
  out?: string;
  nightStartHour?: string;
  nightStartJitterHours?: string;
  nightHours?: string;
  nightHoursSigma?: string;
  nightProbability?: string;
  daySessions?: string;
  daySessionMinutes?: string;
  timeZoneSpreadHours?: string;
}


function number(flag: string, text: string): number {
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new CliError(`${flag} ${text}: give a number.`);
  return value;
}

function clientCount(text: string | undefined, flag = '--clients'): number {
  if (text === undefined) throw new CliError(`${flag} is required: how many clients the trace describes (ids client-0 … as a fedavg experiment of that size has).`);
  const n = number(flag, text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TRACE_CLIENTS) throw new CliError(`${flag} ${text}: give a whole number of clients from 1 to ${MAX_TRACE_CLIENTS.toLocaleString('en-US')}.`);
  return n;
}

/** The flags, checked into the generator's settings (a CliError naming the flag otherwise). */
export function resolveDiurnal(options: DiurnalOptions): { clients: number; seed: number | string; settings: DiurnalSettings } {
  const clients = clientCount(options.clients);
  if (options.days === undefined) throw new CliError('--days is required: how many days the trace covers from virtual time 0.');
  if (options.seed === undefined) throw new CliError('--seed is required: the same seed and flags give the same trace (the run\'s seed, to match an experiment\'s `availability: { diurnal }`).');
  let seed: number | string;
  try {
    seed = parseSeed(options.seed);
  } catch (error) {
    throw new CliError(`--seed: ${(error as Error).message}`);
  }
  const input: Record<string, number> = { days: number('--days', options.days) };
  for (const field of DIURNAL_FLAGS) {
    const text = options[field];
    if (text !== undefined) input[field] = number(flagOf(field), text);
  }
  const parsed = DiurnalSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue.path[0]);
    throw new CliError(`${flagOf(field)} ${input[field]}: ${issue.message.replace(/^Too (small|big): expected number to be /, 'give a number ')}.`);
  }
  return { clients, seed, settings: parsed.data };
}

/** Where the trace goes: a file (through a .partial renamed into place), or stdout. */
function emit(out: string | undefined, lines: Iterable<string>): string {
  if (out === undefined || out === '-') {
    for (const line of lines) process.stdout.write(line);
    return 'stdout';
  }
  const path = resolve(out);
  try {
    writeTraceFile(path, lines);
  } catch (error) {
    throw new CliError(`-o ${out}: cannot write the trace: ${(error as Error).message}`);
  }
  return displayPath(path);
}

const provenance = (seed: number | string, clients: number, s: DiurnalSettings) =>
  `fedsim trace diurnal --clients ${clients} --seed ${seed} --days ${s.days} ` + DIURNAL_FLAGS.map((f) => `${flagOf(f)} ${s[f]}`).join(' ');

export function traceDiurnalCommand(options: DiurnalOptions): number {
  const { clients, seed, settings } = resolveDiurnal(options);
  const ids = experimentClientIds(clients);
  const rng = createStream(seed, DIURNAL_STREAM);
  let intervals = 0;
  // Streamed client by client: a million clients are never all in memory.
  function* entries(): Generator<TraceClient> {
    for (const id of ids) {
      const sessions = nextDiurnalClient(settings, rng);
      const online: Array<[number, number]> = [];
      for (let m = 0; m < sessions.length; m += 2) online.push([sessions[m], sessions[m + 1]]);
      intervals += online.length;
      yield { id, online };
    }
  }
  const where = emit(options.out, traceLines({ format: TRACE_FORMAT, version: TRACE_VERSION, source: provenance(seed, clients, settings) }, entries()));
  process.stderr.write(`wrote ${where}: ${clients} clients, ${intervals} online intervals over ${settings.days} days (seed ${seed})\n`);
  return EXIT_OK;
}

export interface FedScaleOptions {
  out?: string;
  clients?: string;
  days?: string;
  augmentationFactor?: string;
}

function readJson(file: string, role: string): FedScaleInput {
  const path = resolve(file);
  const shown = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`${role} ${shown}: cannot read it: ${(error as Error).message}`);
  }
  try {
    return { data: JSON.parse(text), text, file: shown };
  } catch (error) {
    throw new CliError(`${role} ${shown} is not JSON (${(error as Error).message}); dump FedScale's pickle to JSON first (docs/devices.md, "FedScale's traces").`);
  }
}

export function traceFromFedScaleCommand(deviceFile: string, behaviourFile: string, options: FedScaleOptions): number {
  const device = readJson(deviceFile, 'device capacity');
  const behaviour = readJson(behaviourFile, 'behaviour trace');
  const entries = (input: FedScaleInput) => (input.data && typeof input.data === 'object' && !Array.isArray(input.data) ? Object.keys(input.data).length : 0);
  const clients = options.clients === undefined ? Math.min(entries(device), entries(behaviour)) : clientCount(options.clients);
  const horizonSeconds = options.days === undefined ? undefined : number('--days', options.days) * 86_400;
  if (horizonSeconds !== undefined && !(horizonSeconds > 0)) throw new CliError(`--days ${options.days}: give a number of days > 0.`);
  const augmentationFactor = options.augmentationFactor === undefined ? FEDSCALE_AUGMENTATION_FACTOR : number('--augmentation-factor', options.augmentationFactor);
  if (!(augmentationFactor > 0)) throw new CliError(`--augmentation-factor ${options.augmentationFactor}: give a number > 0 (FedScale's default is ${FEDSCALE_AUGMENTATION_FACTOR}).`);
  let trace;
  try {
    // An empty or non-object file leaves no client: converting one says which file and why.
    trace = convertFedScale(device, behaviour, { ids: experimentClientIds(Math.max(1, clients)), horizonSeconds, augmentationFactor });
  } catch (error) {
    // A file that is not what it should be is a usage error (exit 2), like any invalid input file.
    if (error instanceof DeviceTraceError) throw new CliError(error.message);
    throw error;
  }
  const { clients: converted, ...header } = trace;
  const where = emit(options.out, traceLines(header, converted));
  const intervals = converted.reduce((sum, c) => sum + (c.online?.length ?? 0), 0);
  process.stderr.write(`wrote ${where}: ${clients} clients, ${intervals} online intervals (${trace.source})\n`);
  return EXIT_OK;
}
