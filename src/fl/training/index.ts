/** Local training and evaluation. */
export { type Dataset, datasetSize, concatDatasets } from './dataset.js';
export { type LossFn, softmaxCrossEntropy, crossEntropy, meanSquaredError, lossFunction } from './losses.js';
export { type Optimizer, type OptimizerConfig, OptimizerConfigSchema, createOptimizer } from './optimizers.js';
export { type TrainConfig, type TrainOptions, type TrainResult, TrainConfigSchema, parseTrainConfig, samplesPerRun, trainLocal } from './train-local.js';
export { type Evaluation, evaluateModel } from './evaluate.js';
export * from './dp-sgd/index.js';
