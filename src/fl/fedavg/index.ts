/** FedAvg as actors: server (xstate machine), clients, trusted secure worker, and the runFederated driver. */
export * from './messages.js';
export { type CostModel, CostModelSchema, DEFAULT_COST, fitCostMs } from './cost-model.js';
export { FederatedConfigSchema, type FederatedConfig, type FederatedConfigInput, parseFederatedConfig } from './config.js';
export { fedAvgClient, type ClientInput } from './client.js';
export { fedAvgServer } from './server.js';
export { type Aggregation, type ServerInput } from './server-steps.js';
export { secureWorker, type SecureWorkerInput } from './secure-worker.js';
export { ModelWorkspace } from './workspace.js';
export { Held, hold } from './held.js';
export { type ClientData, type FederatedOptions, type FederatedResult, type FederatedRun, runFederated } from './run.js';
