/**
 * The client algorithms whose training hooks a worker thread can rebuild.
 *
 * A task crosses to a worker as data (structured clone): functions do not. The one part of
 * a ClientAlgorithm that local training runs is `beforeTraining` (the per-step gradient
 * terms); a worker finds it here by the algorithm's registered name. An algorithm whose
 * `beforeTraining` is none of these functions — a user's own — trains inline, as it always
 * did; one without `beforeTraining` needs nothing rebuilt. (`afterTraining`, the state and
 * the report stay on the simulation's thread: they are cheap, and they draw from the
 * client's streams and write its storage.)
 */
import { fedDynClient } from '../algorithms/feddyn.js';
import { fedNovaClient } from '../algorithms/fednova.js';
import { scaffoldClient } from '../algorithms/scaffold.js';
import { type ClientAlgorithm, plainLocalTraining } from '../algorithms/client-algorithm.js';
import { fedProxClient } from '../strategies/fedavg.js';
import { FlInvariantError } from '../errors.js';

const REGISTERED: readonly ClientAlgorithm<any>[] = [plainLocalTraining, fedProxClient, fedNovaClient, scaffoldClient, fedDynClient];

/** What a worker runs before training, by name; null: nothing (no `beforeTraining`). */
export type HooksName = string | null;

/**
 * The name under which a worker finds `algorithm`'s training hooks: null when it has none,
 * the registered algorithm's name when its `beforeTraining` is that algorithm's (a wrapper
 * such as the DP client shares the function), undefined when a worker cannot rebuild them.
 */
export function hooksNameOf(algorithm: ClientAlgorithm<any>): HooksName | undefined {
  if (algorithm.beforeTraining === undefined) return null;
  return REGISTERED.find((registered) => registered.beforeTraining === algorithm.beforeTraining)?.name;
}

/** The hooks a worker runs for `name` (hooksNameOf's answer). */
export function hooksByName(name: HooksName): Pick<ClientAlgorithm<any>, 'beforeTraining'> {
  if (name === null) return {};
  const found = REGISTERED.find((registered) => registered.name === name);
  if (!found) throw new FlInvariantError(`worker thread: no client algorithm '${name}' is registered for worker training (src/fl/parallel/worker-algorithms.ts)`, { op: 'hooksByName' });
  return found;
}
