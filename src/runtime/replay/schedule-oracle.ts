/**
 * Schedule replay: the recorded log, not the PRNG, decides.
 *
 * Two kinds of decision are random in a run: which deliverable message goes next
 * (the `scheduler` stream) and what the fault plan does to each message (the
 * `faults` stream). In schedule replay both are read from the recorded log — the
 * next `delivered` event names the message to deliver, and the events recorded
 * for a message at send time give its delay, reordering, loss and duplication —
 * so a run recorded elsewhere, or under another seed, is reproduced. Anything the
 * log cannot answer is a divergence, never a silent fallback.
 */
import type { Envelope } from '../envelope.js';
import type { FaultDecider, MessageRef, SendDecision } from '../faults/fault-injector.js';
import { type Divergence, DivergenceError } from './divergence.js';
import type { RecordedEvent, RecordedLog } from './recorded-log.js';

interface RecordedFate {
  sent: RecordedEvent;
  delayBy: number;
  dropped: boolean;
  reordered: boolean;
  duplicateDeliverAt: number | null;
  duplicateAfter: number | null;
}

export class ScheduleOracle implements FaultDecider {
  private readonly fates = new Map<string, RecordedFate>();

  constructor(private readonly log: RecordedLog) {
    for (const event of log.events) {
      if (!event.msg) continue;
      if (event.ev === 'sent') {
        this.fates.set(event.msg, { sent: event, delayBy: 0, dropped: false, reordered: false, duplicateDeliverAt: null, duplicateAfter: null });
        continue;
      }
      const fate = this.fates.get(event.msg);
      if (!fate) continue;
      if (event.ev === 'dropped' && event.reason === 'fault') fate.dropped = true;
      if (event.ev === 'reordered') fate.reordered = true;
      if (event.ev === 'delayed') fate.delayBy = event.by ?? 0;
      if (event.ev === 'duplicated') {
        fate.duplicateDeliverAt = event.deliverAt ?? null;
        fate.duplicateAfter = typeof event.after === 'number' ? event.after : null;
      }
    }
  }

  /** Fault decision for a message, read from the log. `baseDeliverAt` is when it would arrive without faults. */
  decide(message: MessageRef, baseDeliverAt: number, seq: number): SendDecision {
    const msgId = message.id;
    const fate = this.fates.get(msgId);
    if (!fate) this.diverge(seq, `(message ${msgId} is sent now, but the recorded run never sent it)`);
    const deliverAt = fate.sent.deliverAt ?? baseDeliverAt;
    if (deliverAt < baseDeliverAt) this.diverge(seq, `(message ${msgId} would arrive at ${baseDeliverAt}, the recorded run delivered it at ${deliverAt})`);
    return {
      drop: fate.dropped,
      delayBy: fate.delayBy,
      reorder: fate.reordered,
      duplicateAfter: fate.duplicateDeliverAt === null ? null : (fate.duplicateAfter ?? fate.duplicateDeliverAt - deliverAt),
      deliverAt,
      ...(fate.duplicateDeliverAt === null ? {} : { duplicateDeliverAt: fate.duplicateDeliverAt }),
    };
  }

  /** Picks, among the deliverable envelopes, the one the recorded log delivers at `seq`. */
  choose(candidates: readonly Envelope[], seq: number): number {
    const expected = this.log.events[seq];
    if (!expected || !expected.msg || !(expected.ev === 'delivered' || expected.ev === 'dropped')) {
      this.diverge(seq, `(a message is about to be delivered; deliverable now: ${candidates.map((c) => c.id).join(', ')})`);
    }
    const wantCopy = expected.copy === 1;
    const index = candidates.findIndex((c) => c.id === expected.msg && !!c.duplicate === wantCopy);
    if (index < 0) {
      this.diverge(seq, `(the recorded message ${expected.msg} is not deliverable now; deliverable: ${candidates.map((c) => c.id).join(', ')})`);
    }
    return index;
  }

  private diverge(seq: number, actual: string): never {
    const divergence: Divergence = { seq, expected: this.log.lines[seq] ?? null, actual, context: this.log.lines.slice(Math.max(0, seq - 3), seq) };
    throw new DivergenceError(divergence, 'Schedule replay cannot follow the recorded log');
  }
}
