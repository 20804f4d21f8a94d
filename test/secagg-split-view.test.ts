/**
 * Issue #12, item 3: the split-view attack on SecAgg+. A malicious server shows different
 * dropout sets to different clients: to half of the target's neighbours it says the target
 * dropped (they reveal shares of its masking key), to the other half that it survived (they
 * reveal shares of its self-mask seed). With t shares of both it removes every mask from the
 * target's masked input and reads its update.
 *
 * Here the test script is the server: it speaks the protocol to real clients (it is the
 * actor that sent them setup), lies as it likes, collects what they reveal, and then tries to
 * unmask the target. Two defences stop it: the consistency check (clients sign the survivor
 * set and unmask only for the set they signed, with t neighbour signatures on it) and the
 * threshold rule (t > k/2, so two groups of t signers cannot exist in one neighbourhood). The
 * last test shows what the rule protects against: with t ≤ k/2, explicitly declared unsafe,
 * a consistent split view does recover the target's update exactly.
 */
import test from 'ava';
import { combine, shareFromBytes } from '../src/fl/secure/crypto/shamir.js';
import { SimulationCore, type SimulationOptions } from '../src/runtime/index.js';
import {
  type RoundConfig,
  runSecAggPlus,
  SECAGG,
  SecAggConfigError,
  secAggClientMachine,
} from '../src/fl/secure/secagg/index.js';
import { applyMask, pairwiseSeed, pairwiseSign } from '../src/fl/secure/secagg/masking.js';
import { signSurvivors, signingKeysFrom } from '../src/fl/secure/secagg/consistency.js';
import { clientIds, makeUpdates, quantizedInput } from './helpers/secagg.js';

const N = 6;
const IDS = clientIds(N);
const TARGET = IDS[0];
const SEED = 11;
/** The target's half of the neighbourhood (told it survived) and the other half (told it dropped). */
const GROUP_A = IDS.slice(0, N / 2);
const GROUP_B = IDS.slice(N / 2);

interface Lies {
  /** The survivor set shown to `client` in the consistency check. */
  consistency(client: string, survivors: string[]): string[];
  /** Whether `client` is told, at unmask, that the target dropped (its set then excludes the target). */
  toldDropped(client: string): boolean;
  /** Signatures relayed to `client` at unmask, from those collected (id → signature on the set they saw). */
  signatures?(client: string, collected: Map<string, Uint8Array>): Array<{ id: string; signature: Uint8Array }>;
}

interface Loot {
  seedShares: Uint8Array[];
  keyShares: Uint8Array[];
  refusals: Map<string, string>;
  recovered: Uint32Array | null;
  expected: Uint32Array;
}

