/**
 * The driver's side of a federated run, shared by the sync engine (runFederated) and the
 * async one (runAsyncFederated): starting the run until the server accepts it, and the
 * FederatedRun handle that settles once.
 */
import type { ReplaySubject } from 'rxjs';
import { DeadlockError, RequestTimeoutError } from '../../runtime/errors.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import { FederatedRunError } from '../errors.js';
import type { FederatedResult, FederatedRun } from './run-federated.js';
import { FL, type RunOutcome } from './protocol.js';

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

/**
 * Waits (through the Host) until the server's result arrives (after `started`), acknowledges it
 * so the server stops re-sending it, and returns it. A run that cannot finish (a deadlock, the
 * start never accepted) rejects with a FederatedRunError of kind 'fault' saying why first —
 * who crashed — and the runtime's own message (which actors wait for what) below it.
 */
export async function awaitOutcome(
  sim: SimulationCore,
  run: { runId: string; serverId: string; label: string; started: () => Promise<void>; outcome: () => RunOutcome | null; crashed: () => string[]; reported: () => number },
): Promise<RunOutcome> {
  const { runId, serverId, label } = run;
  try {
    await run.started();
    // Awaited through the Host: the simulator pumps here synchronously; a live host waits for the result to arrive.
    await sim.waitUntil(() => run.outcome() !== null, `the result of ${label} '${runId}' from '${serverId}'`);
  } catch (error) {
    if (error instanceof DeadlockError || error instanceof RequestTimeoutError) {
      const down = run.crashed();
      throw new FederatedRunError(
        `${label} '${runId}' cannot finish: ${down.length > 0 ? `[${down.join(', ')}] crashed and never restarted` : 'the server stopped answering'}.\n${error.message}`,
        { kind: 'fault', round: run.reported(), detail: error.message },
        { cause: error },
      );
    }
    throw error;
  }
  sim.send(serverId, FL.runAck, { runId });
  return run.outcome()!;
}
