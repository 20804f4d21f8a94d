/**
 * Altered and forged shares are caught by the AEAD and reported.
 *
 * 1. A network attacker flips one bit of one ciphertext the server forwards: the recipient's
 *    `open` fails, it refuses the round (an `error` event in the log, an error reply to the
 *    server), the server lists the failure and finishes with the other clients — exactly.
 * 2. Mallory, a participant that forges its shares (random bytes, not sealed under the agreed
 *    key), makes every honest neighbour refuse; the round aborts and the reason names her.
 */
import test from 'ava';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, type RemoteError, SimulationCore } from '../src/runtime/index.js';
import { SECAGG, SecAggAbortedError, roundQuantizationStep, runSecAggPlus, secAggClientMachine, secAggServerMachine } from '../src/fl/secure/secagg/index.js';
import { SERVER, makeUpdates, maxAbsDiff, plainSum, quantizedInput, sumMod } from './helpers/secagg.js';

test('one flipped bit in a forwarded share is detected by AEAD; the round completes without that client', async (t) => {
  const updates = makeUpdates(5, 30, 'tamper');
  const seed = 3;
  const sim = new SimulationCore({ seed });
  let tampered = 0;
  // The attacker sits on the bus: it rewrites the collect message to c2 before delivery.
  sim.bus$.subscribe((envelope: Envelope) => {
    if (envelope.type !== SECAGG.collect || envelope.to !== 'c2') return;
    const payload = envelope.payload as { round: number; shares: Array<{ from: string; ciphertext: Uint8Array }> };
    const shares = payload.shares.map((s, i) => {
      if (i !== 0) return s;
      const ciphertext = Uint8Array.from(s.ciphertext);
      ciphertext[40] ^= 0x01;
      return { ...s, ciphertext };
    });
    (envelope as { payload: unknown }).payload = { ...payload, shares };
    tampered++;
  });
  const result = await runSecAggPlus(sim, { clients: updates, params: { numShares: 5, reconstructionThreshold: 3 } });
  t.is(tampered, 1);

  const errors = sim.log.events.filter((e) => e.ev === 'error');
  t.is(errors.length, 1);
  t.like(errors[0], { actor: 'c2', error: 'SecAggProtocolError' });
  t.regex((errors[0] as { message: string }).message, /share from 'c0' failed authentication/);

  t.deepEqual(result.failures.map((f) => [f.client, f.stage]), [['c2', 'collect-masked-input']]);
  t.regex(result.failures[0].error, /SecAggProtocolError: .*failed authentication/);
  const survivors = ['c0', 'c1', 'c3', 'c4'];
  t.deepEqual(result.survivors, survivors);
  const quantized = survivors.map((id) => quantizedInput(seed, id, updates[id], result.config));
  t.deepEqual([...result.quantizedSum], [...sumMod(quantized, result.config.modulusRange)]);
  t.true(maxAbsDiff(result.sum, plainSum(updates, survivors)) <= 4 * roundQuantizationStep(result.config) + 1e-5);
});

/** A participant that speaks the protocol but forges every share it sends. */
const mallory = fromTransition(
  (state: { io: ActorIO }, event: ActorMessage) => {
    const { io } = state;
    const rng = io.rng('forgery');
    if (event.type === SECAGG.setup) {
      io.send(event.envelope.from, SECAGG.publicKeys, { round: event.payload.round, encryption: rng.bytes(32), masking: rng.bytes(32), signing: rng.bytes(32) });
    } else if (event.type === SECAGG.shareKeys) {
      const shares = (event.payload.keys as Array<{ id: string }>)
        .filter((k) => k.id !== io.id)
        .map((k) => ({ to: k.id, ciphertext: rng.bytes(24 + 4 + 2 * 40 + 16) }));
      io.send(event.envelope.from, SECAGG.shares, { round: event.payload.round, shares });
    }
    return state; // and then goes silent
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io }),
);

