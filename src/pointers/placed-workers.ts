/**
 * The actors a live host (`fedsim worker`) can be asked to create: their kind names and
 * how each is built from the JSON a placement carries.
 *
 * In process, `sim.worker('bob')` spawns the VirtualWorker machine with functions in its
 * input (which ids are peers, which are workers of the federation). Functions cannot
 * cross a wire, so a placement names the kind and carries only data; the host rebuilds
 * the functions from the run's roster, which the transport keeps up to date.
 */
import type { AnyActorLogic } from 'xstate';
import { z } from 'zod';
import { virtualWorkerMachine } from '../actors/index.js';
import { FedsimError } from '../runtime/index.js';

export const VIRTUAL_WORKER_KIND = 'virtual-worker';

/** What a host knows of the run's other actors (kept current by the transport). */
export interface PlacementRoster {
  /** Every actor of the run, wherever it is hosted. */
  has(id: string): boolean;
  /** Whether `id` was created as a worker of the federation (its privacy labels are believed). */
  isWorker(id: string): boolean;
}

const VirtualWorkerPlacement = z
  .object({
    strict: z.boolean(),
    dedup: z.boolean(),
    driverId: z.string().min(1),
    budget: z.object({ maxTensorElements: z.number().int().positive().optional(), maxStoredElements: z.number().int().positive().optional() }).strict().optional(),
  })
  .strict();

/** The kinds of actor a live host builds, and the logic and input each gets. */
export function buildPlacedActor(kind: string, input: unknown, roster: PlacementRoster): { logic: AnyActorLogic; input: Record<string, unknown> } {
  if (kind !== VIRTUAL_WORKER_KIND) {
    throw new FedsimError(`A live host can create actors of kind '${VIRTUAL_WORKER_KIND}' only (sim.worker()), not '${kind}'; spawn other actors in the driver's process.`);
  }
  const parsed = VirtualWorkerPlacement.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FedsimError(`The placement of a ${kind} is malformed at ${issue.path.join('.') || 'top level'}: ${issue.message}.`);
  }
  const { driverId, ...settings } = parsed.data;
  return {
    logic: virtualWorkerMachine,
    input: {
      ...settings,
      // As in process: objects move between workers, never to the local client worker.
      isPeer: (peer: string) => peer !== driverId && roster.has(peer),
      isWorker: (peer: string) => roster.isWorker(peer),
    },
  };
}
