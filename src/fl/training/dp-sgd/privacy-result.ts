/**
 * DP-SGD's privacy as a run's results state it: the ledger's summary in plain JSON (ε = ∞,
 * from σ = 0, written as the string "Infinity", as the accountant's JSON does) and the worst
 * client's ε after each round as a metric series on the report's `privacy` chart.
 *
 * One function, so that whatever states a run's privacy (the fedavg experiment today, a DP
 * wrapper that also reports client-level ε) shows sample-level ε the same way.
 */
import type { DpSgdPrivacyLedger, SampleLevelPrivacy } from './privacy-ledger.js';

export type DpSgdResult = Omit<SampleLevelPrivacy, 'epsilon' | 'perRound'> & {
  epsilon: number | 'Infinity';
  perRound: Array<{ round: number; epsilon: number | 'Infinity' }>;
};

export interface DpSgdMetricSeries {
  name: string;
  chart: 'privacy';
  x: 'round';
  y: 'epsilon';
  points: Array<[number, number]>;
}

const json = (epsilon: number): number | 'Infinity' => (Number.isFinite(epsilon) ? epsilon : 'Infinity');

/** The ledger's summary for results.json and its ε series, or undefined when no client trained with DP-SGD. */
export function dpSgdResult(ledger: DpSgdPrivacyLedger): { epsilon: number; result: DpSgdResult; series: DpSgdMetricSeries } | undefined {
  const summary = ledger.summary();
  if (!summary) return undefined;
  return {
    epsilon: summary.epsilon,
    result: { ...summary, epsilon: json(summary.epsilon), perRound: summary.perRound.map(({ round, epsilon }) => ({ round, epsilon: json(epsilon) })) },
    series: {
      name: `ε at δ = ${summary.delta} (DP-SGD, worst client)`,
      chart: 'privacy',
      x: 'round',
      y: 'epsilon',
      // An unbounded ε has no point on a chart.
      points: summary.perRound.filter((p) => Number.isFinite(p.epsilon)).map((p) => [p.round, p.epsilon] as [number, number]),
    },
  };
}