test('forged shares from a malicious participant make honest clients refuse; the round aborts naming her', async (t) => {
  const updates = makeUpdates(4, 10, 'forgery');
  const sim = new SimulationCore({ seed: 1 });
  sim.spawn(secAggServerMachine, SERVER, { input: { params: { numShares: 5, reconstructionThreshold: 3, timeout: 1_000 } } });
  for (const [id, update] of Object.entries(updates)) sim.spawn(secAggClientMachine, id, { input: { update } });
  sim.spawn(mallory, 'mallory');
  const participants = [...Object.keys(updates), 'mallory'];
  const answer = await sim.request<Envelope>(SERVER, SECAGG.start, { round: 0, participants }, { unwrap: (e) => e });
  t.is(answer.type, SECAGG.aborted);
  const aborted = answer.payload as SecAggAbortedError['details'] & { reason: string };
  t.is(aborted.stage, 'collect-masked-input');
  t.deepEqual(aborted.survivors, []);
  t.deepEqual(aborted.failures.map((f) => f.client), Object.keys(updates));
  t.true(aborted.failures.every((f) => /share from 'mallory' failed authentication/.test(f.error)));
  t.regex(aborted.reason, /only 0 of 5 participants answered .* threshold 3/);
  t.regex(aborted.reason, /Client failures: c0 at collect-masked-input: SecAggProtocolError/);
  t.is(sim.log.events.filter((e) => e.ev === 'error').length, 4);
});

test('a stage message from anyone but the round\'s server is refused', async (t) => {
  const sim = new SimulationCore({ seed: 2 });
  sim.spawn(secAggClientMachine, 'c0', { input: { update: new Float32Array(3) } });
  // Mallory is not the round's server: on 'go' she sends c0 the next stage message herself.
  const mallory = fromTransition(
    (state: { io: ActorIO }, event: ActorMessage) => {
      if (event.type === 'go') state.io.send('c0', SECAGG.shareKeys, { round: 1, publicKeys: [] });
      return state;
    },
    ({ input }: { input: { io: ActorIO } }) => ({ io: input.io }),
  );
  sim.spawn(mallory, 'mallory');
  // The driver ('me') opens round 1 as its server; c0 answers with its public keys and waits for share-keys.
  const config = { round: 1, sampleSize: 2, numShares: 2, threshold: 2, clippingRange: 8, quantizationRange: 4194304, modulusRange: 2 ** 32, timeout: 30_000 };
  sim.send('c0', SECAGG.setup, { round: 1, config, neighbours: ['c0', 'c1'] });
  await sim.settle();
  t.is(sim.actor('c0').snapshot().value, 'sentPublicKeys');
  sim.send('mallory', 'go', null);
  await sim.settle();
  const errors = sim.log.events.filter((e) => e.ev === 'error');
  t.is(errors.length, 1);
  t.like(errors[0], { actor: 'c0', error: 'SecAggProtocolError' });
  t.regex((errors[0] as { message: string }).message, /round 1: got 'secagg\/share-keys' from 'mallory', but this round's server is 'me'/);
  const refusal = sim.log.events.find((e) => e.ev === 'delivered' && e.to === 'mallory' && e.type === 'error');
  t.truthy(refusal, 'mallory got an error reply');
  t.like((refusal as { envelope: Envelope }).envelope.payload, { name: 'SecAggProtocolError', where: { actor: 'c0', round: 1, stage: 'share-keys', from: 'mallory' } });
  t.is(sim.actor('c0').snapshot().value, 'sentPublicKeys', 'c0 still waits for its server');
});

test('a stage message before any setup is refused, and the refusal names its stage', async (t) => {
  const sim = new SimulationCore({ seed: 2 });
  sim.spawn(secAggClientMachine, 'c0', { input: { update: new Float32Array(3) } });
  const error = await t.throwsAsync(sim.request('c0', SECAGG.collect, { round: 0, shares: [] }));
  t.regex(error!.message, new RegExp(`got '${SECAGG.collect}' out of order \\(no round is open\\)`));
  t.like((error as RemoteError).where, { actor: 'c0', round: null, stage: 'collect-masked-input' });
});
