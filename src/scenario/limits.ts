/**
 * Limits on what a scenario file may ask for: its size, its YAML aliases, and the
 * sizes of the run it describes (rounds, clients, model parameters, …).
 *
 * A typo like `rounds: 1000000` or `devices: 3e7`, or a hostile file (a YAML alias
 * bomb, a multi-GB file), must be refused before the run with an error naming the
 * limit, not end in an hour-long run or an out-of-memory crash. Every limit has a
 * documented default, and a user who means it raises it explicitly:
 *
 *   limits: { rounds: 50000 }                 # in the experiment file
 *   fedsim run x.yaml --limit rounds=50000    # or on the command line (wins over the file)
 *
 * `fileBytes`, `yamlAliases` and `nestingDepth` apply while the file is read, before its
 * `limits:` block exists, so only `--limit` (or loadScenario's `limits` option) raises them.
 */
import { z } from 'zod';

export interface LimitSpec {
  /** The default bound (inclusive). */
  default: number;
  /** What it bounds, in words ("rounds of a run"). */
  what: string;
}

/** Limits of every scenario or experiment file, checked while it is read. */
export const FILE_LIMITS = {
  fileBytes: { default: 1 << 20, what: 'bytes of a scenario, experiment or fault-plan file' },
  yamlAliases: { default: 100, what: 'uses of YAML aliases (*name) in one file' },
  nestingDepth: { default: 32, what: 'levels of nested mappings and lists in one file' },
} as const satisfies Record<string, LimitSpec>;

/** Effective limits: name → bound. */
export type Limits = Readonly<Record<string, number>>;

export class LimitError extends Error {
  override name = 'LimitError';
}

/** The defaults of `specs`, with `overrides` (from a file's `limits:` block, then the CLI) laid over them. */
export function effectiveLimits(specs: Record<string, LimitSpec>, ...overrides: Array<Record<string, number> | undefined>): Limits {
  const limits: Record<string, number> = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.default]));
  for (const layer of overrides) Object.assign(limits, layer ?? {});
  return limits;
}

/** What to write to raise a limit. */
export function raiseHint(name: string, fileBlock = true): string {
  return fileBlock ? `raise it with \`limits: { ${name}: N }\` in the file or --limit ${name}=N` : `raise it with --limit ${name}=N`;
}

/** `--limit rounds=50000` (repeatable): a positive integer per name. Names are checked when the file's kind is known. */
export function parseLimitArgument(text: string, previous: Record<string, number> = {}): Record<string, number> {
  const match = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\d+)\s*$/.exec(text);
  if (!match) throw new LimitError(`--limit ${text}: write name=value with a positive integer value (e.g. --limit rounds=50000).`);
  const value = Number(match[2]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new LimitError(`--limit ${text}: the value must be a positive integer below 2^53.`);
  return { ...previous, [match[1]]: value };
}

/** A `limits:` block for a file whose known limits are `specs`: only those names, positive integers. */
export function limitsBlockSchema(specs: Record<string, LimitSpec>) {
  const shape = Object.fromEntries(Object.keys(specs).map((name) => [name, z.number().int().positive().optional()]));
  return z.object(shape).strict();
}

/** Refuses limit names no spec knows (a `--limit` typo must not silently do nothing). */
export function checkLimitNames(overrides: Record<string, number> | undefined, specs: Record<string, LimitSpec>, source: string): void {
  const unknown = Object.keys(overrides ?? {}).filter((name) => !(name in specs));
  if (unknown.length) {
    throw new LimitError(`${source}: unknown limit${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; this file knows ${Object.keys(specs).join(', ')}.`);
  }
}

/** One line per limit, for help texts and the README. */
export function describeLimits(specs: Record<string, LimitSpec>): string[] {
  return Object.entries(specs).map(([name, spec]) => `${name} = ${spec.default.toLocaleString('en-US')}: ${spec.what}`);
}
