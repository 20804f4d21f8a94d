/**
 * The textual forms of seeds, seed ranges and scheduling strategies, shared by the
 * CLI's parsers and the repro commands printed for failures (so what is printed
 * parses back to the same run).
 */
import { parse as parseYaml } from 'yaml';
import type { Seed } from '../runtime/rng.js';
import { type StrategySpec, StrategySpecSchema } from '../runtime/scheduling/strategy.js';

export class ArgumentError extends Error {
  override name = 'ArgumentError';
}

/**
 * `42` → 42; a word (`alpha`, `run-7`) is a string seed. Text that an experiment file
 * reads as a number that is not an integer (`1.5`, `.inf`) is refused, as the file's
 * `seed: 1.5` is, and `0x10` or `1e3` are the integers the file reads: the same text
 * means the same seed on the command line and in a file.
 */
export function parseSeed(text: string): Seed {
  const trimmed = text.trim();
  if (trimmed === '') throw new ArgumentError('A seed cannot be empty: give an integer (e.g. --seed 42) or a word.');
  let asInFile: unknown;
  try {
    asInFile = parseYaml(trimmed);
  } catch {
    return trimmed; // not a YAML scalar at all (e.g. `a: b: c`): a word
  }
  if (typeof asInFile !== 'number') return trimmed;
  if (!Number.isInteger(asInFile)) {
    throw new ArgumentError(`Seed ${trimmed} is a number but not an integer: a seed is an integer (e.g. 42) or a word (e.g. alpha), as in experiment files.`);
  }
  if (!Number.isSafeInteger(asInFile)) throw new ArgumentError(`Seed ${trimmed} is too large: use an integer below 2^53 or a word.`);
  return asInFile;
}

/** The most seeds one explore takes (each is a run; the list is held in memory). */
export const MAX_SEEDS = 1_000_000;

function tooManySeeds(text: string, count: number): ArgumentError {
  return new ArgumentError(
    `Seeds ${text} are ${count.toLocaleString('en-US')} seeds, more than a million: explore a range of at most a million at a time, ` +
      'or split it (1..1000000, then 1000001..2000000, …).',
  );
}

/** `1..500`, `1,5,9`, `1..10,42`, or a count `50` meaning 1..50 when `countForm` is set; at most MAX_SEEDS seeds. */
export function parseSeedRange(text: string, options: { countForm?: boolean } = {}): number[] {
  const seeds: number[] = [];
  if (options.countForm && /^\s*\d+\s*$/.test(text) && Number(text) > MAX_SEEDS) throw tooManySeeds(text.trim(), Number(text));
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new ArgumentError(`Seed range ${part} is empty: write low..high (e.g. 1..500).`);
      if (seeds.length + (to - from + 1) > MAX_SEEDS) throw tooManySeeds(text, seeds.length + (to - from + 1));
      for (let s = from; s <= to; s++) seeds.push(s);
    } else if (/^-?\d+$/.test(part)) {
      seeds.push(Number(part));
    } else {
      throw new ArgumentError(`Cannot read seeds '${text}': use a range 1..500, a list 1,5,9, or both (1..10,42).`);
    }
  }
  if (options.countForm && seeds.length === 1 && !text.includes('..') && !text.includes(',')) {
    return Array.from({ length: seeds[0] }, (_, i) => i + 1);
  }
  return seeds;
}

/** `fifo-random`, `random`, `pct`, `pct:3`, `pct:3:10000` (depth, maxSteps), or a JSON spec. */
export function parseStrategy(text: string): StrategySpec {
  const trimmed = text.trim();
  let spec: unknown = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      spec = JSON.parse(trimmed);
    } catch {
      throw new ArgumentError(`--strategy ${trimmed}: not valid JSON.`);
    }
  } else if (trimmed === 'pct' || trimmed.startsWith('pct:')) {
    const [, depth, maxSteps] = trimmed.split(':');
    spec = { name: 'pct', ...(depth ? { depth: Number(depth) } : {}), ...(maxSteps ? { maxSteps: Number(maxSteps) } : {}) };
  }
  const parsed = StrategySpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ArgumentError(`Unknown strategy '${trimmed}': use fifo-random (default), random, pct, pct:<depth>, or pct:<depth>:<maxSteps>.`);
  }
  return spec as StrategySpec;
}

/** The inverse of parseStrategy, for printed commands. */
export function formatStrategy(spec: StrategySpec): string {
  if (typeof spec === 'string') return spec;
  if (spec.name === 'pct') {
    const pct = spec as { depth?: number; maxSteps?: number };
    return `pct${pct.depth !== undefined ? `:${pct.depth}` : ''}${pct.maxSteps !== undefined ? `:${pct.maxSteps}` : ''}`;
  }
  return spec.name;
}
