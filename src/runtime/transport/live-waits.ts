/**
 * Live waits: what an awaited answer does on a live host, where nothing can be pumped.
 *
 * In the simulator an await runs the scheduler until the answer is there, and a wait that
 * can never end is a DeadlockError the moment nothing is left to run. Live, answers come
 * through real I/O, so two things must be done differently:
 *
 * - a condition (`waitUntil`, e.g. "the round engine's result has arrived") is checked each
 *   time the live loop has run what was due, and its promise resolves once it holds;
 * - a wait that can never end — its request or reply dropped by a live fault, refused, or
 *   simply never answered — must not hang: when this process has nothing due, the run is
 *   asked whether every process is idle with nothing in flight (Transport.quiesce). If so,
 *   no answer can come any more, and every wait fails with the same DeadlockError the
 *   simulator would raise. A wait backed by a timer (a request timeout, a round deadline)
 *   keeps this process busy, so it ends by its own timer on the live clock instead.
 */
import { DeadlockError, FedsimError } from '../errors.js';

/** What the live waits need from their core. */
export interface LiveWaitsCore {
  /** What the driver's pending requests wait for (their descriptions). */
  awaiting(): string[];
  /** Nothing is pending in this process: no message, no timer. */
  readonly idle: boolean;
  /** The run has stopped (its error fails the waits). */
  readonly stopped: boolean;
  /** Resolves once every process of the run is idle and nothing is in flight. */
  quiesce(): Promise<void>;
  /** Fails every pending request of the driver with `error` (the run itself goes on). */
  failRequests(error: Error): void;
  /** The host's clock, in ms. */
  now(): number;
  /**
   * A counter that moves whenever this process does anything (sends, delivers, fires a timer):
   * its event count. A quiet run seen by a quiescence check is only proof of a deadlock if this
   * process did nothing while the check ran — a request sent meanwhile was not in the picture.
   */
  progress(): number;
}

interface Wait {
  done: () => boolean;
  awaited: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * How long this process must have had nothing due, while something is awaited, before the
 * whole run is asked whether it is quiet. Asking is a round of control requests to every
 * host; this keeps it from running after every message of a busy run. It delays only the
 * error of a wait that can never end, never an answer.
 */
export const LIVENESS_CHECK_DELAY_MS = 50;

export class LiveWaits {
  private readonly waits = new Set<Wait>();
  private pendingCheck: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(private readonly core: LiveWaitsCore) {}

  /** Resolves once `done()` holds; rejects if the run stops or nothing can make it hold any more. */
  waitUntil(done: () => boolean, awaited: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waits.add({ done, awaited, resolve, reject });
      this.afterRun();
    });
  }

  /** Called each time the live loop has run what was due: settles what now holds, watches the rest. */
  afterRun(): void {
    for (const wait of this.waits) {
      if (!wait.done()) continue;
      this.waits.delete(wait);
      wait.resolve();
    }
    if (this.somethingAwaited() && this.core.idle) this.scheduleCheck();
  }

  /** The run stopped with `error`: every wait fails with it. */
  failAll(error: unknown): void {
    this.cancelCheck();
    const waits = [...this.waits];
    this.waits.clear();
    for (const wait of waits) wait.reject(error);
  }

  private somethingAwaited(): boolean {
    return this.waits.size > 0 || this.core.awaiting().length > 0;
  }

  private scheduleCheck(): void {
    if (this.pendingCheck !== null || this.checking || this.core.stopped) return;
    this.pendingCheck = setTimeout(() => {
      this.pendingCheck = null;
      void this.check();
    }, LIVENESS_CHECK_DELAY_MS);
  }

  private cancelCheck(): void {
    if (this.pendingCheck !== null) clearTimeout(this.pendingCheck);
    this.pendingCheck = null;
  }

  /** Asks the whole run whether it is quiet; if it is and something is still awaited, that can never come. */
  private async check(): Promise<void> {
    if (!this.somethingAwaited() || !this.core.idle || this.core.stopped) return;
    const progressBefore = this.core.progress();
    this.checking = true;
    try {
      await this.core.quiesce();
    } catch (error) {
      // A host that stopped answering is the transport's to report (it fails the run or loses the host's
      // actors, naming it). A host that answers it no longer has this run (ended early — by a forged or
      // stray 'finish' frame, say), or a connection that broke, is explained: nothing awaited can come.
      if (error instanceof FedsimError) this.failEverything(error);
      return;
    } finally {
      this.checking = false;
    }
    if (this.core.stopped || !this.core.idle) return;
    if (this.core.progress() !== progressBefore) {
      // This process sent or received something while the run was being checked (e.g. the scenario
      // went on after a settle() and sent a new request): the quiet the check saw is stale. Look again.
      this.afterRun();
      return;
    }
    const awaited = [...this.core.awaiting(), ...[...this.waits].map((w) => w.awaited)];
    if (awaited.length === 0) return;
    const error = new DeadlockError(
      awaited.join('; '),
      this.core.now(),
      'Live run: every process is idle and nothing is in flight on the network, so the request or its reply was lost (a live fault dropped it, or its receiver refused it).',
      undefined,
      'live time',
    );
    this.failEverything(error);
  }

  /** Every pending request of the driver and every wait fails with `error`. */
  private failEverything(error: Error): void {
    this.core.failRequests(error);
    const waits = [...this.waits];
    this.waits.clear();
    for (const wait of waits) wait.reject(error);
  }
}
