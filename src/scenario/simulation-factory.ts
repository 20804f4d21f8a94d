/**
 * The one place that decides which simulation class scenarios drive.
 *
 * It is the full `Simulation` (the runtime's SimulationCore plus workers and
 * pointer tensors). Everything in the scenario layer and the CLI goes through
 * `Sim` and `createSimulation`, so only the import below names the class.
 */
import { Simulation as SimulationClass } from '../pointers/simulation.js';

/** The simulation a scenario's `run` receives. */
export type Sim = SimulationClass;

/** The constructor options of that simulation. */
export type SimOptions = NonNullable<ConstructorParameters<typeof SimulationClass>[0]>;

export function createSimulation(options: SimOptions): Sim {
  return new SimulationClass(options);
}
