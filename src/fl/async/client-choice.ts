/**
 * Which client a dispatch goes to: one chosen uniformly among the clients that are idle
 * (no dispatch of theirs outstanding) and, when the run has devices, online now.
 *
 * O(1) expected per choice while most clients are eligible: indexes are drawn uniformly
 * and rejected while busy or offline (at most REJECTION_TRIES draws); only when the
 * eligible clients are rare does it fall back to one scan of the population, and then
 * picks uniformly among those it found. Every draw comes from the dispatch's own stream,
 * so the same dispatch (after a restart too) goes to the same client.
 */
import type { RandomStream } from '../../runtime/rng.js';
import type { DevicePopulation } from '../devices/population.js';

const REJECTION_TRIES = 32;

export interface ChoiceInput {
  /** Sorted client ids (a client's index is its position). */
  clients: readonly string[];
  busy: ReadonlySet<string>;
  devices?: DevicePopulation;
  now: number;
}

/** The chosen client's id, or undefined when no client is idle and online. */
export function chooseIdleClient(input: ChoiceInput, rng: RandomStream): string | undefined {
  const { clients, busy, devices, now } = input;
  const eligible = (i: number) => !busy.has(clients[i]) && (devices?.availability?.isOnline(i, now) ?? true);
  if (busy.size >= clients.length) return undefined;
  for (let tries = 0; tries < REJECTION_TRIES; tries++) {
    const i = rng.int(clients.length);
    if (eligible(i)) return clients[i];
  }
  const found: number[] = [];
  for (let i = 0; i < clients.length; i++) if (eligible(i)) found.push(i);
  return found.length === 0 ? undefined : clients[found[rng.int(found.length)]];
}
