/**
 * The live loop: how a core with a live transport makes progress on real time.
 *
 * The simulator's scheduler runs only when someone awaits (a reply, settle). Live, work
 * arrives on its own — an envelope from another process, a timer falling due — so the
 * loop runs what is due (with virtual time moved to real time) as soon as it can, on
 * the Node event loop, and arms one real timer for the earliest pending timer. Scenario
 * code awaiting a reply just waits for the promise; this loop is what settles it.
 */
export interface LiveCore {
  /** Moves time to `now` and runs every step due by then. */
  runDue(now: number): void;
  /** When the earliest timer or delayed message is due (Infinity: none). */
  nextDueAt(): number;
  /** The run stopped (an error): nothing more runs. */
  readonly stopped: boolean;
}

export class LiveLoop {
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(private readonly core: LiveCore, private readonly now: () => number) {}

  /** Runs what is due at the next turn of the event loop (many wakes in one tick run once). */
  wake(): void {
    if (this.scheduled || this.core.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.runNow();
    });
  }

  /** Runs what is due now, then arms the real timer for what is due later. */
  runNow(): void {
    if (this.core.stopped) return this.disarm();
    this.core.runDue(this.now());
    this.arm();
  }

  /** Stops the real timer (the run is over). */
  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(): void {
    const next = this.core.nextDueAt();
    if (next === this.timerAt) return;
    this.disarm();
    if (next === Infinity || this.core.stopped) return;
    this.timerAt = next;
    // Real timers may fire a little early or late; runDue uses the time it is run at.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.runNow();
    }, Math.max(0, Math.ceil(next - this.now())));
  }
}
