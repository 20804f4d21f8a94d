/**
 * Accuracy against ε (issue #15): DP-FedAvg on Fashion-MNIST, 100 clients with Dirichlet(0.5)
 * labels, central DP at three noise levels and distributed DP over SecAgg+ at the middle one,
 * beside the non-private run — the experiment files scenarios/experiments/fashion-dp-*.yaml,
 * each run as `fedsim run` would run it (same seed), without keeping the event log.
 *
 *   npm run bench -- dp-accuracy
 *
 * ε is the run's own (RDP, as its results.json states it); the PLD column recomputes the
 * same composition with the PLD accountant where one exists for the mechanism (the
 * Poisson-sampled Gaussian of central DP; the Skellam mechanism has only its RDP curve).
 * Wall-clock time is read here only (benchmarks may).
 */
import { existsSync } from 'node:fs';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { initBackend } from '../src/runtime/backend.js';
import { table } from './timing.js';
import { runExperimentFile } from './experiment-file.js';

const FASHION = '/usr/share/datasets/fashion-mnist';

/** The runs, in the table's order: the baseline first, then ε from the largest to the smallest. */
const RUNS: Array<{ file: string; setting: string }> = [
  { file: 'fashion-dp-nonprivate.yaml', setting: 'non-private' },
  { file: 'fashion-dp-central-eps50.yaml', setting: 'central DP' },
  { file: 'fashion-dp-central-eps8.yaml', setting: 'central DP' },
  { file: 'fashion-dp-distributed-eps8.yaml', setting: 'distributed DP (secagg+, Skellam)' },
  { file: 'fashion-dp-central-eps1.yaml', setting: 'central DP' },
];

const short = (x: number, digits = 3) => String(Number(x.toPrecision(digits)));

/** ε of the same composition under the PLD accountant, for the mechanisms it has (else undefined). */
function pldEpsilon(privacy: NonNullable<FedAvgExperimentResult['privacy']>): number | undefined {
  if (privacy.mode !== 'central' || privacy.sampling !== 'poisson' || privacy.adaptiveClip || privacy.samplingRate === undefined || privacy.rounds === 0) return undefined;
  const accountant = new PrivacyAccountant({ kind: 'pld' }).compose({ kind: 'poisson-sampled-gaussian', samplingRate: privacy.samplingRate, noiseMultiplier: privacy.noiseMultiplier }, privacy.rounds);
  return accountant.epsilon(privacy.delta).epsilon;
}

export const benchmark = {
  name: 'dp-accuracy',
  title: 'Differential privacy: accuracy against ε on Fashion-MNIST (100 clients, Dirichlet α = 0.5)',
  async run(): Promise<string> {
    if (!existsSync(FASHION)) return `Skipped: Fashion-MNIST is not installed at ${FASHION} (apt-get install dataset-fashion-mnist).`;
    await initBackend();
    const rows: Array<Record<string, string | number>> = [];
    let delta: number | undefined;
    for (const { file, setting } of RUNS) {
      const { result, seconds } = await runExperimentFile(file, 'dp-accuracy');
      const p = result.privacy;
      delta ??= p?.delta;
      const pld = p ? pldEpsilon(p) : undefined;
      const perRound = result.perRound;
      const participants = perRound.reduce((n, r) => n + r.participants, 0) / Math.max(1, perRound.length);
      rows.push({
        file: `\`${file}\``,
        setting,
        z: p ? short(p.noiseMultiplier) : '–',
        C: p ? short(p.clip) : '–',
        q: p?.samplingRate !== undefined ? short(p.samplingRate) : 'fixed size',
        'clients / round (mean)': participants.toFixed(1),
        rounds: result.rounds,
        'test accuracy': result.finalTestAccuracy === undefined ? '–' : result.finalTestAccuracy.toFixed(4),
        'ε RDP (released model)': p ? short(p.epsilon) : '∞',
        'ε PLD': pld !== undefined ? short(pld) : '–',
        'ε against the server': p ? short(p.distributed?.epsilonAgainstServer ?? (p.mode === 'central' ? Infinity : p.epsilon)).replace('Infinity', '∞ (it adds the noise)') : '∞',
        'wall s': seconds.toFixed(0),
      });
    }
    return [table(rows), '', `ε at δ = ${delta ?? '–'}; q is the Poisson sampling rate of the DP runs (the non-private run samples a fixed ⌈fraction·N⌉ clients a round).`].join('\n');
  },
};
