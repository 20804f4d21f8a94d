/**
 * Replaying a live recording in the simulator.
 *
 * A live run (transport nats) has no seed-decided schedule to re-execute: the network
 * decided which message arrived when, and real time decided when each timer fired. What it
 * recorded — every message with its causal ids (sender, per-sender sequence, cause), every
 * delivery and every actor's timer firing in the order they happened, at the live time
 * they happened, every loss and duplicate, every handler error — is what the simulator
 * must reproduce. This class is both the scheduler's oracle and the check:
 *
 * - what happens next (`next`): the next step the recording took — a delivery or an
 *   actor's timer firing — at the time it took it: the virtual clock reads the recorded
 *   time at each step (what the clock of the step's process read: `localT` where the merge
 *   lifted `t`), so whatever a handler computes from the clock (a round's duration,
 *   its end, a deadline) is what it computed live. An actor's timer fires only where the
 *   recording fired one, whatever the virtual clock says; a timer set live that never
 *   fired (cancelled, or the run ended first) never fires here either. Runtime timers
 *   (owned by no actor: the driver's request timeouts) are not recorded and fire on the
 *   virtual clock, before the first step recorded after their due time;
 * - what happens to each message sent: the fate recorded for it (lost, duplicated), not
 *   a draw from the fault plan;
 * - every message sent, delivered or lost, every timer firing and every handler error is
 *   compared with the recorded event (ids, endpoints, type, payload digest, cause, the
 *   request answered; for a timer, its actor); the first difference stops the run as a
 *   DivergenceError that names the recorded event's seq, so a changed handler is reported
 *   where its output first differs, and a timer that fires in one run and not in the other
 *   where the other did something else.
 *
 * Timers are matched by actor, not by id: ids count every timer of a process (each process
 * of a live run has its own), and the replay runs them all in one. Live, a process fires
 * its timers in due order and before any delivery they are due by, so the timer a
 * recorded firing stands for is the actor's earliest pending one, and a timer of the same
 * process due before a recorded step that the recording did not fire first is one the
 * live run never fired.
 *
 * For the same reason a message's `cause` that names a timer (`timer:<id>`) is compared
 * through the firings matched so far: each of the replay's timer firings stands for a
 * recorded one (same actor, its process's own id), and a cause naming the replay's timer
 * is the same cause as one naming the recorded timer it stands for, in the same process.
 */
import type { Timer } from '../clock.js';
import { eventLine } from '../event-log.js';
import type { Envelope } from '../envelope.js';
import type { SimEvent } from '../events.js';
import { type FaultDecider, type MessageRef, NO_FAULT, type SendDecision } from '../faults/fault-injector.js';
import { type Divergence, DivergenceError } from './divergence.js';
import type { RecordedEvent, RecordedLog } from './recorded-log.js';

/** The fields two runs must agree on for an event (not times, sizes, timer ids or the process that recorded it). */
const COMPARED = ['ev', 'msg', 'from', 'to', 'type', 'digest', 'cause', 're', 'copy', 'actor', 'error'] as const;
const CONTEXT_LINES = 3;

const keyOf = (msg: string | undefined, copy: boolean) => `${msg}${copy ? '#copy' : ''}`;

/** The timer id a cause names (`timer:<id>`, the turn of a timer firing), if it names one. */
function timerOfCause(cause: unknown): number | undefined {
  const named = typeof cause === 'string' ? /^timer:(\d+)$/.exec(cause) : null;
  return named === null ? undefined : Number(named[1]);
}

/** The recorded timer firing one of the replay's firings stands for. */
interface MatchedFiring {
  seq: number;
  host: unknown;
  timer: unknown;
}

function comparable(event: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const field of COMPARED) if (event[field] !== undefined) out[field] = event[field];
  return JSON.stringify(out);
}

