/**
 * The refusal of a device trace file: file, line, field, what was expected and what was
 * found, in the same `file:line:col: at field: expected …, found …` shape as experiment
 * files (src/scenario/document-errors.ts).
 */
import { DataFormatError } from '../errors.js';

/** Where in a trace file: `line`/`col` 1-based; `field` a JSON path (`clients[3].online[1]`) or a CSV column. */
export interface TraceLocation {
  line?: number;
  col?: number;
  field: string;
}

export class DeviceTraceError extends DataFormatError {
  override name = 'DeviceTraceError';
  /** Each problem's line, as printed (the message holds the first few). */
  readonly problems: string[];

  constructor(
    readonly file: string,
    problems: string[],
    headline = `${file} is not a valid device trace:`,
  ) {
    super(problems.length ? `${headline}\n${problems.map((p) => `  - ${p}`).join('\n')}` : headline, { file });
    this.problems = problems;
  }
}

/** `file:line:col: at field: expected …, found …` */
export function traceProblem(file: string, at: TraceLocation, expected: string, found?: string): string {
  const position = at.line === undefined ? '' : `:${at.line}${at.col === undefined ? '' : `:${at.col}`}`;
  return `${file}${position}: at ${at.field}: expected ${expected}${found === undefined ? '' : `, found ${found}`}`;
}

/** How many problems a refusal lists before "… and N more". */
export const LISTED_PROBLEMS = 8;

export function listProblems(problems: readonly string[]): string[] {
  return problems.length > LISTED_PROBLEMS ? [...problems.slice(0, LISTED_PROBLEMS), `… and ${problems.length - LISTED_PROBLEMS} more problems`] : [...problems];
}
