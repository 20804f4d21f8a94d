/** Models: serialisable specs, seeded initialisation, weights as Float32Arrays. */
export * from './spec.js';
export { type Model } from './model.js';
export { createModel, createBlankModel, restoreModel } from './create.js';
export { fromLayers } from './layers-model.js';
export { builtinParams } from './builtin-model.js';
export { type InitRule, type ParamInit, fans, initialValues, initialWeights } from './init.js';
export * from './weights.js';
