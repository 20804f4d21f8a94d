/** FedAvg as actors: server (xstate machine), clients, trusted secure worker, additive and SecAgg+ aggregation, and the runFederated driver. */
export * from './messages.js';
export { type CostModel, CostModelSchema, DEFAULT_COST, fitCostMs } from './cost-model.js';
export { FederatedConfigSchema, type FederatedConfig, type FederatedConfigInput, parseFederatedConfig } from './config.js';
export { fedAvgClient, type ClientInput } from './client.js';
export { fedAvgServer } from './server.js';
export { type Aggregation, type ServerInput } from './server-steps.js';
export { secureWorker, type SecureWorkerInput } from './secure-worker.js';
export * from './secure-messages.js';
export { AdditiveOptionsSchema, SecAggOptionsSchema, defaultSecAggShares, type AdditiveOptions, type SecAggOptions } from './secure-options.js';
export { additiveFedAvgClient, ADDITIVE_SHARES_STREAM } from './additive-client.js';
export { secAggFedAvgClient } from './secagg-client.js';
export { packWeightedUpdate, unpackWeightedSum, packedLength, type WeightedAggregate } from './update-vector.js';
export { ModelWorkspace } from './workspace.js';
export { Held, hold } from './held.js';
export { type ClientData, type FederatedOptions, type FederatedResult, type FederatedRun, runFederated } from './run.js';
