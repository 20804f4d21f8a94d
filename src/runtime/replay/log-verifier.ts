/**
 * Re-execution check: compares each event of a run, as it happens, with the
 * recorded line of the same seq, and stops the run at the first difference.
 *
 * The recorded log is read forward as the run goes (a LogStream), keeping only the
 * last few lines for the divergence's context, so a log of any size is checked in
 * bounded memory. When a recorded line differs because the line itself is broken
 * (not JSON, a wrong seq), the error says so instead of reporting a divergence.
 */
import { canonicalJson } from '../canonical.js';
import { FedsimError } from '../errors.js';
import { eventLine, type LogHeader } from '../event-log.js';
import type { SimEvent } from '../events.js';
import { DivergenceError } from './divergence.js';
import { type LogStream, parseEventLine } from './recorded-log.js';

const CONTEXT_LINES = 3;

/** The header of a re-executed run differs from the recorded one: it cannot reproduce the log. */
export class LogHeaderMismatchError extends FedsimError {
  override name = 'LogHeaderMismatchError';
  constructor(readonly field: string, readonly recorded: unknown, readonly actual: unknown, source: string) {
    super(
      `${source}, line 1 (the header): ${field} is ${JSON.stringify(recorded)} in the log, but this run has ${JSON.stringify(actual)}, ` +
        `so it cannot reproduce the recorded events. ${HINTS[field] ?? 'The header was edited, or the scenario changed since the run was recorded.'}`,
    );
  }
}

const HINTS: Record<string, string> = {
  fedsim: 'The log was recorded by another fedsim version (or its header was edited): replay it with the version that recorded it.',
  latency: "The header was edited, or the scenario's link latency changed since the run was recorded.",
  backend: 'Replay on the backend the log names (fedsim replay starts it from the header; a different installed version counts as a different backend).',
  seed: 'The header was edited: the seed decides every random choice of the run.',
};

/** Header fields a re-execution must reproduce (kind and format are checked when the log is read). */
const CHECKED_FIELDS = ['fedsim', 'seed', 'strategy', 'faults', 'backend', 'latency', 'scenario'] as const;

export class LogVerifier {
  private checked = 0;
  private readonly recent: string[] = [];

  constructor(private readonly log: LogStream) {}

  /** Throws LogHeaderMismatchError when the new run's header differs from the recorded one in a field that matters. */
  checkHeader(actual: LogHeader): void {
    for (const field of CHECKED_FIELDS) {
      const recorded = this.log.header[field];
      if (canonicalJson(recorded) !== canonicalJson(actual[field])) throw new LogHeaderMismatchError(field, recorded, actual[field], this.log.source);
    }
  }

  check(event: SimEvent): void {
    const actual = eventLine(event);
    const expected = this.log.nextLine();
    this.checked = event.seq + 1;
    if (actual !== expected) throw this.error(event.seq, expected, actual);
    this.remember(expected);
  }

  /** Call when the run has ended: the recorded log must not have more events. */
  finish(): { events: number } {
    const more = this.log.nextLine();
    this.log.close();
    if (more !== null) throw this.error(this.checked, more, null);
    return { events: this.checked };
  }

  private remember(line: string): void {
    if (this.recent.length === CONTEXT_LINES) this.recent.shift();
    this.recent.push(line);
  }

  private error(seq: number, expected: string | null, actual: string | null): Error {
    this.log.close();
    // A recorded line that is not a well-formed event is a damaged log, not a divergence.
    if (expected !== null) parseEventLine(expected, seq + 2, 0, this.log.source);
    return new DivergenceError({ seq, expected, actual, context: [...this.recent] });
  }
}
