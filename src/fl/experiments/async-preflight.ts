/**
 * What a `kind: fedavg` file with an `async:` block is checked for before the run: the
 * settings of synchronous rounds that an asynchronous run cannot take (the same ones
 * runAsyncFederated refuses), named by their field so the loader points at the line.
 */
import type { DocumentProblem } from '../../scenario/index.js';
import type { FedAvgExperiment } from './fedavg-experiment.js';

const BOUND = 'bound the run with async.maxServerUpdates or async.maxClientUpdates';

export function asyncRunProblems(config: FedAvgExperiment, clients: number): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  if (!config.async) {
    if (config.rounds === undefined) problems.push({ path: ['rounds'], expected: 'the number of rounds (an integer ≥ 1), or an async: block for an asynchronous run', found: 'no rounds field' });
    return problems;
  }
  const refuse = (path: PropertyKey[], expected: string) => problems.push({ path, expected });
  if (config.rounds !== undefined) refuse(['rounds'], `no 'rounds' field under async: an async run has no rounds; ${BOUND}`);
  if (config.fraction !== undefined) refuse(['fraction'], `no 'fraction' field under async: async.concurrency clients train at once instead`);
  if (config.minClients !== undefined) refuse(['minClients'], `no 'minClients' field under async: use async.concurrency`);
  if (config.roundPolicy !== undefined) refuse(['roundPolicy'], `no 'roundPolicy' field under async: an async run has no rounds to over-select or to skip (async.concurrency and async.bufferSize say how many train and how many make an update)`);
  if (config.aggregation !== 'plain') refuse(['aggregation'], `'plain' under async: secure aggregation needs a fixed cohort per round`);
  if (config.dp !== undefined) refuse(['dp'], `no 'dp' field under async: client-level DP accounts synchronous rounds of a fixed sampling`);
  if (config.dpSgd !== undefined) refuse(['dpSgd'], `no 'dpSgd' field under async: DP-SGD accounting is per synchronous round`);
  const { name, ...strategyFields } = config.algorithm as { name: string } & Record<string, unknown>;
  if (name !== 'fedavg') refuse(['algorithm', 'name'], `'fedavg' under async: the server's strategy is async.algorithm (fedbuff or fedasync) and the clients train as FedAvg's`);
  for (const field of Object.keys(strategyFields).filter((f) => strategyFields[f] !== undefined)) {
    refuse(['algorithm', field], `no '${field}' under async: the sync strategy's settings do not apply (see async.*)`);
  }
  if (config.async.concurrency > clients) refuse(['async', 'concurrency'], `at most ${clients} (the clients of this run): no more clients than there are can train at once`);
  return problems;
}