/** What the replay does next (CausalReplay.next), at virtual time `at`. */
export type FollowStep =
  | { do: 'fire'; timer: Timer; at: number }
  | { do: 'deliver'; index: number; at: number }
  /** The next step is later than the horizon of the run's steps (runFor). */
  | { do: 'wait' }
  /** Nothing left to do: the recording took no more steps. */
  | { do: 'idle' };

const WAIT: FollowStep = { do: 'wait' };
const IDLE: FollowStep = { do: 'idle' };

/** The earliest of `timers` that `wanted` accepts: due first, then set first (the order a clock fires them in). */
function earliest(timers: Iterable<Timer>, wanted: (timer: Timer) => boolean): Timer | undefined {
  let best: Timer | undefined;
  for (const timer of timers) {
    if (wanted(timer) && (best === undefined || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.order < best.order))) best = timer;
  }
  return best;
}

const ms = (t: number) => `${Number(t.toFixed(3))} ms`;

/**
 * When a recorded step happened on the clock of the process that took it: its `t`, or the
 * `localT` the merge kept when it lifted `t` (merge-recordings.ts).
 */
const stepTime = (step: RecordedEvent) => (typeof step.localT === 'number' ? step.localT : step.t);

export class CausalReplay implements FaultDecider {
  /** Recorded sends (originals by msg id, fault copies by `id#copy`), with their seq. */
  private readonly sends = new Map<string, RecordedEvent>();
  /** Recorded losses by message key. */
  private readonly losses = new Map<string, RecordedEvent>();
  private readonly errors = new Map<string, RecordedEvent>();
  /** Recorded steps — deliveries and actors' timer firings — in the order they happened. */
  private readonly steps: RecordedEvent[] = [];
  private nextStep = 0;
  /** The process that hosted each actor (from the header's `hosts`). */
  private readonly hostOfActor = new Map<string, string>();
  /** Seqs of the recorded events compared so far, and the lowest one not reproduced yet. */
  private readonly matched = new Set<number>();
  private lowestUnmatched = 0;
  private readonly compared: RecordedEvent[] = [];
  /** The recorded firing each of the replay's timer firings stood for, by the replay's timer id (causes name timers by id). */
  private readonly firingOfReplayTimer = new Map<number, MatchedFiring>();

