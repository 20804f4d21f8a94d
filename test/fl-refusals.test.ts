/**
 * What runFederated refuses before the run, and what a client refuses during it, so that a
 * run never reports a misleading reason: a mistyped option, non-finite data, settings a
 * mode cannot run, and local training that diverged (the same reason in every mode).
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runFederated, type FederatedOptions } from '../src/fl/rounds/index.js';
import { FlConfigError } from '../src/fl/errors.js';
import { nn } from '../src/fl/models/index.js';
import { FEATURES, MODES, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients();
/** The same inputs with regression targets (the sum of the features), for a linear model. */
const regression = clients.map((c) => ({ x: c.x, y: Float32Array.from({ length: c.y.length }, (_, i) => c.x.slice(i * FEATURES, (i + 1) * FEATURES).reduce((a, b) => a + b, 0)) }));
const linear = (mode: (typeof MODES)[number]) => ({ ...tinyOptions(mode, regression), model: nn.linear(FEATURES, 1) });

test('a mistyped option is refused, not ignored', (t) => {
  const error = t.throws(() => runFederated(new SimulationCore({ seed: 1 }), { ...tinyOptions('plain', clients), roundz: 3 } as FederatedOptions), { instanceOf: FlConfigError });
  t.regex(error!.message, /roundz/);
});

test('non-finite client data is refused before the run, naming the client, the sample and the feature', (t) => {
  const x = Float32Array.from(clients[1].x);
  x[4 * 2 + 3] = NaN; // sample 2, feature 3 (4 features)
  const bad = clients.map((c, i) => (i === 1 ? { ...c, x } : c));
  for (const mode of MODES) {
    const sim = new SimulationCore({ seed: 1 });
    const error = t.throws(() => runFederated(sim, tinyOptions(mode, bad)), { instanceOf: FlConfigError });
    t.regex(error!.message, /the data of client 'client-1' has NaN in its features \(sample 2, feature 3\)/);
    t.deepEqual(sim.log.events.filter((e) => e.ev === 'spawned'), [], 'no actor was spawned');
  }
  const y = Float32Array.from(regression[0].y);
  y[1] = Infinity;
  t.throws(() => runFederated(new SimulationCore({ seed: 1 }), { ...linear('plain'), clients: regression.map((c, i) => (i === 0 ? { ...c, y } : c)) }), {
    message: /client 'client-0' has Infinity in its targets \(sample 1\)/,
  });
});

for (const mode of MODES) {
  test(`${mode}: local training that diverges is refused by the client with the same reason in every mode, and the model is kept`, async (t) => {
    const sim = new SimulationCore({ seed: 1 });
    // Linear regression with a step size far beyond 2/λ_max: the iterates grow geometrically to Infinity, then NaN.
    const result = await runFederated(sim, { ...linear(mode), rounds: 1, lr: 1e6, localEpochs: 20 });
    const [round] = result.rounds;
    t.truthy(round.skipped, 'the round is skipped');
    t.true(round.failures.length > 0);
    const refusals = round.failures.filter((f) => f.kind === 'refusal');
    t.true(refusals.length > 0);
    for (const failure of refusals) t.regex(failure.reason, /local training diverged: the trained model holds NaN or Infinity .*lower the learning rate \(lr 1000000\)/);
    // Additive ends the round at the first refusal: the clients whose refusal had not arrived yet say so.
    for (const failure of round.failures.filter((f) => f.kind !== 'refusal')) t.regex(failure.reason, /the round ended when \[.*\] refused the fit/);
    // The skip says what the clients said, not only that nothing arrived (which would send the user to the deadline).
    t.regex(round.skipped!, /refused.*: client-\d+: FlRefusal: .*local training diverged.*lower the learning rate/);
    if (refusals.length === round.selected.length) t.regex(round.skipped!, /^no update to aggregate: every selected client refused/);
  });
}
