/**
 * The federated-learning layer: data sets and partitioners, models, local
 * training, strategies and algorithms, the round engine and its aggregators, metrics.
 */
// Importing the FL layer makes its experiment kinds (kind: fedavg) loadable through fedsim/scenario.
import './experiments/register.js';
export * from './models/index.js';
export * from './training/index.js';
export * from './strategies/index.js';
export * from './fedavg/index.js';
export * from './rounds/index.js';
// Asynchronous FL (FedBuff, FedAsync) on the round engine's clients and protocol.
export * from './async/index.js';
// Training clients in worker threads (`workers: N`), results bit for bit those of one thread.
export { TrainingPool, MAX_WORKERS, parseWorkers, type WorkersOption } from './parallel/index.js';
// Training clients in `fedsim train-worker` processes over NATS (`workers: natsTrainingPool(…)`), the same run.
export { natsTrainingPool, type NatsTrainingOptions } from './distributed/nats-training-pool.js';
export * from './errors.js';
export { AGGREGATOR_ENTRIES, AGGREGATION_NAMES, createAggregator, type AggregatorEntry } from './aggregators/registry.js';
export { plainAggregator } from './aggregators/plain.js';
export { type ClientAlgorithm, type LocalTraining, type TrainingHooks, type AfterTraining, plainLocalTraining, plainSgdProblem, zerosLike } from './algorithms/client-algorithm.js';
export { Scaffold, scaffoldClient, type ScaffoldOptions, type ScaffoldState } from './algorithms/scaffold.js';
export { FedNova, fedNovaClient } from './algorithms/fednova.js';
export { FedDyn, fedDynClient, type FedDynOptions, type FedDynState } from './algorithms/feddyn.js';
export * from './metrics/index.js';
export { additiveAverage, AdditiveAverageError, type AdditiveAverageOptions, type ModelOnWorker } from './secure/additive-average.js';
export { syntheticFedProx, type SyntheticDevice, type SyntheticOptions } from './data/synthetic.js';
export { partitionIid, partitionShards, partitionDirichlet } from './data/partition.js';
export { loadMnistLike } from './data/idx.js';
export * from './remote/index.js';
// Client-level differential privacy (the `dp` settings of a run): src/dp/fedavg/.
export * from '../dp/fedavg/index.js';
export { BaseDataset, FederatedDataset, FederatedDataError } from './data/federated-dataset.js';
export { FederatedDataLoader, type FederatedDataLoaderOptions, type Batch, type LoaderItem } from './data/federated-loader.js';
export * from './devices/index.js';
