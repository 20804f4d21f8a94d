/**
 * The virtual clock.
 *
 * It implements xstate v5's `Clock` (setTimeout / clearTimeout) so `after`
 * transitions of every actor run on virtual time, plus `now()`. Nothing here
 * ever waits: the scheduler asks for the next due timer and jumps time to it when
 * no message is deliverable earlier.
 *
 * Timers due at the same instant fire in the order they were set (ties are broken
 * by a sequence number, never by object identity or real time).
 */
import { MinHeap } from './min-heap.js';

export interface Timer {
  readonly id: number;
  readonly dueAt: number;
  /** Order of creation: the tie-breaker for timers due at the same time. */
  readonly order: number;
  /** The actor that owns the timer (null for the runtime's own timers). */
  readonly owner: string | null;
  readonly fire: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private time = 0;
  private nextTimerId = 1;
  private readonly timers = new MinHeap<Timer>((a, b) => a.dueAt - b.dueAt || a.order - b.order);
  private readonly live = new Map<number, Timer>();

  now(): number {
    return this.time;
  }

  /** xstate's Clock: schedule `fn` after `ms` virtual milliseconds. */
  setTimeout(fn: (...args: unknown[]) => void, ms: number): number {
    return this.schedule(fn, ms, null);
  }

  /** xstate's Clock: cancel a timer. Unknown or fired ids are ignored, as with real timers. */
  clearTimeout(id: unknown): void {
    const timer = this.live.get(id as number);
    if (timer) {
      timer.cancelled = true;
      this.live.delete(timer.id);
    }
  }

  /** Schedules a timer owned by `owner` (an actor id), so its firing can be attributed in the log. */
  schedule(fn: () => void, ms: number, owner: string | null): number {
    if (!(ms >= 0)) ms = 0; // xstate passes undefined/NaN for "now"; negative delays mean now too
    const id = this.nextTimerId++;
    const timer: Timer = { id, dueAt: this.time + ms, order: id, owner, fire: fn, cancelled: false };
    this.timers.push(timer);
    this.live.set(id, timer);
    return id;
  }

  /** Due time of the earliest live timer, or undefined. */
  nextDueAt(): number | undefined {
    this.dropCancelled();
    return this.timers.peek()?.dueAt;
  }

  /** Removes and returns the earliest live timer if it is due at or before `now()`. */
  takeDue(): Timer | undefined {
    this.dropCancelled();
    const top = this.timers.peek();
    if (!top || top.dueAt > this.time) return undefined;
    this.timers.pop();
    this.live.delete(top.id);
    return top;
  }

  /** The timers set and not yet fired or cancelled, in the order they were set (a view: iterate it as often as needed). */
  readonly pendingTimerList: Iterable<Timer> = { [Symbol.iterator]: () => this.live.values() };

  /**
   * Removes a pending timer so that the caller can fire it now, whenever it is due: how the
   * replay of a live recording fires a timer where the recording fired it (replay/causal-replay.ts).
   */
  take(timer: Timer): Timer {
    timer.cancelled = true; // its heap entry goes when it reaches the top
    this.live.delete(timer.id);
    return timer;
  }

  /**
   * Sets the time to `t`, earlier or later: the replay of a live recording reads each step's
   * time on the clock of the process that took it, and processes' clocks disagree a little.
   */
  setTo(t: number): void {
    this.time = t;
  }

  /** Moves time forward (never backward). */
  advanceTo(t: number): void {
    if (t > this.time) this.time = t;
  }

  pendingTimers(): number {
    return this.live.size;
  }

  /** Timers owned by an actor, in firing order (for crash handling and inspection). */
  timersOf(owner: string): Timer[] {
    return [...this.live.values()].filter((t) => t.owner === owner).sort((a, b) => a.dueAt - b.dueAt || a.order - b.order);
  }

  private dropCancelled(): void {
    let top = this.timers.peek();
    while (top && top.cancelled) {
      this.timers.pop();
      top = this.timers.peek();
    }
  }
}

/** A view of the clock that tags the timers it sets with their owner: one per actor. */
export function ownedClock(clock: VirtualClock, owner: string) {
  return {
    now: () => clock.now(),
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => clock.schedule(fn, ms, owner),
    clearTimeout: (id: unknown) => clock.clearTimeout(id),
  };
}
