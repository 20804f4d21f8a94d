/**
 * Distributed DP does not trust the server: each SecAgg+ client derives its plan from its own
 * configuration of the run and takes only the rotation seed from the fit. A server that
 * forges the fit's plan (less noise, a larger clip, a smaller scale) or the SecAgg+ round's
 * participant count (more participants, so each noise share is smaller) is refused by every
 * honest client: the round is skipped, never summed, and the refusal reason reaches the
 * round's failures. The forger sits on the bus (as in secagg-tamper.test.ts) and rewrites the
 * server's messages before delivery.
 */
import test from 'ava';
import '../src/fl/experiments/register.js';
import type { DpSettingsInput } from '../src/dp/fedavg/settings.js';
import type { FederatedOptions } from '../src/fl/rounds/index.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { FL } from '../src/fl/rounds/protocol.js';
import { SECAGG } from '../src/fl/secure/secagg/index.js';
import { initBackend } from '../src/runtime/backend.js';
import { type Envelope, SimulationCore } from '../src/runtime/index.js';
import { clientIdsOf, eventsOf, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients(5);
const ids = clientIdsOf(clients);
const DP: DpSettingsInput = { mode: 'distributed', clip: 0.5, noiseMultiplier: 1, delta: 1e-5 };
const options: FederatedOptions = { ...tinyOptions('secagg+', clients), rounds: 2, fraction: 1, dp: DP };

/** A run whose server's outgoing messages of `type` are rewritten by `forge` before delivery. */
async function forgedRun(type: string, forge: (payload: any) => unknown) {
  const sim = new SimulationCore({ seed: 7 });
  let forged = 0;
  sim.bus$.subscribe((envelope: Envelope) => {
    if (envelope.type !== type) return;
    (envelope as { payload: unknown }).payload = forge(envelope.payload);
    forged++;
  });
  const result = await runFederated(sim, options);
  await sim.settle();
  return { sim, result, forged };
}

const forgedPlan = (change: Record<string, unknown>) => (fit: any) => ({ ...fit, report: { ...fit.report, dp: { ...fit.report.dp, plan: { ...fit.report.dp.plan, ...change } } } });

test('the honest run commits every round (the baseline the forgeries are measured against)', async (t) => {
  const { result } = await forgedRun('none', (p) => p);
  t.deepEqual(result.rounds.map((r) => r.skipped), [undefined, undefined]);
  t.deepEqual(result.rounds[0].participants, ids);
});

for (const [what, change, named] of [
  ['less noise (noise multiplier 0.1)', { noiseMultiplier: 0.1 }, /noiseMultiplier 0\.1 \(this client's own: 1\)/],
  ['less noise (noise variance / 100)', { noiseVariance: 1 }, /noiseVariance 1 \(this client's own: \d/],
  ['a larger clip', { clip: 5 }, /clip 5 \(this client's own: 0\.5\)/],
  ['a smaller scale', { scale: 1 }, /scale 1 \(this client's own: \d/],
  ['no conditional rounding (β = 0)', { beta: 0 }, /beta 0 \(this client's own: 0\.606/],
  ['more participants in the overflow bound', { maxParticipants: 50 }, /maxParticipants 50 \(this client's own: 5\)/],
] as const) {
  test(`a fit whose plan asks for ${what} is refused by every client, naming the field; no round is summed`, async (t) => {
    const { sim, result, forged } = await forgedRun(FL.fit, forgedPlan(change));
    t.true(forged >= ids.length);
    t.is(eventsOf(sim, 'sent').filter((e) => e.type === SECAGG.maskedInput).length, 0, 'no client masked an update');
    for (const round of result.rounds) {
      t.truthy(round.skipped, `round ${round.round} is skipped`);
      t.deepEqual(round.failures.map((f) => f.clientId).sort(), ids);
      for (const f of round.failures) {
        t.regex(f.reason, /distributed-DP plan is not this client's own/);
        t.regex(f.reason, named);
      }
    }
  });
}

test('a fit without the plan (the server asks a distributed-DP client for an un-noised update) is refused', async (t) => {
  const { result } = await forgedRun(FL.fit, (fit: any) => ({ ...fit, report: { protocol: fit.report.protocol, maxWeight: fit.report.maxWeight } }));
  for (const round of result.rounds) {
    t.truthy(round.skipped);
    t.true(round.failures.length === ids.length && round.failures.every((f) => /configured for distributed DP .* carries no distributed-DP plan/.test(f.reason)), JSON.stringify(round.failures));
  }
});

test('a SecAgg+ round claiming more participants than it has (smaller noise shares) is refused by every client at collect; nothing is summed', async (t) => {
  // 5 participants in a complete graph: each client sees all of them. The forger claims 9.
  const { sim, result, forged } = await forgedRun(SECAGG.setup, (setup: any) => ({ ...setup, config: { ...setup.config, sampleSize: 9 } }));
  t.true(forged >= ids.length);
  t.is(eventsOf(sim, 'sent').filter((e) => e.type === SECAGG.maskedInput).length, 0, 'no client masked an update');
  for (const round of result.rounds) {
    t.truthy(round.skipped, `round ${round.round}`);
    t.regex(round.skipped!, /claims 9 participants, but the run has 5 clients/);
    t.deepEqual(round.failures.map((f) => f.clientId).sort(), ids);
    t.true(round.failures.every((f) => /refused SecAgg\+ at collect-masked-input: .*claims 9 participants/.test(f.reason)), JSON.stringify(round.failures));
  }
});

test('n is checked against what the client sees, not only the run size: a claimed 4 of 5 participants (a larger share each, still a lie) is refused too', async (t) => {
  const { result } = await forgedRun(SECAGG.setup, (setup: any) => ({ ...setup, config: { ...setup.config, sampleSize: 4 } }));
  for (const round of result.rounds) {
    t.truthy(round.skipped);
    t.regex(round.skipped!, /claims 4 participants, for which this client's SecAgg\+ settings give neighbourhoods of 4, but its config says 5 and this client's neighbourhood has 5 member/);
  }
});
