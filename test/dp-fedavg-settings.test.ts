/**
 * Bad `dp` settings are refused before any run, each naming its field — by runFederated
 * (FlConfigError, where.field) and by an experiment file's check (file, line, field) —
 * and the settings that can run are accepted (Poisson sampling with fraction 1 is q = 1).
 */
import test from 'ava';
import { FlConfigError } from '../src/fl/errors.js';
import '../src/fl/experiments/register.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { FedMedian } from '../src/fl/strategies/robust.js';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { tinyClients, tinyOptions } from './helpers/fl-world.js';
import { tinyExperimentProblems } from './helpers/tiny-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients(5);
const DP = { clip: 1, noiseMultiplier: 1, delta: 1e-5 };

/** [what, run options over the tiny world, the field named, the message]. */
const REFUSED: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['noiseMultiplier 0', { dp: { ...DP, noiseMultiplier: 0 } }, 'dp.noiseMultiplier', /expected a noise multiplier z > 0/],
  ['a negative noiseMultiplier', { dp: { ...DP, noiseMultiplier: -1 } }, 'dp.noiseMultiplier', /expected a noise multiplier z > 0/],
  ['clip 0', { dp: { ...DP, clip: 0 } }, 'dp.clip', /expected a clip norm C > 0/],
  ['δ = 1', { dp: { ...DP, delta: 1 } }, 'dp.delta', /expected δ in \(0, 1\)/],
  ['δ = 0', { dp: { ...DP, delta: 0 } }, 'dp.delta', /expected δ in \(0, 1\)/],
  ['a budget of 0', { dp: { ...DP, budget: { epsilon: 0 } } }, 'dp.budget.epsilon', /expected a privacy budget ε > 0/],
  ['targetQuantile 1', { dp: { ...DP, adaptiveClip: { targetQuantile: 1 } } }, 'dp.adaptiveClip.targetQuantile', /expected a quantile in \(0, 1\)/],
  ['targetQuantile 0', { dp: { ...DP, adaptiveClip: { targetQuantile: 0 } } }, 'dp.adaptiveClip.targetQuantile', /expected a quantile in \(0, 1\)/],
  ['an unknown dp field', { dp: { ...DP, nosie: 1 } }, 'dp', /nosie/],
  ['mode distributed without secagg+', { dp: { ...DP, mode: 'distributed' } }, 'dp.mode', /'distributed' DP adds integer noise inside SecAgg\+, so it needs aggregation: secagg\+|not available yet/],
  ['scaffold (extras)', { strategy: { name: 'scaffold' }, dp: DP }, 'strategy', /'scaffold' clients also report extras \[scaffoldModelDelta, scaffoldControlDelta\]/],
  ['fednova (extras and metrics)', { strategy: { name: 'fednova' }, dp: DP }, 'strategy', /'fednova' clients also report extras .* and metrics/],
  ['feddyn (extras)', { strategy: { name: 'feddyn', alpha: 0.1 }, dp: DP }, 'strategy', /'feddyn' clients also report extras/],
  ['krum (individual updates)', { strategy: { name: 'krum', byzantine: 0 }, dp: DP }, 'strategy', /'krum' needs each client's own update/],
  ['fedmedian', { strategy: { name: 'fedmedian' }, dp: DP }, 'strategy', /'fedmedian' needs each client's own update/],
  ['fedtrimmedavg', { strategy: { name: 'fedtrimmedavg' }, dp: DP }, 'strategy', /'fedtrimmedavg' needs each client's own update/],
  ['minClients under Poisson sampling', { minClients: 2, dp: DP }, 'minClients', /no minClients under dp\.sampling 'poisson'/],
  ['adaptive clipping under local DP', { dp: { ...DP, mode: 'local', adaptiveClip: {} } }, 'dp.adaptiveClip', /no adaptiveClip under dp\.mode 'local'/],
  ['a count noise too small for z', { dp: { ...DP, adaptiveClip: { countStddev: 0.4 } } }, 'dp.adaptiveClip.countStddev', /2 × countStddev > noiseMultiplier.*above 0\.5/],
  ['the default count noise too small for z', { dp: { ...DP, adaptiveClip: {} } }, 'dp.noiseMultiplier', /its default is 0\.05 × the 5 expected clients per round = 0\.25/],
  ['local noise SecAgg+ would clip', { aggregation: 'secagg+', secagg: { clippingRange: 4 }, dp: { ...DP, mode: 'local' } }, 'secagg.clippingRange', /more than 6 × the local noise std/],
];

for (const [what, settings, field, message] of REFUSED) {
  test(`runFederated refuses ${what}, naming ${field}`, (t) => {
    const sim = new SimulationCore({ seed: 1 });
    const error = t.throws(() => runFederated(sim, { ...tinyOptions('plain', clients), ...settings } as never), { instanceOf: FlConfigError });
    t.regex(error!.message, message);
    t.is(String(error!.where.field), field);
  });
}

test('runFederated refuses DP around a strategy object that needs each update (fedmedian as an object)', (t) => {
  const sim = new SimulationCore({ seed: 1 });
  const error = t.throws(() => runFederated(sim, { ...tinyOptions('plain', clients), strategy: new FedMedian(), dp: DP }), { instanceOf: FlConfigError });
  t.is(error!.where.field, 'strategy');
});

// ── the same rules in an experiment file, with its line ─────────────────────

const fileProblems = tinyExperimentProblems;

test('an experiment file: each bad dp setting is refused at its line and field', async (t) => {
  const dp = '{ clip: 1, noiseMultiplier: 1, delta: 1e-5 }';
  const cases: Array<[string, RegExp]> = [
    ['dp: { clip: 1, noiseMultiplier: 0, delta: 1e-5 }\n', /:8:\d+: at dp\.noiseMultiplier: expected a noise multiplier z > 0, found 0/],
    ['dp: { clip: -1, noiseMultiplier: 1, delta: 1e-5 }\n', /:8:\d+: at dp\.clip: expected a clip norm C > 0/],
    ['dp: { clip: 1, noiseMultiplier: 1, delta: 2 }\n', /:8:\d+: at dp\.delta: expected δ in \(0, 1\)/],
    ['dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, budget: { epsilon: -3 } }\n', /at dp\.budget\.epsilon: expected a privacy budget ε > 0/],
    ['dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, adaptiveClip: { targetQuantile: 1.5 } }\n', /at dp\.adaptiveClip\.targetQuantile: expected a quantile in \(0, 1\)/],
    [`algorithm: { name: scaffold }\ndp: ${dp}\n`, /:8:\d+: at algorithm: expected an algorithm whose clients report only their model under dp/],
    [`algorithm: { name: krum, byzantine: 0 }\ndp: ${dp}\n`, /at algorithm: expected a strategy that works from the average under dp/],
    [`dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, mode: distributed }\n`, /at dp\.mode: expected 'central' or 'local' with aggregation 'plain'/],
    [`algorithm: { name: fedavg, minClients: 2 }\ndp: ${dp}\n`, /:8:\d+: at algorithm\.minClients: expected no minClients under dp\.sampling 'poisson'/],
  ];
  for (const [extra, expected] of cases) {
    const found = await fileProblems(extra);
    t.true(
      found.some((p) => expected.test(p)),
      `${extra.trim()}\n  → ${found.join('\n  → ') || '(accepted)'}`,
    );
  }
});

// Accounting the run's rounds before it starts: a PLD grid the noise makes too wide, or a budget the first round
// alone exceeds, is refused here (it once failed inside every round's aggregation, retried without end; and a
// budget below one round started a run that could run no round).
test('an experiment file: rounds the accountant cannot account, or a budget below one round, are refused before the run, naming the field', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['dp: { clip: 1, noiseMultiplier: 0.01, delta: 1e-5, accountant: pld }\n', /at dp\.accountant: expected an accountant that can account these rounds \(.*grid points.*\); use accountant: rdp or a larger noiseMultiplier, found 'pld'/],
    ['dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, budget: { epsilon: 0.01 } }\n', /at dp\.budget\.epsilon: expected at least the ε of one round, 4\.72851 at δ = 0\.00001 \(rdp\), or the run could run no round; raise the budget, or raise dp\.noiseMultiplier or lower the sampling fraction, found 0\.01/],
    ['dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, mode: local, budget: { epsilon: 5 } }\n', /at dp\.budget\.epsilon: expected at least the ε of one round, 10\.7\d* at δ = 0\.00001/],
  ];
  for (const [extra, expected] of cases) {
    const found = await fileProblems(extra);
    t.true(
      found.some((p) => expected.test(p)),
      `${extra.trim()}\n  → ${found.join('\n  → ') || '(accepted)'}`,
    );
  }
});

