/**
 * The one place that decides which simulation class scenarios drive.
 *
 * Today that is the runtime's SimulationCore (actors, no workers). When the full
 * `Simulation` (workers, pointer tensors) lands, change only the import below —
 * everything in the scenario layer and the CLI goes through `Sim` and
 * `createSimulation`, so nothing else has to move.
 */
import { SimulationCore as SimulationClass } from '../runtime/index.js';

/** The simulation a scenario's `run` receives. */
export type Sim = SimulationClass;

/** The constructor options of that simulation. */
export type SimOptions = NonNullable<ConstructorParameters<typeof SimulationClass>[0]>;

export function createSimulation(options: SimOptions): Sim {
  return new SimulationClass(options);
}
