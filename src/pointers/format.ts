/**
 * Printing tensors and stores the way the PySyft tutorials show them
 * (`tensor([1, 2, 3, 4, 5])`, `{1: tensor([…]), 3: …}`), so scenario output can be
 * compared with the tutorials line by line.
 */
import { isTensor } from '../messages/index.js';
import { formatObject, formatTensor } from '../actors/format-value.js';

export { formatObject, formatTensor };

/** A store listing, as PySyft printed `worker._objects`: `{id: object, …}`. */
export function formatObjects(objects: ReadonlyMap<string, unknown>): string {
  return `{${[...objects].map(([id, value]) => `${id}: ${formatObject(value)}`).join(', ')}}`;
}

/** Any value as a scenario prints it: tensors and stores as above, arrays element-wise, the rest by toString. */
export function show(value: unknown): string {
  if (isTensor(value)) return formatTensor(value);
  if (value instanceof Map) return formatObjects(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

/**
 * What a scenario printed, line by line, so tests (and later the CLI) can check it
 * against the tutorial. `print` formats its arguments with `show`, space-separated.
 */
export class Transcript {
  readonly lines: string[] = [];

  constructor(private readonly echo: ((line: string) => void) | null = null) {}

  print(...values: unknown[]): string {
    const line = values.map((v) => (typeof v === 'string' ? v : show(v))).join(' ');
    this.lines.push(line);
    this.echo?.(line);
    return line;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** What a tutorial scenario returns: the lines it printed and the values a test checks. */
export interface ScenarioOutput<O extends Record<string, unknown> = Record<string, unknown>> {
  printed: string[];
  observed: O;
}
