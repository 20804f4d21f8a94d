/**
 * Answer: what a pointer method that needs a reply returns.
 *
 * The request is sent when the method is called (so several can be in flight:
 * promise pipelining); the simulation runs only when the answer is awaited. Unlike
 * an async function's promise, an answer nobody awaits never becomes an unhandled
 * rejection — `loss.backward();` written as a statement, PyTorch style, is safe, and
 * its failure surfaces at the next await of something that depends on it.
 */
import { remoteFailure } from './errors.js';

export class Answer<T> implements PromiseLike<T> {
  private settled?: Promise<T>;

  constructor(
    private readonly source: PromiseLike<any>,
    private readonly map: (value: any) => T = (value) => value as T,
    private readonly onError: (error: unknown) => unknown = (error) => remoteFailure(error),
  ) {}

  /** An answer that is already known (nothing to wait for). */
  static of<T>(value: T): Answer<T> {
    return new Answer<T>(Promise.resolve(value));
  }

  /** All the answers, in order; waits for every one. */
  static all<T>(answers: readonly PromiseLike<T>[]): Answer<T[]> {
    return new Answer<T[]>({ then: (onFulfilled, onRejected) => Promise.all(answers).then(onFulfilled, onRejected) });
  }

  then<R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    // The mapping runs once however often the answer is awaited (it may transfer ownership).
    this.settled ??= Promise.resolve(
      this.source.then(
        (value) => this.map(value),
        (error) => {
          throw this.onError(error);
        },
      ),
    );
    return this.settled.then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }
}