/** One round with the script as a lying server; returns what the clients revealed and whether the target's update came out. */
async function attack(threshold: number, lies: Lies, options: SimulationOptions = {}): Promise<Loot> {
  const sim = new SimulationCore({ seed: SEED, ...options });
  const updates = makeUpdates(N, 8, 'split-view');
  for (const id of IDS) sim.spawn(secAggClientMachine, id, { input: { update: updates[id] } });
  const inbox: Array<{ from: string; type: string; payload: any }> = [];
  sim.delivered$.subscribe((e) => {
    if (e.to === sim.driver.id) inbox.push({ from: e.from, type: e.type, payload: e.envelope.payload });
  });
  const refusals = new Map<string, string>();
  /** Sends one stage message per client and collects their answers (and refusals). */
  const stage = async (type: string, payloadFor: (client: string) => unknown, answer: string) => {
    inbox.length = 0;
    for (const id of IDS) if (!refusals.has(id)) sim.send(id, type, payloadFor(id));
    await sim.settle();
    const answers = new Map<string, any>();
    for (const m of inbox) {
      if (m.type === answer) answers.set(m.from, m.payload);
      else if (m.type === 'error') refusals.set(m.from, m.payload.message);
    }
    return answers;
  };
  const config: RoundConfig = { round: 0, sampleSize: N, numShares: N, threshold, clippingRange: 8, quantizationRange: 4194304, modulusRange: 2 ** 32, timeout: 1000, ...(2 * threshold <= N ? { unsafeThreshold: true as const } : {}) };
  const keys = await stage(SECAGG.setup, () => ({ round: 0, config, neighbours: IDS }), SECAGG.publicKeys);
  const keyList = IDS.filter((id) => keys.has(id)).map((id) => ({ id, encryption: keys.get(id).encryption, masking: keys.get(id).masking, signing: keys.get(id).signing }));
  const shares = await stage(SECAGG.shareKeys, () => ({ round: 0, keys: keyList }), SECAGG.shares);
  const forwarded = (to: string) => [...shares].flatMap(([from, p]) => p.shares.filter((s: { to: string }) => s.to === to).map((s: { ciphertext: Uint8Array }) => ({ from, ciphertext: s.ciphertext })));
  const masked = await stage(SECAGG.collect, (id) => ({ round: 0, shares: forwarded(id) }), SECAGG.maskedInput);
  const honestSet = IDS.filter((id) => masked.has(id));
  const shown = new Map(IDS.map((id) => [id, lies.consistency(id, honestSet)]));
  const signatures = await stage(SECAGG.consistency, (id) => ({ round: 0, survivors: shown.get(id) }), SECAGG.signature);
  const collected = new Map([...signatures].map(([id, p]) => [id, p.signature as Uint8Array]));
  const unmasked = await stage(
    SECAGG.unmask,
    (id) => {
      const dropped = lies.toldDropped(id);
      const survivors = dropped ? honestSet.filter((s) => s !== TARGET) : honestSet;
      const relayed = lies.signatures ? lies.signatures(id, collected) : [...collected].filter(([from]) => from !== id).map(([from, signature]) => ({ id: from, signature }));
      return { round: 0, active: survivors, dropped: dropped ? [TARGET] : [], survivors: shown.get(id), signatures: relayed };
    },
    SECAGG.unmaskShares,
  );
  const seedShares = [...unmasked.values()].flatMap((p) => p.seedShares.filter((s: { owner: string }) => s.owner === TARGET).map((s: { share: Uint8Array }) => s.share));
  const keyShares = [...unmasked.values()].flatMap((p) => p.keyShares.filter((s: { owner: string }) => s.owner === TARGET).map((s: { share: Uint8Array }) => s.share));
  // The attacker's last step: with t shares of both secrets, strip every mask off the target's input.
  let recovered: Uint32Array | null = null;
  if (seedShares.length >= threshold && keyShares.length >= threshold) {
    const rebuild = (list: Uint8Array[]) => combine(list.map(shareFromBytes).sort((a, b) => a.x - b.x), threshold);
    const selfSeed = rebuild(seedShares);
    const maskingKey = rebuild(keyShares);
    recovered = Uint32Array.from(masked.get(TARGET).masked as Uint32Array);
    applyMask(recovered, selfSeed, -1, config.modulusRange);
    for (const peer of IDS.filter((id) => id !== TARGET)) applyMask(recovered, pairwiseSeed(maskingKey, keys.get(peer).masking), (-pairwiseSign(TARGET, peer)) as 1 | -1, config.modulusRange);
  }
  return { seedShares, keyShares, refusals, recovered, expected: quantizedInput(SEED, TARGET, updates[TARGET], config) };
}

const UNSAFE: SimulationOptions = { policies: { unsafe: ['secagg-threshold'] } };
const inA = (client: string) => GROUP_A.includes(client);

