/**
 * Stopping a run at an event (`fedsim replay --until`), and reading why a run stopped.
 *
 * Both go through the runtime: a subscriber on `events$` calls `sim.halt()` once the
 * condition holds (the step under way finishes, then the run stops with RunStopped),
 * and `sim.failure` keeps the first error that stopped the simulation — so a
 * DivergenceError raised under `verify` is reported even if scenario code catches it.
 */
import type { Sim } from './simulation-factory.js';

/** Thrown to stop a run early; `runScenario` reports it as `stopped`, not as an error. */
export class RunStopped extends Error {
  override name = 'RunStopped';
  constructor(readonly events: number) {
    super(`The run was stopped on request after ${events} events.`);
  }
}

export interface StepHooks {
  /** The error that stopped the simulation (not counting RunStopped), if any. */
  readonly stepError: unknown;
  readonly stopped: boolean;
}

export function hookSteps(sim: Sim, stopWhen?: (sim: Sim) => boolean): StepHooks {
  let stopped = false;
  if (stopWhen) {
    const subscription = sim.events$.subscribe(() => {
      if (!stopped && stopWhen(sim)) {
        stopped = true;
        sim.halt(new RunStopped(sim.eventCount));
        subscription.unsubscribe();
      }
    });
  }
  return {
    get stepError() {
      const failure = sim.failure;
      return failure === null || failure instanceof RunStopped ? undefined : failure;
    },
    get stopped() {
      return stopped;
    },
  };
}
