/**
 * The driver: scenario code, acting as the local worker `me`.
 *
 * Scenario code is ordinary async code. It sends requests and awaits replies;
 * awaiting a reply *pumps* the scheduler — delivers messages one at a time — until
 * that reply has been delivered to `me`. The pumping happens inside the `then` of
 * the reply, so requests that are sent but not yet awaited (pipelined) are not
 * forced, and `Promise.all` over several replies works.
 */
import { Subject } from 'rxjs';
import { type Envelope, ERROR_REPLY, type ErrorPayload } from './envelope.js';
import { RemoteError } from './errors.js';

export interface Pump {
  /** Delivers until `done()` holds; throws DeadlockError naming `awaited` if it never can. */
  pumpUntil(done: () => boolean, awaited: string): void;
}

interface PendingRequest {
  settle: (envelope: Envelope) => void;
  fail: (error: unknown) => void;
  /** What is awaited, in words (for liveness reports). */
  description: string;
}

/**
 * A reply that has not necessarily arrived yet. Awaiting it runs the simulation until
 * it does. It resolves to the reply's payload; an error reply rejects with a RemoteError.
 */
export class Reply<T = unknown> implements PromiseLike<T> {
  private settled = false;
  private readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (error: unknown) => void;

  constructor(private readonly pump: Pump, readonly requestId: string, readonly description: string) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // A reply nobody awaits must not become an unhandled rejection: errors surface where it is awaited.
    this.promise.catch(() => {});
  }

  get isSettled(): boolean {
    return this.settled;
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(error);
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (!this.settled) {
      try {
        this.pump.pumpUntil(() => this.settled, this.description);
      } catch (error) {
        return Promise.reject(error).then(onFulfilled, onRejected);
      }
    }
    return this.promise.then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }
}

export class Driver {
  busyUntil = 0;
  crashed = false;
  handled = 0;
  messagesSent = 0;
  private readonly pending = new Map<string, PendingRequest>();
  /** Messages to `me` that answer no pending request (e.g. notifications, late replies). */
  readonly unsolicited$ = new Subject<Envelope>();

  constructor(readonly id: string) {}

  /** Registers a request so its reply settles `reply`. */
  expect<T>(reply: Reply<T>, unwrap: (envelope: Envelope) => T = (e) => e.payload as T): void {
    this.pending.set(reply.requestId, {
      description: reply.description,
      fail: (error) => reply.reject(error),
      settle: (envelope) => {
        if (envelope.type === ERROR_REPLY) {
          reply.reject(new RemoteError(envelope.from, envelope.payload as ErrorPayload));
          return;
        }
        // An unwrap that throws (a malformed reply) fails this request only, not the simulation.
        let value: T;
        try {
          value = unwrap(envelope);
        } catch (error) {
          reply.reject(error);
          return;
        }
        reply.resolve(value);
      },
    });
  }

  /** Rejects every awaited reply with `error` (a live run whose transport failed: they will never arrive). */
  failAll(error: unknown): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) request.fail(error);
  }

  /** Forgets a request (after a timeout): a late reply then counts as unsolicited. */
  forget(requestId: string): void {
    this.pending.delete(requestId);
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** The replies scenario code has asked for and not received, in request order. */
  awaiting(): string[] {
    return [...this.pending.values()].map((p) => p.description);
  }

  receive(envelope: Envelope): void {
    this.handled++;
    const request = envelope.inReplyTo === undefined ? undefined : this.pending.get(envelope.inReplyTo);
    if (request) {
      // The first reply wins; a duplicate delivered later is unsolicited.
      this.pending.delete(envelope.inReplyTo!);
      request.settle(envelope);
      return;
    }
    this.unsolicited$.next(envelope);
  }
}