test('lying at unmask only (the target "dropped" for half its neighbours): they see the set they signed contradicted and reveal nothing — even with t ≤ k/2', async (t) => {
  const loot = await attack(3, { consistency: (_c, honest) => honest, toldDropped: (c) => !inA(c) }, UNSAFE);
  t.is(loot.recovered, null, "the target's update stays masked");
  t.is(loot.keyShares.length, 0, 'no share of its masking key was revealed');
  t.is(loot.seedShares.length, GROUP_A.length);
  for (const id of GROUP_B) t.regex(loot.refusals.get(id) ?? '', /is not this client's neighbours in the signed survivor set|listed as dropped, but they are in the signed survivor set/);
});

test('a split view from the consistency check on, with t > k/2: neither half gathers t signatures on its set, nobody reveals anything', async (t) => {
  const lies: Lies = {
    consistency: (c, honest) => (inA(c) ? honest : honest.filter((id) => id !== TARGET)),
    toldDropped: (c) => !inA(c),
    // Each half is shown only the signatures on its own set (the others would not verify).
    signatures: (c, collected) => [...collected].filter(([from]) => from !== c && inA(from) === inA(c)).map(([id, signature]) => ({ id, signature })),
  };
  const loot = await attack(4, lies);
  t.is(loot.recovered, null);
  t.is(loot.seedShares.length + loot.keyShares.length, 0, 'nothing revealed');
  for (const id of IDS) t.regex(loot.refusals.get(id) ?? '', /only 3 of this client's neighbours \(itself included\) signed the survivor set, threshold 4/);
});

test('a signature forged or reused by the server is caught: it does not verify on the set the client signed', async (t) => {
  const forger = signingKeysFrom({ bytes: (n: number) => new Uint8Array(n).fill(9) } as never);
  const lies: Lies = {
    consistency: (c, honest) => (inA(c) ? honest : honest.filter((id) => id !== TARGET)),
    toldDropped: (c) => !inA(c),
    signatures: (c, collected) => {
      const own = [...collected].filter(([from]) => from !== c && inA(from) === inA(c)).map(([id, signature]) => ({ id, signature }));
      // For the B half: the target's "signature" on B's set, forged; and c1's real signature, but on the other set.
      const extra = inA(c) ? [] : [{ id: TARGET, signature: signSurvivors(forger, 0, ['x']) }, { id: IDS[1], signature: collected.get(IDS[1])! }];
      return [...extra, ...own];
    },
  };
  const loot = await attack(4, lies);
  t.is(loot.recovered, null);
  t.is(loot.keyShares.length, 0);
  for (const id of GROUP_B) t.regex(loot.refusals.get(id) ?? '', /got a signature from 'c0', which is not another neighbour in the signed survivor set|the signature of 'c1' on the survivor set does not verify/);
});

test('clients refuse a minority threshold at setup unless the run declared it unsafe', async (t) => {
  const loot = await attack(3, { consistency: (_c, honest) => honest, toldDropped: () => false });
  t.is(loot.refusals.size, N, 'every client refuses the round');
  for (const message of loot.refusals.values()) t.regex(message, /threshold 3 is not a majority of the neighbourhood of 6/);
});

test('refused by the parameters too: t ≤ k/2 needs unsafeThreshold and the run\'s declared policy, which the log header records', async (t) => {
  const clients = makeUpdates(N, 4);
  const error = await t.throwsAsync(runSecAggPlus(new SimulationCore(), { clients, params: { numShares: N, reconstructionThreshold: 3 } }), { instanceOf: SecAggConfigError });
  t.regex(error!.message, /reconstructionThreshold 3 is not a majority of the 6 shares each client makes .* Use reconstructionThreshold ≥ 4/);
  const undeclared = await t.throwsAsync(runSecAggPlus(new SimulationCore(), { clients, params: { numShares: N, reconstructionThreshold: 3, unsafeThreshold: true } }), { instanceOf: SecAggConfigError });
  t.regex(undeclared!.message, /the run did not declare the unsafe setting/);
  const sim = new SimulationCore(UNSAFE);
  const result = await runSecAggPlus(sim, { clients, params: { numShares: N, reconstructionThreshold: 3, unsafeThreshold: true } });
  t.is(result.config.unsafeThreshold, true);
  t.deepEqual(sim.log.header.policies, { unsafe: ['secagg-threshold'] });
  t.true(sim.log.toJSONL().split('\n')[0].includes('"unsafe":["secagg-threshold"]'));
});

test('what the threshold rule protects against: with t ≤ k/2 (declared unsafe) a consistent split view recovers the target\'s update exactly', async (t) => {
  const lies: Lies = {
    consistency: (c, honest) => (inA(c) ? honest : honest.filter((id) => id !== TARGET)),
    toldDropped: (c) => !inA(c),
    signatures: (c, collected) => [...collected].filter(([from]) => from !== c && inA(from) === inA(c)).map(([id, signature]) => ({ id, signature })),
  };
  const loot = await attack(3, lies, UNSAFE);
  t.is(loot.refusals.size, 0, 'each half sees a consistent story signed by 3 = t of its neighbours');
  t.deepEqual(loot.recovered && [...loot.recovered], [...loot.expected], 'the exact quantised update of the target');
});
