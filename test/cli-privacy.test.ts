/**
 * `fedsim privacy`: the lines it prints (ε, or the noise multiplier for a target ε), its
 * TF Privacy-style dataset form, --json, and usage errors (exit 2, one line naming the flag)
 * for every bad or missing parameter. End to end through the real bin once per kind of
 * output; each bad input through resolvePrivacyQuery (a CLI process takes seconds to start).
 */
import test from 'ava';
import { Writable } from 'node:stream';
import { formatSignificant, privacyCommand, type PrivacyOptions, resolvePrivacyQuery } from '../src/cli/commands/privacy.js';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { fedsim } from './helpers/fedsim-cli.js';

const ABADI = ['--dataset-size', '60000', '--batch-size', '256', '--epochs', '60', '--noise-multiplier', '1.1', '--delta', '1e-5'];

test('the command line prints "epsilon: X" then the accountant and order; the dataset form equals the explicit q and steps; --epsilon solves for σ; bad flags exit 2', async (t) => {
  const [dataset, explicit, solve, json, bad, neither, pld, help] = await Promise.all([
    fedsim('privacy', ...ABADI),
    fedsim('privacy', '--sampling-rate', String(256 / 60000), '--steps', '14063', '--noise-multiplier', '1.1', '--delta', '1e-5'),
    fedsim('privacy', '--sampling-rate', '0.01', '--steps', '1000', '--epsilon', '2', '--delta', '1e-5'),
    fedsim('privacy', ...ABADI, '--json'),
    fedsim('privacy', '--sampling-rate', '0.01', '--steps', '1000', '--noise-multiplier', '0', '--delta', '1e-5'),
    fedsim('privacy', '--sampling-rate', '0.01', '--steps', '1000', '--delta', '1e-5'),
    fedsim('privacy', '--sampling-rate', '0.01', '--steps', '120', '--noise-multiplier', '0.7', '--delta', '1e-5', '--accountant', 'pld'),
    fedsim('--help'),
  ]);
  t.regex(help.stdout, /privacy \[options\]\s+Compute ε/);
  t.regex(help.stdout, /\$ fedsim privacy --sampling-rate/);
  t.is(dataset.code, 0, dataset.stderr);
  const lines = dataset.stdout.split('\n');
  t.is(lines[0], 'epsilon: 2.59666');
  t.is(lines[1], 'accountant: rdp (Rényi DP, tight conversion), optimal order 8.1; σ = 1.1, q = 0.00426667, 14063 steps, δ = 1e-5 (dataset size 60000, batch size 256, 60 epochs)');
  t.is(lines.length, 3);
  t.is(dataset.stderr, '');

  t.is(explicit.code, 0, explicit.stderr);
  t.is(explicit.stdout.split('\n')[0], 'epsilon: 2.59666');

  t.is(solve.code, 0, solve.stderr);
  const [first, second] = solve.stdout.split('\n');
  t.regex(first, /^noise multiplier: \d+\.\d+$/);
  const sigma = Number(first.slice('noise multiplier: '.length));
  const reached = new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.01, noiseMultiplier: sigma }, 1000).epsilon(1e-5).epsilon;
  t.true(reached <= 2, `the printed σ ${sigma} meets ε ≤ 2 (ε = ${reached})`);
  t.true(reached > 1.999, 'and is not needlessly large');
  t.regex(second, /^accountant: rdp \(Rényi DP, tight conversion\), optimal order [\d.]+; ε = [\d.]+ ≤ 2 at q = 0\.01, 1000 steps, δ = 1e-5; the smallest such σ within a relative 1e-6, rounded up$/);

  t.is(json.code, 0, json.stderr);
  const body = JSON.parse(json.stdout);
  t.like(body, { samplingRate: 256 / 60000, steps: 14063, delta: 1e-5, accountant: 'rdp', noiseMultiplier: 1.1, order: 8.1, dataset: { size: 60000, batchSize: 256, epochs: 60 } });
  t.true(Math.abs(body.epsilon - 2.5966555) < 1e-6);

  t.is(bad.code, 2);
  t.is(bad.stdout, '');
  t.is(bad.stderr, 'error: --noise-multiplier 0: give a number > 0 (noise standard deviation / L2 sensitivity).\n');
  // TF Privacy's PLD figure for these parameters: 2.4612381.
  t.is(pld.code, 0, pld.stderr);
  t.is(pld.stdout, 'epsilon: 2.46124\naccountant: pld (privacy loss distribution, pessimistic connect-the-dots discretisation, Δ = 1e-4); σ = 0.7, q = 0.01, 120 steps, δ = 1e-5\n');
  t.is(neither.code, 2);
  t.is(neither.stderr, 'error: give --noise-multiplier (to compute ε) or --epsilon (to solve for the noise multiplier).\n');
});

