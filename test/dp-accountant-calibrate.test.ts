/**
 * calibrateNoiseMultiplier: the σ it returns meets the target ε, a slightly smaller σ does
 * not (the answer is the smallest within the stated tolerance), it round-trips with the
 * accountant, and targets that no σ in range can meet are refused.
 */
import test from 'ava';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { calibrateNoiseMultiplier, MAX_NOISE_MULTIPLIER, MIN_NOISE_MULTIPLIER } from '../src/dp/accounting/calibrate.js';
import { DpConfigError } from '../src/dp/errors.js';

const epsilonAt = (q: number, sigma: number, steps: number, delta: number) =>
  new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: q, noiseMultiplier: sigma }, steps).epsilon(delta).epsilon;

test('the calibrated σ meets the target and σ·(1 − 2·tolerance) does not; σ → ε → σ round-trips', (t) => {
  for (const [q, steps, delta, target] of [
    [256 / 60000, 14063, 1e-5, 3],
    [0.01, 1000, 1e-5, 1],
    [0.1, 50, 1e-6, 8],
    [1, 10, 1e-5, 2],
  ] as const) {
    const result = calibrateNoiseMultiplier({ epsilon: target, delta, samplingRate: q, steps });
    const what = `q=${q} T=${steps} δ=${delta} ε≤${target}: σ=${result.noiseMultiplier}`;
    t.true(result.epsilon <= target, what);
    t.is(result.epsilon, epsilonAt(q, result.noiseMultiplier, steps, delta), what);
    t.true(epsilonAt(q, result.noiseMultiplier * (1 - 2 * result.tolerance), steps, delta) > target, `${what}: a smaller σ would have done`);
    t.is(result.accountant, 'rdp');
  }
  // Round trip: the ε of σ = 1.1 calibrates back to 1.1.
  const epsilon = epsilonAt(256 / 60000, 1.1, 14063, 1e-5);
  const back = calibrateNoiseMultiplier({ epsilon, delta: 1e-5, samplingRate: 256 / 60000, steps: 14063, tolerance: 1e-9 });
  t.true(Math.abs(back.noiseMultiplier - 1.1) <= 1.1 * 2e-9, `σ = ${back.noiseMultiplier}`);
});

test('targets no σ in range can meet, and bad parameters, are refused naming the parameter', (t) => {
  const base = { epsilon: 1, delta: 1e-5, samplingRate: 0.01, steps: 100 };
  const tooTight = t.throws(() => calibrateNoiseMultiplier({ ...base, epsilon: 1e-9, samplingRate: 1, steps: 1e6 }), { instanceOf: DpConfigError });
  t.regex(tooTight.message, new RegExp(`no noise multiplier up to ${MAX_NOISE_MULTIPLIER} keeps ε ≤ 1e-9`));
  const tooLoose = t.throws(() => calibrateNoiseMultiplier({ ...base, epsilon: 1e6, samplingRate: 1e-6, steps: 1 }), { instanceOf: DpConfigError });
  t.regex(tooLoose.message, new RegExp(`even noise multiplier ${MIN_NOISE_MULTIPLIER} keeps ε ≤ 1000000`));
  for (const [override, field] of [
    [{ epsilon: 0 }, 'epsilon'],
    [{ epsilon: -1 }, 'epsilon'],
    [{ delta: 1 }, 'delta'],
    [{ samplingRate: 0 }, 'samplingRate'],
    [{ steps: 0 }, 'steps'],
    [{ steps: 2.5 }, 'steps'],
    [{ tolerance: 0 }, 'tolerance'],
  ] as const) {
    const error = t.throws(() => calibrateNoiseMultiplier({ ...base, ...override }), { instanceOf: DpConfigError }, JSON.stringify(override));
    t.is(error.where.field, field);
    t.regex(error.message, new RegExp(`^calibrateNoiseMultiplier: ${field} must be`));
  }
});

test('PLD calibration: starts from the RDP answer, meets the target with PLD ε, and needs less noise than RDP', (t) => {
  const target = { epsilon: 2, delta: 1e-5, samplingRate: 0.01, steps: 500 };
  const viaRdp = calibrateNoiseMultiplier(target);
  const viaPld = calibrateNoiseMultiplier({ ...target, accountant: 'pld' });
  t.is(viaPld.accountant, 'pld');
  t.is(viaPld.tolerance, 1e-4);
  t.true(viaPld.epsilon <= 2);
  const pldEpsilonAt = (sigma: number) =>
    new PrivacyAccountant({ kind: 'pld' }).compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.01, noiseMultiplier: sigma }, 500).epsilon(1e-5).epsilon;
  t.is(pldEpsilonAt(viaPld.noiseMultiplier), viaPld.epsilon);
  t.true(pldEpsilonAt(viaPld.noiseMultiplier * (1 - 2e-4)) > 2, 'the smallest σ within the tolerance');
  t.true(viaPld.noiseMultiplier < viaRdp.noiseMultiplier, `PLD σ ${viaPld.noiseMultiplier} < RDP σ ${viaRdp.noiseMultiplier}`);
});
