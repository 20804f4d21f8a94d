/**
 * Invariants that hold for most protocols, ready to pass to `simulate()`'s or
 * `runScenario()`'s `invariants`.
 */
import type { Check } from './define-scenario.js';

/** No handler threw during the run. */
export const noHandlerErrors: Check = (_result, sim) => {
  const errors = sim.log.events.filter((e) => e.ev === 'error');
  if (errors.length === 0) return true;
  const first = errors[0] as { actor?: string; message?: string; seq: number };
  return `${errors.length} handler error(s); the first at seq ${first.seq} in '${first.actor}': ${first.message}`;
};

/** Nothing was left in flight or scheduled when the run ended. */
export const quiescent: Check = (_result, sim) =>
  sim.idle || `the run ended with ${sim.inFlight().length} message(s) in flight (${sim.inFlight().slice(0, 3).map((e) => e.id).join(', ')}…)`;

/** Every message sent to an actor that was alive got delivered (no loss other than to crashed actors). */
export const noLostMessages: Check = (_result, sim) => {
  const lost = sim.log.events.filter((e) => e.ev === 'dropped' && e.reason !== 'crashed');
  return lost.length === 0 || `${lost.length} message(s) lost; the first: ${(lost[0] as { msg: string }).msg}`;
};