test('runFederated refuses PLD rounds too wide for its grid before any round, naming dp.accountant', (t) => {
  const sim = new SimulationCore({ seed: 1 });
  const error = t.throws(() => runFederated(sim, { ...tinyOptions('plain', clients), dp: { ...DP, noiseMultiplier: 0.01, accountant: 'pld' } } as never), { instanceOf: FlConfigError });
  t.regex(error!.message, /dp\.accountant: expected an accountant that can account these rounds/);
  t.is(String(error!.where.field), 'dp.accountant');
});

test('settings that can run are accepted: Poisson with fraction 1 (q = 1), fixed-size with minClients, adaptive with a large enough count noise, local', async (t) => {
  for (const extra of [
    'fraction: 1\ndp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, sampling: poisson }\n',
    'dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, accountant: pld }\n',
    'dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, budget: { epsilon: 4.73 } }\n',
    'minClients: 2\nfraction: 0.5\ndp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, sampling: fixed }\n',
    'dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, adaptiveClip: { countStddev: 0.6 } }\n',
    'algorithm: { name: fedadam }\ndp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, mode: local }\n',
    'algorithm: { name: fedprox, mu: 0.1 }\naggregation: secagg+\ndp: { clip: 0.1, noiseMultiplier: 1, delta: 1e-5, mode: local }\n',
  ]) {
    t.deepEqual(await fileProblems(extra), [], extra);
  }
});
