/**
 * Where a run parts ways with another (`fedsim view RUN --diff OTHER`): the first event
 * whose line differs, found as `fedsim diff` finds it (both logs streamed side by side),
 * with the other run's line there. Runs of different scenarios are refused: their
 * first difference is their first event, which says nothing.
 */
import { canonicalJson, openLogStream, type LogHeader } from '../runtime/index.js';
import { CliError } from '../cli/cli-error.js';
import { terminalText } from '../cli/terminal-text.js';

export interface RunDivergence {
  /** How the other run is named on screen. */
  other: string;
  /** Seq of the first differing event; null when the events are identical. */
  seq: number | null;
  /** The other run's line at seq (null: its log ends there). */
  otherLine: string | null;
  /** Header fields that differ (seed, faults, scenario…). */
  headerFields: string[];
}

const scenarioName = (header: LogHeader) => (typeof header.scenario?.name === 'string' ? header.scenario.name : undefined);

export function findRunDivergence(
  thisLog: { path: string; name: string; header: LogHeader },
  other: { path: string; name: string; header: LogHeader },
  options: { maxLineChars?: number } = {},
): RunDivergence {
  const [a, b] = [scenarioName(thisLog.header), scenarioName(other.header)];
  if (a !== b) {
    throw new CliError(
      `--diff ${terminalText(other.name)} is a run of ${b === undefined ? 'no named scenario' : `scenario '${terminalText(b)}'`}, but ${terminalText(thisLog.name)} is a run of ` +
        `${a === undefined ? 'no named scenario' : `'${terminalText(a)}'`}: runs of different scenarios differ from their first event. ` +
        'Give a run of the same scenario (another seed, fault plan, --set, or the code after a fix).',
    );
  }
  const headerA = thisLog.header as unknown as Record<string, unknown>;
  const headerB = other.header as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(headerA), ...Object.keys(headerB)])];
  const headerFields = keys.filter((k) => canonicalJson(headerA[k]) !== canonicalJson(headerB[k]));
  const streamA = openLogStream(thisLog.path, { source: thisLog.name, maxLineChars: options.maxLineChars });
  const streamB = openLogStream(other.path, { source: other.name, maxLineChars: options.maxLineChars });
  try {
    for (let seq = 0; ; seq++) {
      const lineA = streamA.nextLine();
      const lineB = streamB.nextLine();
      if (lineA === null && lineB === null) return { other: other.name, seq: null, otherLine: null, headerFields };
      if (lineA !== lineB) return { other: other.name, seq, otherLine: lineB, headerFields };
    }
  } finally {
    streamA.close();
    streamB.close();
  }
}
