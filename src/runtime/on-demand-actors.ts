/**
 * Actors spawned on demand: ids a run registers up front (by a predicate, not a list) whose
 * actor is created only when the first message is sent to it (SimulationCore.spawnOnDemand).
 *
 * Why: a federated population of a million registered devices, of which a round touches a
 * hundred, must not cost a million xstate actors (each several KB) nor any work per idle
 * device. An id that is registered but not yet spawned costs nothing here: the registry
 * holds predicates and factories, never ids.
 *
 * Determinism: the actor is spawned inside `post`, when the message is sent (before its
 * `sent` event, whatever the fault plan then does to the message), so the `spawned` event
 * sits at the same place in every run of the same seed, and a replay spawns it at the
 * same step.
 */
import type { AnyActorLogic } from 'xstate';
import type { ActorId } from './envelope.js';

/** What an on-demand actor is made of: its logic and its input (the `io` is added, as for spawn). */
export interface OnDemandActor {
  logic: AnyActorLogic;
  input?: Record<string, unknown>;
}

/** Builds the actor of a registered id; called once per id, at its first message. */
export type OnDemandFactory = (id: ActorId) => OnDemandActor;

interface Registration {
  matches: (id: ActorId) => boolean;
  create: OnDemandFactory;
}

export class OnDemandActors {
  private readonly registrations: Registration[] = [];

  register(matches: (id: ActorId) => boolean, create: OnDemandFactory): void {
    this.registrations.push({ matches, create });
  }

  /** True when some id may be spawned on demand (so senders must look). */
  get any(): boolean {
    return this.registrations.length > 0;
  }

  /** The factory of the first registration that claims `id`, if any. */
  factoryFor(id: ActorId): OnDemandFactory | undefined {
    for (const registration of this.registrations) if (registration.matches(id)) return registration.create;
    return undefined;
  }
}
