/**
 * Replaying a live recording in the simulator.
 *
 * A live run (transport nats) has no seed-decided schedule to re-execute: the network
 * decided which message arrived when. What it recorded — every message with its causal
 * ids (sender, per-sender sequence, cause), every delivery in the order it happened, every
 * loss and duplicate, every handler error — is what the simulator must reproduce. This
 * class is both the scheduler's oracle and the check:
 *
 * - which deliverable message goes next: the next one the recording delivered (the
 *   recording's order is causal, so when the code is unchanged it is always deliverable);
 * - what happens to each message sent: the fate recorded for it (lost, duplicated), not
 *   a draw from the fault plan (time is real there, virtual here: times are not compared);
 * - every message sent, delivered or lost and every handler error is compared, field by
 *   field (ids, endpoints, type, payload digest, cause, the request answered), with the
 *   recorded event; the first difference stops the run as a DivergenceError that names
 *   the recorded event's seq, so a changed handler is reported where its output first
 *   differs.
 */
import { eventLine } from '../event-log.js';
import type { Envelope } from '../envelope.js';
import type { SimEvent } from '../events.js';
import { type FaultDecider, type MessageRef, NO_FAULT, type SendDecision } from '../faults/fault-injector.js';
import { type Divergence, DivergenceError } from './divergence.js';
import type { RecordedEvent, RecordedLog } from './recorded-log.js';

/** The fields two runs must agree on for an event (not times, sizes or the process that recorded it). */
const COMPARED = ['ev', 'msg', 'from', 'to', 'type', 'digest', 'cause', 're', 'copy', 'actor', 'error'] as const;
const CONTEXT_LINES = 3;

const keyOf = (msg: string | undefined, copy: boolean) => `${msg}${copy ? '#copy' : ''}`;

function comparable(event: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const field of COMPARED) if (event[field] !== undefined) out[field] = event[field];
  return JSON.stringify(out);
}

export class CausalReplay implements FaultDecider {
  /** Recorded sends (originals by msg id, fault copies by `id#copy`), with their seq. */
  private readonly sends = new Map<string, RecordedEvent>();
  /** Recorded losses by message key. */
  private readonly losses = new Map<string, RecordedEvent>();
  private readonly errors = new Map<string, RecordedEvent>();
  /** Recorded deliveries, in the order they happened. */
  private readonly deliveries: RecordedEvent[] = [];
  private nextDelivery = 0;
  /** Seqs of the recorded events compared so far, and the lowest one not reproduced yet. */
  private readonly matched = new Set<number>();
  private lowestUnmatched = 0;
  private readonly compared: RecordedEvent[] = [];

  constructor(private readonly log: RecordedLog) {
    for (const event of log.events) {
      const copy = event.copy === 1 || event.ev === 'duplicated';
      if (event.ev === 'sent' || event.ev === 'duplicated') this.sends.set(keyOf(event.msg, copy), event);
      else if (event.ev === 'delivered') this.deliveries.push(event);
      else if (event.ev === 'dropped') this.losses.set(keyOf(event.msg, copy), event);
      else if (event.ev === 'error') this.errors.set(`${event.actor}|${event.msg}`, event);
      else continue;
      this.compared.push(event);
    }
  }

  /** The fate the recording gives a message: lost, or duplicated (at once: order is the oracle's business). */
  decide(message: MessageRef, baseDeliverAt: number): SendDecision {
    const dropped = this.losses.has(keyOf(message.id, false));
    const duplicated = this.sends.has(keyOf(message.id, true));
    if (!dropped && !duplicated) return NO_FAULT;
    return { drop: dropped, delayBy: 0, reorder: false, duplicateAfter: duplicated ? 0 : null, deliverAt: baseDeliverAt, ...(duplicated ? { duplicateDeliverAt: baseDeliverAt } : {}) };
  }

  /**
   * Index, among the deliverable envelopes, of the one the recording delivered next; -1 when
   * that one is not due yet (pendingExpected finds it).
   */
  choose(candidates: readonly Envelope[], pending: () => readonly Envelope[] = () => []): number {
    const expected = this.deliveries[this.nextDelivery];
    if (expected === undefined) {
      this.diverge(null, `(a message is about to be delivered — deliverable now: ${candidates.map((c) => c.id).join(', ')} — but the recording delivered nothing more)`);
    }
    const index = candidates.findIndex((c) => this.isExpected(c, expected));
    if (index < 0 && pending().some((c) => this.isExpected(c, expected))) return -1;
    if (index < 0) this.diverge(expected, `(the recorded delivery of ${expected.msg} is not possible now: the replay never sent it, or has not yet; deliverable now: ${candidates.map((c) => c.id).join(', ') || 'nothing'})`);
    return index;
  }

  /** The message the recording delivers next, among the pending ones (undefined: not pending). */
  pendingExpected(pending: readonly Envelope[]): Envelope | undefined {
    const expected = this.deliveries[this.nextDelivery];
    return expected && pending.find((c) => this.isExpected(c, expected));
  }

  private isExpected(envelope: Envelope, expected: RecordedEvent): boolean {
    return envelope.id === expected.msg && !!envelope.duplicate === (expected.copy === 1);
  }

  /** Compares an event of the replay with its recorded counterpart. */
  check(event: SimEvent): void {
    const e = event as unknown as Record<string, unknown> & { ev: string; msg?: string; copy?: number };
    let recorded: RecordedEvent | undefined;
    switch (event.ev) {
      case 'sent':
      case 'duplicated':
        recorded = this.sends.get(keyOf(event.msg, event.ev === 'duplicated'));
        break;
      case 'delivered':
        recorded = this.deliveries[this.nextDelivery++];
        break;
      case 'dropped':
        recorded = this.losses.get(keyOf(event.msg, !!event.envelope.duplicate));
        break;
      case 'error':
        recorded = this.errors.get(`${event.actor}|${event.msg}`);
        break;
      default:
        return; // spawns, timers, marks: where they happen is not a message of the run
    }
    const line = eventLine(event);
    const actual = JSON.parse(line) as Record<string, unknown>;
    // A lost message's reason may differ (the network refused it there; here the recording drops it at send).
    if (event.ev === 'dropped' && recorded) actual.reason = recorded.reason;
    if (recorded === undefined) this.diverge(this.firstUnmatched(), `${line}  (the recording has no such event)`);
    if (comparable(actual) !== comparable(recorded)) this.diverge(recorded, line);
    this.matched.add(recorded.seq);
    void e;
  }

  /** The run has ended: every recorded message event must have been reproduced. */
  finish(): { events: number } {
    const missing = this.firstUnmatched();
    if (missing !== null) this.diverge(missing, null);
    return { events: this.log.events.length };
  }

  private firstUnmatched(): RecordedEvent | null {
    while (this.lowestUnmatched < this.compared.length && this.matched.has(this.compared[this.lowestUnmatched].seq)) this.lowestUnmatched++;
    return this.compared[this.lowestUnmatched] ?? null;
  }

  private diverge(expected: RecordedEvent | null, actual: string | null): never {
    const seq = expected?.seq ?? this.log.events.length;
    const divergence: Divergence = {
      seq,
      expected: expected === null ? null : this.log.lines[expected.seq],
      actual,
      context: this.log.lines.slice(Math.max(0, seq - CONTEXT_LINES), seq),
    };
    throw new DivergenceError(divergence, 'The replay of the live recording diverged');
  }
}
