/** The settings of a federated run and what its actors share: cost model, scratch models, boxed values. */
export { type CostModel, CostModelSchema, DEFAULT_COST, fitCostMs } from './cost-model.js';
export { FederatedConfigSchema, type FederatedConfig, type FederatedConfigInput, parseFederatedConfig } from './config.js';
export { AdditiveOptionsSchema, SecAggOptionsSchema, defaultSecAggShares, type AdditiveOptions, type SecAggOptions } from './secure-options.js';
export { ModelWorkspace } from './workspace.js';
export { Held, hold } from './held.js';