  constructor(private readonly log: RecordedLog) {
    for (const { host, actors } of log.header.hosts ?? []) for (const actor of actors) this.hostOfActor.set(actor, host);
    for (const event of log.events) {
      const copy = event.copy === 1 || event.ev === 'duplicated';
      if (event.ev === 'sent' || event.ev === 'duplicated') this.sends.set(keyOf(event.msg, copy), event);
      else if (event.ev === 'delivered' || event.ev === 'timer') this.steps.push(event);
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

  /** When the recording sent message `id` (live time), if it did. */
  sentAt(id: string): number | undefined {
    return this.sends.get(keyOf(id, false))?.t;
  }

  /**
   * What the replay does next, given the timers pending and the messages in flight: fire a
   * runtime timer that is due before the next recorded step, else take that step — fire the
   * actor's timer the recording fired, or deliver the message it delivered — at its recorded
   * time; `wait` when that is after `horizon`. Diverges when the step is not possible.
   */
  next(timers: Iterable<Timer>, inFlight: readonly Envelope[], horizon: number): FollowStep {
    const step = this.steps[this.nextStep] as RecordedEvent | undefined;
    const at = step === undefined ? Infinity : stepTime(step);
    const runtime = earliest(timers, (timer) => timer.owner === null);
    if (runtime !== undefined && runtime.dueAt <= at) return runtime.dueAt > horizon ? WAIT : { do: 'fire', timer: runtime, at: runtime.dueAt };
    if (step === undefined) {
      if (inFlight.length > 0) this.diverge(null, `(a message is about to be delivered — in flight now: ${inFlight.map((c) => c.id).join(', ')} — but the recording delivered nothing more)`);
      return IDLE;
    }
    if (at > horizon) return WAIT;
    if (step.ev === 'timer') {
      const actor = String(step.actor);
      const timer = earliest(timers, (t) => t.owner === actor);
      if (timer === undefined) this.diverge(step, `(the recording fires a timer of ${actor} here, at ${ms(at)}; in the replay ${actor} has no timer pending: it never set the timer, or cancelled it)`);
      if (timer.dueAt > at) {
        this.diverge(step, `(the recording fires a timer of ${actor} here, at ${ms(at)}; in the replay ${actor}'s next timer (#${timer.id}) is due later, at ${ms(timer.dueAt)}: it was set with another delay)`);
      }
      this.checkNoTimerDueFirst(step, timers, timer);
      return { do: 'fire', timer, at };
    }
    this.checkNoTimerDueFirst(step, timers, null);
    const index = inFlight.findIndex((c) => c.id === step.msg && !!c.duplicate === (step.copy === 1));
    // Not sent yet: the scenario sends it once it goes on (after the settle or wait that asks for this step).
    if (index < 0 && !this.replayedSend(step)) return IDLE;
    if (index < 0) this.diverge(step, `(the recorded delivery of ${step.msg} is not possible now: the replay never sent it, or has not yet; in flight now: ${inFlight.map((c) => c.id).join(', ') || 'nothing'})`);
    return { do: 'deliver', index, at };
  }

  /** True once the replay has sent the message of recorded delivery `step` (as the recording did). */
  private replayedSend(step: RecordedEvent): boolean {
    const send = this.sends.get(keyOf(step.msg, step.copy === 1));
    return send !== undefined && this.matched.has(send.seq);
  }

  /**
   * Why a replay that waits for `awaited` cannot go on, when the recording took more steps:
   * the next one needs a message the replay has not sent (the driver sent it live before
   * the reply it awaits now came). Undefined when the recording took no more steps (then
   * the wait deadlocks, as it did live).
   */
  stalled(awaited: string): DivergenceError | undefined {
    const step = this.steps[this.nextStep] as RecordedEvent | undefined;
    if (step === undefined) return undefined;
    return this.divergence(step, `(the replay waits for ${awaited}, but the recording's next step delivers ${step.msg}, which the replay has not sent)`);
  }

  /**
   * Live, a process fires every timer due by the time of a step before that step (timers in
   * due order): a timer of the step's process that is due first in the replay, and that the
   * recording did not fire first, is one the live run did not fire — here it would.
   */
  private checkNoTimerDueFirst(step: RecordedEvent, timers: Iterable<Timer>, chosen: Timer | null): void {
    const host = step.host as string | undefined;
    const at = stepTime(step);
    const dueFirst = (timer: Timer) =>
      chosen === null ? timer.dueAt <= at : timer.dueAt < chosen.dueAt || (timer.dueAt === chosen.dueAt && timer.order < chosen.order);
    const early = earliest(timers, (timer) => timer !== chosen && timer.owner !== null && this.hostOfActor.get(timer.owner) === host && dueFirst(timer));
    if (early === undefined) return;
    const what = chosen === null ? `the recorded delivery of ${step.msg}` : `the recorded firing of ${chosen.owner}'s timer`;
    this.diverge(
      step,
      `(timer #${early.id} of ${early.owner}, due at ${ms(early.dueAt)}, fires here in the replay: it is due before ${what} at ${ms(at)} in the same process, ` +
        `but the live run did not fire it by then: it was set with another delay, or live it was never set or was cancelled)`,
    );
  }

  /** Compares an event of the replay with its recorded counterpart. */
  check(event: SimEvent): void {
    let recorded: RecordedEvent | undefined;
    switch (event.ev) {
      case 'sent':
      case 'duplicated':
        recorded = this.sends.get(keyOf(event.msg, event.ev === 'duplicated'));
        break;
      case 'delivered':
      case 'timer':
        recorded = this.steps[this.nextStep++];
        break;
      case 'dropped':
        recorded = this.losses.get(keyOf(event.msg, !!event.envelope.duplicate));
        break;
      case 'error':
        recorded = this.errors.get(`${event.actor}|${event.msg}`);
        break;
      default:
        return; // spawns, marks: where they happen is not a step of the run
    }
    const line = eventLine(event);
    const actual = JSON.parse(line) as Record<string, unknown>;
    // A lost message's reason may differ (the network refused it there; here the recording drops it at send).
    if (event.ev === 'dropped' && recorded) actual.reason = recorded.reason;
    if (recorded === undefined) this.diverge(this.firstUnmatched(), `${line}  (the recording has no such event)`);
    const replayCause = actual.cause;
    actual.cause = this.recordedCause(replayCause, recorded);
    if (comparable(actual) !== comparable(recorded)) {
      this.diverge(recorded, actual.cause === recorded.cause ? line : `${line}  ${this.causeDifference(replayCause, recorded)}`);
    }
    this.matched.add(recorded.seq);
    if (event.ev === 'timer') this.firingOfReplayTimer.set(event.timer, { seq: recorded.seq, host: recorded.host, timer: recorded.timer });
  }

  /**
   * The process whose timer ids a recorded event's cause counts in: the sender's (a message
   * carries its sender's cause, and a receiving process records its delivery or loss), else
   * the process that recorded the event.
   */
  private causeHost(recorded: RecordedEvent): unknown {
    return (recorded.from === undefined ? undefined : this.hostOfActor.get(recorded.from)) ?? recorded.host;
  }

  /**
   * A cause of the replay's as the recording would name it: `timer:<id>` of the replay's
   * timer becomes `timer:<id>` of the recorded firing that timer's firing stood for, when
   * that firing was recorded by the process the recorded cause counts in (ids are per
   * process). Any other cause is left as it is, and compared literally.
   */
  private recordedCause(cause: unknown, recorded: RecordedEvent): unknown {
    const timer = timerOfCause(cause);
    const firing = timer === undefined ? undefined : this.firingOfReplayTimer.get(timer);
    if (firing === undefined || firing.host !== this.causeHost(recorded)) return cause;
    return `timer:${String(firing.timer)}`;
  }

  /** Why a cause that names a timer differs from the recorded one: which firings the two stand for. */
  private causeDifference(replayCause: unknown, recorded: RecordedEvent): string {
    const ours = timerOfCause(replayCause);
    const firing = ours === undefined ? undefined : this.firingOfReplayTimer.get(ours);
    const replaySide =
      ours === undefined
        ? `the replay's cause is ${JSON.stringify(replayCause)}`
        : firing === undefined
          ? `the replay's cause, timer:${ours}, is a firing the recording has no counterpart of`
          : `the replay's cause, timer:${ours}, is its firing of the timer the recording fired at seq ${firing.seq} (timer:${String(firing.timer)} of ${String(firing.host ?? 'the run')})`;
    const theirs = timerOfCause(recorded.cause);
    let recordedSide = `the recording's is ${JSON.stringify(recorded.cause)}`;
    if (theirs !== undefined) {
      const host = this.causeHost(recorded);
      const reproduced = [...this.firingOfReplayTimer.values()].find((f) => f.timer === theirs && f.host === host);
      recordedSide = reproduced
        ? `the recording's, timer:${theirs}, is its firing at seq ${reproduced.seq}`
        : `the recording's, timer:${theirs}, names a firing the replay has not reproduced (by then)`;
    }
    return `(${replaySide}; ${recordedSide})`;
  }

  /** The run has ended: every recorded message event and timer firing must have been reproduced. */
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
    throw this.divergence(expected, actual);
  }

  private divergence(expected: RecordedEvent | null, actual: string | null): DivergenceError {
    const seq = expected?.seq ?? this.log.events.length;
    const divergence: Divergence = {
      seq,
      expected: expected === null ? null : this.log.lines[expected.seq],
      actual,
      context: this.log.lines.slice(Math.max(0, seq - CONTEXT_LINES), seq),
    };
    return new DivergenceError(divergence, 'The replay of the live recording diverged');
  }
}
