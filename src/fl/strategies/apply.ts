/**
 * One strategy step from plain client updates, outside a simulation: what the round
 * engine does with plaintext aggregation, for scripts, notebooks and tests.
 *
 *   let state = strategy.initialState(w0);
 *   ({ weights, state } = aggregateUpdates(strategy, 1, updates, { weights: w0, state }));
 */
import { createStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';
import type { Weights } from '../models/weights.js';
import { meanOfReports } from '../rounds/round-aggregate.js';
import { checkLayouts } from './aggregate.js';
import { type ClientUpdate, type RoundFailure, type Strategy, type StrategyStep, sortedUpdates } from './strategy.js';

export function aggregateUpdates<S>(
  strategy: Strategy<S>,
  round: number,
  updates: readonly ClientUpdate[],
  at: { weights: Weights; state?: S; failures?: readonly RoundFailure[]; clients?: readonly string[] },
): StrategyStep<S> {
  const sorted = sortedUpdates(updates, strategy.name);
  if (sorted.length === 0) throw new FlConfigError(`${strategy.name}: nothing to aggregate (no client update); pass at least one update`, { op: strategy.name, round, field: 'updates' });
  checkLayouts(at.weights, sorted, strategy.name);
  const layout = strategy.client.reports;
  const reports = sorted.map((u) => ({
    clientId: u.clientId,
    res: { round, weights: u.weights, numSamples: u.numSamples, loss: u.loss, extras: u.extras ?? {}, metrics: u.metrics ?? {} },
  }));
  const results = meanOfReports(round, reports, layout, { individual: true });
  const state = at.state === undefined ? strategy.initialState(at.weights) : at.state;
  return strategy.aggregate(round, results, at.failures ?? [], {
    rng: createStream(0, `aggregateUpdates/${strategy.name}/round-${round}`),
    state,
    weights: at.weights,
    clients: at.clients ?? sorted.map((u) => u.clientId),
  });
}
