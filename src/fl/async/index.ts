export { runAsyncFederated, type AsyncFederatedOptions } from './run-async-federated.js';
export { AsyncSettingsSchema, type AsyncSettings, type AsyncSettingsInput, parseAsyncSettings } from './async-settings.js';
export { StalenessFunctionSchema, type StalenessFunction, stalenessWeight, FEDBUFF_STALENESS } from './staleness.js';
export { fedBuffStep, deltaOf, type BufferedUpdate } from './fedbuff.js';
export { fedAsyncMix } from './fedasync.js';
export type { AsyncUpdateNote } from './async-updates.js';