test('every bad or missing parameter is a usage error that names the flag and the valid range', (t) => {
  const ok: PrivacyOptions = { samplingRate: '0.01', steps: '100', noiseMultiplier: '1', delta: '1e-5' };
  const cases: Array<[PrivacyOptions, string]> = [
    [{ ...ok, noiseMultiplier: '-1' }, '--noise-multiplier -1: give a number > 0 (noise standard deviation / L2 sensitivity).'],
    [{ ...ok, noiseMultiplier: 'abc' }, '--noise-multiplier abc: give a number > 0 (noise standard deviation / L2 sensitivity).'],
    [{ ...ok, delta: '1' }, '--delta 1: give a number in (0, 1), e.g. 1e-5.'],
    [{ ...ok, delta: '0' }, '--delta 0: give a number in (0, 1), e.g. 1e-5.'],
    [{ ...ok, delta: '2' }, '--delta 2: give a number in (0, 1), e.g. 1e-5.'],
    [{ ...ok, delta: undefined }, '--delta is required: the δ of (ε, δ)-DP, e.g. --delta 1e-5 (well below 1/dataset size).'],
    [{ ...ok, samplingRate: '0' }, '--sampling-rate 0: give a number in (0, 1] (the probability that a record takes part in a step).'],
    [{ ...ok, samplingRate: '1.01' }, '--sampling-rate 1.01: give a number in (0, 1] (the probability that a record takes part in a step).'],
    [{ ...ok, samplingRate: 'NaN' }, '--sampling-rate NaN: give a number in (0, 1] (the probability that a record takes part in a step).'],
    [{ ...ok, steps: '0' }, '--steps 0: give a positive integer (the number of noisy steps).'],
    [{ ...ok, steps: '2.5' }, '--steps 2.5: give a positive integer (the number of noisy steps).'],
    [{ ...ok, steps: '' }, '--steps : give a positive integer (the number of noisy steps).'],
    [{ ...ok, steps: undefined }, '--steps is required with --sampling-rate: the number of noisy steps (a positive integer).'],
    [{ ...ok, samplingRate: undefined, steps: undefined }, '--sampling-rate is required (or --dataset-size, --batch-size and --epochs): the probability q ∈ (0, 1] that a record takes part in a step.'],
    [{ ...ok, epsilon: '1' }, 'give --noise-multiplier or --epsilon, not both: one is computed from the other.'],
    [{ ...ok, noiseMultiplier: undefined }, 'give --noise-multiplier (to compute ε) or --epsilon (to solve for the noise multiplier).'],
    [{ ...ok, noiseMultiplier: undefined, epsilon: '0' }, '--epsilon 0: give a number > 0 (the ε not to exceed).'],
    [{ ...ok, accountant: 'moments' }, '--accountant moments: use one of rdp, pld.'],
    [{ ...ok, discretization: '1e-3' }, '--discretization 1e-3: the grid step applies to --accountant pld only.'],
    [{ ...ok, accountant: 'pld', discretization: '0.5' }, '--discretization 0.5: give a number in [1e-6, 1e-2] (the PLD grid step of privacy losses; default 1e-4).'],
    [{ ...ok, datasetSize: '100' }, 'give either --sampling-rate and --steps, or --dataset-size, --batch-size and --epochs, not both.'],
    [{ noiseMultiplier: '1', delta: '1e-5', datasetSize: '100', batchSize: '10' }, '--epochs is required with --dataset-size, --batch-size and --epochs (they give the sampling rate and the steps).'],
    [{ noiseMultiplier: '1', delta: '1e-5', datasetSize: '100', batchSize: '200', epochs: '1' }, '--batch-size 200: give at most the dataset size 100 (the sampling rate is batch size / dataset size).'],
    [{ noiseMultiplier: '1', delta: '1e-5', datasetSize: '1.5', batchSize: '1', epochs: '1' }, '--dataset-size 1.5: give a positive integer (the number of records).'],
    [{ noiseMultiplier: '1', delta: '1e-5', datasetSize: '100', batchSize: '10', epochs: '0' }, '--epochs 0: give a number > 0 (passes over the data; may be fractional).'],
  ];
  for (const [options, message] of cases) {
    const error = t.throws(() => resolvePrivacyQuery(options), { name: 'CliError' }, JSON.stringify(options));
    t.is(error.message, message);
    t.is((error as Error & { exitCode: number }).exitCode, 2);
  }
  // The dataset form: q = B/N, steps = ⌈E·N/B⌉ (TF Privacy).
  t.like(resolvePrivacyQuery({ noiseMultiplier: '1', delta: '1e-5', datasetSize: '60000', batchSize: '256', epochs: '60' }), { samplingRate: 256 / 60000, steps: 14063 });
  t.like(resolvePrivacyQuery({ noiseMultiplier: '1', delta: '1e-5', datasetSize: '1000', batchSize: '300', epochs: '1.5' }), { samplingRate: 0.3, steps: 5 });
});

test('a target no noise multiplier can meet is a usage error naming --epsilon; the printed σ is rounded up, ε down', (t) => {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const error = t.throws(() => privacyCommand({ samplingRate: '1', steps: '1000000', epsilon: '1e-9', delta: '1e-5' }, sink), { name: 'CliError' });
  t.regex(error.message, /^--epsilon 1e-9: no noise multiplier up to 1000000 keeps ε ≤ 1e-9 at δ = 0\.00001/);
  const tooWide = t.throws(() => privacyCommand({ samplingRate: '1', steps: '10', noiseMultiplier: '0.05', delta: '1e-5', accountant: 'pld' }, sink), { name: 'CliError' });
  t.regex(tooWide.message, /^--accountant pld --discretization 1e-4: the PLD of one step \(q = 1, σ = 0\.05\) needs \d+ grid points .* use a coarser discretization \(e\.g\. 0\.001\) or the RDP accountant\.$/);
  t.is(formatSignificant(1.0222903719726968, 'up'), '1.0223');
  t.is(formatSignificant(1.0222903719726968), '1.02229');
  t.is(formatSignificant(1.1, 'up'), '1.1');
  t.is(formatSignificant(1.9999974, 'down'), '1.99999');
  t.is(formatSignificant(5907982.3113984), '5907982.31');
  t.is(formatSignificant(Infinity), 'inf');
});
