/**
 * Re-execution check: compares each event of a run, as it happens, with the
 * recorded line of the same seq, and stops the run at the first difference.
 */
import { eventLine } from '../event-log.js';
import type { SimEvent } from '../events.js';
import { DivergenceError } from './divergence.js';
import type { RecordedLog } from './recorded-log.js';

export class LogVerifier {
  private checked = 0;

  constructor(private readonly log: RecordedLog) {}

  check(event: SimEvent): void {
    const actual = eventLine(event);
    const expected = this.log.lines[event.seq];
    this.checked = event.seq + 1;
    if (actual !== expected) throw this.error(event.seq, expected ?? null, actual);
  }

  /** Call when the run has ended: the recorded log must not have more events. */
  finish(): { events: number } {
    if (this.checked < this.log.lines.length) throw this.error(this.checked, this.log.lines[this.checked], null);
    return { events: this.checked };
  }

  private error(seq: number, expected: string | null, actual: string | null): DivergenceError {
    return new DivergenceError({ seq, expected, actual, context: this.log.lines.slice(Math.max(0, seq - 3), seq) });
  }
}
