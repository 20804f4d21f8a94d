/**
 * The driver's side of a federated run, shared by the sync engine (runFederated) and the
 * async one (runAsyncFederated): starting the run until the server accepts it, and the
 * FederatedRun handle that settles once.
 */
import type { ReplaySubject } from 'rxjs';
import { RequestTimeoutError } from '../../runtime/errors.js';
import type { FederatedResult, FederatedRun } from './run-federated.js';
import type { RunOutcome } from './protocol.js';

/**
 * Awaits `first` (an fl/run request), sending `start()` again after each timeout, up to
 * `attempts` in all. A start repeated after the run ended is answered with the result itself:
 * that answer goes to `onOutcome`.
 */
export async function startRun(first: PromiseLike<unknown>, start: () => PromiseLike<unknown>, attempts: number, onOutcome: (outcome: RunOutcome) => void): Promise<void> {
  let attempt = first;
  for (let n = 1; ; n++) {
    try {
      const answer = await attempt;
      if ((answer as RunOutcome | null)?.history !== undefined) onOutcome(answer as RunOutcome);
      return;
    } catch (error) {
      if (!(error instanceof RequestTimeoutError) || n >= attempts) throw error;
      attempt = start();
    }
  }
}

/**
 * The awaitable handle of a run: `finish` runs once, on the first `then`; either way the
 * run's subscriptions are cleaned up and `metrics$` completes. It completes rather than
 * errors: the failure reaches the caller through the awaited run, and a subscriber without an
 * error handler would otherwise turn it into an unhandled RxJS error.
 */
export function runHandle(parts: { finish: () => Promise<FederatedResult>; cleanup: () => void; metrics$: ReplaySubject<FederatedResult['rounds'][number]>; serverId: string; clientIds: readonly string[] }): FederatedRun {
  const { finish, cleanup, metrics$ } = parts;
  let settled: Promise<FederatedResult> | undefined;
  const result = () =>
    (settled ??= finish().then(
      (value) => {
        cleanup();
        metrics$.complete();
        return value;
      },
      (error: unknown) => {
        cleanup();
        metrics$.complete();
        throw error;
      },
    ));
  return {
    metrics$: metrics$.asObservable(),
    serverId: parts.serverId,
    clientIds: parts.clientIds,
    then: (onFulfilled, onRejected) => result().then(onFulfilled, onRejected),
  };
}
