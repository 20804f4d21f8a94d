/**
 * Registers the FL layer's experiment kinds (`kind: fedavg`). The CLI imports this
 * module (src/cli/experiment-kinds.ts) to make them usable in experiment files.
 */
import { registerExperimentKind } from '../../scenario/index.js';
import { fedAvgExperimentKind } from './fedavg-experiment.js';

registerExperimentKind('fedavg', fedAvgExperimentKind);
