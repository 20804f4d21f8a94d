/**
 * SecAgg+ (Bonawitz et al. 2017 with Bell et al. 2020's sparse neighbour graph) as xstate
 * machines for the server and the clients, following Flower's SecAggPlusWorkflow.
 *
 * SIMULATOR ONLY: every key, seed, share, nonce and mask is drawn from the simulation's
 * seeded streams so runs reproduce; it offers no real secrecy.
 */
export { runSecAggPlus, type RunSecAggPlusOptions, type SecAggPlusResult } from './run.js';
export { secAggServerMachine, SERVER_GRAPH_STREAM, type SecAggServerInput, type SecAggServerContext } from './server-machine.js';
export { secAggClientMachine, type SecAggClientInput, type SecAggClientContext } from './client-machine.js';
export { CLIENT_STREAMS, type UpdateSource } from './client-steps.js';
export {
  SecAggPlusParamsSchema,
  parseSecAggParams,
  resolveRoundConfig,
  effectiveShares,
  quantizationTarget,
  roundQuantizationStep,
  type SecAggPlusParams,
  type SecAggPlusParamsInput,
  type RoundConfig,
} from './params.js';
export { SECAGG, type StartPayload, type ResultPayload, type AbortedPayload, type StageReport } from './protocol.js';
export { SecAggAbortedError, SecAggConfigError, SecAggProtocolError, SECAGG_STAGES, type SecAggStage, type ClientFailure, type AbortDetails } from './errors.js';
export { buildNeighbourGraph, ringOrder, type NeighbourGraph } from './neighbours.js';
export { payloadBytes } from './message-size.js';
export { maskVector } from './native-crypto.js';
