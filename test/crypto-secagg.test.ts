import test from 'ava';
import fc from 'fast-check';
import { createStream } from '../src/runtime/rng.js';
import {
  agree,
  deriveKey,
  generateKeyPair,
  publicKeyOf,
  LABEL_ENCRYPTION,
  LABEL_MASK_SEED,
} from '../src/fl/secure/crypto/keys.js';
import { AEAD_OVERHEAD, DecryptionError, open, seal } from '../src/fl/secure/crypto/aead.js';
import { FlConfigError, MalformedMessageError, errorKindOf } from '../src/fl/errors.js';
import { expandMask } from '../src/fl/secure/crypto/prg.js';
import {
  combine,
  interpolateAtZero,
  shareFromBytes,
  shareToBytes,
  split,
  ShamirError,
  SHAMIR_PRIME,
} from '../src/fl/secure/crypto/shamir.js';
import {
  addMod,
  addModInPlace,
  dequantize,
  maxClientsForModulus,
  quantizationStep,
  quantize,
  subMod,
  subModInPlace,
} from '../src/fl/secure/crypto/quantize.js';

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------- keys

test('same seed gives the same key pairs; another seed does not', (t) => {
  const a = generateKeyPair(createStream(42, 'client/1/keys'));
  const b = generateKeyPair(createStream(42, 'client/1/keys'));
  const c = generateKeyPair(createStream(43, 'client/1/keys'));
  t.is(hex(a.secretKey), hex(b.secretKey));
  t.is(hex(a.publicKey), hex(b.publicKey));
  t.not(hex(a.publicKey), hex(c.publicKey));
  t.is(a.publicKey.length, 32);
  t.is(hex(publicKeyOf(a.secretKey)), hex(a.publicKey));
});

test('key agreement is symmetric (property)', (t) => {
  fc.assert(
    fc.property(fc.integer(), fc.integer(), (s1, s2) => {
      const a = generateKeyPair(createStream(s1, 'a'));
      const b = generateKeyPair(createStream(s2, 'b'));
      return hex(agree(a.secretKey, b.publicKey)) === hex(agree(b.secretKey, a.publicKey));
    }),
    { numRuns: 50 },
  );
  t.pass();
});

test('deriveKey separates labels and is deterministic', (t) => {
  const a = generateKeyPair(createStream(1, 'a'));
  const b = generateKeyPair(createStream(1, 'b'));
  const shared = agree(a.secretKey, b.publicKey);
  const encKey = deriveKey(shared, LABEL_ENCRYPTION);
  const maskSeed = deriveKey(shared, LABEL_MASK_SEED);
  t.is(encKey.length, 32);
  t.not(hex(encKey), hex(maskSeed));
  t.not(hex(encKey), hex(shared));
  t.is(hex(deriveKey(shared, LABEL_ENCRYPTION)), hex(encKey));
  t.is(deriveKey(shared, 'x', 64).length, 64);
  t.throws(() => deriveKey(shared, ''), { instanceOf: FlConfigError });
  t.throws(() => agree(a.secretKey.subarray(1), b.publicKey), { instanceOf: FlConfigError, message: /secret key must be a Uint8Array of 32 bytes, got 31/ });
  // Low-order points (here u = 0) are rejected rather than giving an all-zero secret.
  // A low-order key can only come from a peer: the message is refused, not the caller's arguments.
  t.throws(() => agree(a.secretKey, new Uint8Array(32)), { instanceOf: MalformedMessageError, message: /low-order point/ });
});

// ---------------------------------------------------------------- AEAD

test('AEAD round-trips and is deterministic per stream (property)', (t) => {
  const key = deriveKey(new Uint8Array(32).fill(9), LABEL_ENCRYPTION);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), fc.integer(), (pt, ad, seed) => {
      const sealed = seal(key, pt, ad, createStream(seed, 'nonce'));
      const again = seal(key, pt, ad, createStream(seed, 'nonce'));
      return sealed.length === pt.length + AEAD_OVERHEAD && hex(sealed) === hex(again) && hex(open(key, sealed, ad)) === hex(pt);
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('AEAD detects tampering, wrong keys, wrong associated data and truncation', (t) => {
  const rng = createStream(5, 'aead');
  const key = rng.bytes(32);
  const other = rng.bytes(32);
  const ad = enc.encode('round=3 from=1 to=2');
  const sealed = seal(key, enc.encode('share of b_1 and s_1'), ad, rng);
  for (let i = 0; i < sealed.length; i++) {
    const bad = sealed.slice();
    bad[i] ^= 1 << i % 8;
    t.throws(() => open(key, bad, ad), { instanceOf: DecryptionError }, `flipped byte ${i}`);
  }
  t.throws(() => open(other, sealed, ad), { instanceOf: DecryptionError, message: /authentication failed/ });
  t.throws(() => open(key, sealed, enc.encode('round=3 from=1 to=3')), { instanceOf: DecryptionError });
  t.throws(() => open(key, sealed.subarray(0, 39), ad), { instanceOf: DecryptionError, message: /too short/ });
  // A wrong-length key is the caller's mistake, not tampering: a config error, never a DecryptionError.
  const wrongKey = t.throws(() => open(key.subarray(1), sealed, ad), { instanceOf: FlConfigError });
  t.false(wrongKey instanceof DecryptionError);
  t.is(errorKindOf(wrongKey), 'refusal');
  // Two seals from the same stream use fresh nonces.
  const s2 = seal(key, enc.encode('share of b_1 and s_1'), ad, rng);
  t.not(hex(s2), hex(sealed));
});

// ---------------------------------------------------------------- PRG

test('PRG matches the RFC 8439 ChaCha20 keystream (zero key, zero nonce)', (t) => {
  // First keystream words of RFC 8439 A.1 test vector #1, read little-endian.
  const m = expandMask(new Uint8Array(32), 4, 2 ** 32);
  t.deepEqual([...m], [0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653]);
});

test('PRG is deterministic, prefix-stable, in range and seed-dependent', (t) => {
  const seedA = createStream(1, 'seed').bytes(32);
  const seedB = createStream(2, 'seed').bytes(32);
  for (const m of [2, 7, 1000, 1_000_003, 2 ** 16, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32]) {
    const a = expandMask(seedA, 20_000, m);
    t.deepEqual(a, expandMask(seedA, 20_000, m));
    t.deepEqual(a.subarray(0, 137), expandMask(seedA, 137, m), `prefix m=${m}`);
    t.true(a.every((v) => v < m), `range m=${m}`);
    const b = expandMask(seedB, 20_000, m);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    t.true(same / 20_000 < 1 / m + 0.05, `seeds differ m=${m}`);
  }
  t.is(expandMask(seedA, 0, 10).length, 0);
  t.throws(() => expandMask(seedA.subarray(1), 10, 10), { instanceOf: FlConfigError, message: /seed must be/ });
  t.throws(() => expandMask(seedA, 10, 2 ** 32 + 1), { instanceOf: FlConfigError, message: /modulus must be/ });
  t.throws(() => expandMask(seedA, 10, 1), { instanceOf: FlConfigError, message: /modulus must be/ });
});

test('PRG output is uniform (chi-square over buckets)', (t) => {
  const seed = createStream(3, 'chi').bytes(32);
  const n = 200_000;
  const buckets = 100;
  // Moduli with no rejection, heavy rejection (~50%) and a value-per-bucket case.
  for (const m of [2 ** 32, 1_000_003, 2 ** 31 + 1, 100]) {
    const counts = new Array(buckets).fill(0);
    for (const v of expandMask(seed, n, m)) counts[Math.floor((v * buckets) / m)]++;
    const expected = n / buckets;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // df = 99: mean 99, sd ≈ 14; 200 is far in the tail (p < 1e-8).
    t.true(chi2 < 200, `m=${m} chi2=${chi2.toFixed(1)}`);
  }
});

// How fast expandMask is belongs to `npm run bench -- secagg`, not here: tests never assert wall-clock time.
test('PRG at model size (200k elements): in range, a pure function of the seed, different seeds differ', (t) => {
  const seed = new Uint8Array(32).fill(1);
  const other = new Uint8Array(32).fill(2);
  for (const m of [2 ** 32, 1_000_003]) {
    const mask = expandMask(seed, 200_000, m);
    t.is(mask.length, 200_000);
    t.true(Array.from(mask.subarray(0, 1000)).every((v) => Number(v) >= 0 && Number(v) < m));
    t.deepEqual(expandMask(seed, 200_000, m), mask);
    t.notDeepEqual(expandMask(other, 200_000, m).subarray(0, 64), mask.subarray(0, 64));
  }
});

// ---------------------------------------------------------------- Shamir

const subsetArb = fc
  .record({ n: fc.integer({ min: 2, max: 8 }), secret: fc.uint8Array({ maxLength: 80 }), seed: fc.integer(), pick: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }) })
  .chain((r) => fc.integer({ min: 2, max: r.n }).map((threshold) => ({ ...r, threshold })));

test('Shamir: any t of n shares reconstruct; t - 1 do not (property)', (t) => {
  fc.assert(
    fc.property(subsetArb, ({ n, threshold, secret, seed, pick }) => {
      const shares = split(secret, { shares: n, threshold }, createStream(seed, 'shamir'));
      // A pseudo-random subset of size t, in a shuffled order.
      const pool = [...shares];
      const chosen = pick.slice(0, threshold).map((k) => pool.splice(k % pool.length, 1)[0]);
      if (hex(combine(chosen, threshold)) !== hex(secret)) return false;
      const truth = interpolateAtZero(chosen);
      const fewer = interpolateAtZero(chosen.slice(0, threshold - 1));
      return fewer.every((v, i) => v !== truth[i]);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('Shamir: same seed, same shares; custom indices; byte round trip', (t) => {
  const secret = createStream(1, 'secret').bytes(32);
  const a = split(secret, { shares: 5, threshold: 3 }, createStream(9, 's'));
  const b = split(secret, { shares: 5, threshold: 3 }, createStream(9, 's'));
  t.deepEqual(a, b);
  t.deepEqual(a.map((s) => s.x), [1, 2, 3, 4, 5]);
  t.is(a[0].y.length, 2); // 32 bytes = two 31-byte chunks
  const custom = split(secret, { shares: 3, threshold: 2, xs: [17, 4, 1000] }, createStream(9, 's'));
  t.deepEqual(custom.map((s) => s.x), [17, 4, 1000]);
  t.is(hex(combine([custom[2], custom[0]], 2)), hex(secret));
  for (const s of a) {
    const bytes = shareToBytes(s);
    t.is(bytes.length, 8 + 32 * 2);
    t.deepEqual(shareFromBytes(bytes), s);
  }
  t.is(hex(combine(a.slice(2).map((s) => shareFromBytes(shareToBytes(s))), 3)), hex(secret));
  // Leading zeros and the empty secret survive.
  for (const s of [new Uint8Array(0), new Uint8Array([0, 0, 1]), new Uint8Array(31), new Uint8Array(62).fill(255)]) {
    t.is(hex(combine(split(s, { shares: 3, threshold: 2 }, createStream(0, 'z')).slice(1), 2)), hex(s));
  }
});

test('Shamir: clear errors', (t) => {
  const rng = createStream(0, 'err');
  const secret = new Uint8Array([1, 2, 3]);
  t.throws(() => split(secret, { shares: 3, threshold: 1 }, rng), { instanceOf: ShamirError, message: /threshold must be an integer ≥ 2/ });
  t.throws(() => split(secret, { shares: 3, threshold: 4 }, rng), { instanceOf: ShamirError, message: /exceeds the number of shares/ });
  t.throws(() => split(secret, { shares: 3, threshold: 2, xs: [1, 2, 2] }, rng), { instanceOf: ShamirError, message: /duplicate/ });
  t.throws(() => split(secret, { shares: 2, threshold: 2, xs: [0, 1] }, rng), { instanceOf: ShamirError, message: /x must be/ });
  const shares = split(secret, { shares: 4, threshold: 3 }, rng);
  t.throws(() => combine(shares.slice(0, 2), 3), { instanceOf: ShamirError, message: /2 share\(s\) given, the threshold is 3/ });
  t.throws(() => combine([shares[0], shares[1], shares[1]], 3), { instanceOf: ShamirError, message: /duplicate share index x = 2/ });
  t.throws(() => combine(shares, 1), { instanceOf: ShamirError, message: /threshold/ });
  t.throws(() => shareFromBytes(shareToBytes(shares[0]).subarray(0, 20)), { instanceOf: ShamirError });
  // Shamir has no integrity: a corrupted share gives a wrong secret, or, when the damage
  // breaks the chunk encoding (almost always for random corruption), an error.
  const nudged = { x: shares[0].x, y: [(shares[0].y[0] + 1n) % SHAMIR_PRIME] };
  t.notDeepEqual(combine([nudged, shares[1], shares[2]], 3), secret);
  const bad = { x: shares[0].x, y: [(shares[0].y[0] + (1n << 200n)) % SHAMIR_PRIME] };
  t.throws(() => combine([bad, shares[1], shares[2]], 3), { instanceOf: ShamirError, message: /not a valid secret encoding/ });
});

test('Shamir: a single share is uniform-looking, uncorrelated with the secret', (t) => {
  // Two very different secrets; the first share's low byte should be uniform in both cases.
  const trials = 4000;
  for (const fillByte of [0, 255]) {
    const secret = new Uint8Array(31).fill(fillByte);
    const counts = new Array(16).fill(0);
    const rng = createStream(fillByte, 'uniform-shamir');
    for (let i = 0; i < trials; i++) counts[Number(split(secret, { shares: 3, threshold: 2 }, rng)[0].y[0] & 15n)]++;
    const expected = trials / 16;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    t.true(chi2 < 50, `fill ${fillByte}: chi2 ${chi2.toFixed(1)} (df 15)`);
  }
});

// ---------------------------------------------------------------- quantisation

test('quantize/dequantize error < step for every element (property)', (t) => {
  fc.assert(
    fc.property(
      fc.float32Array({ noNaN: true, maxLength: 64 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      fc.integer(),
      (values, c, T, seed) => {
        const q = quantize(values, c, T, createStream(seed, 'q'));
        const back = dequantize(q, c, T);
        const step = quantizationStep(c, T);
        return values.every((x, i) => {
          const clipped = Math.min(c, Math.max(-c, x));
          return q[i] <= T && Math.abs(back[i] - clipped) < step + 1e-12 * c;
        });
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('quantize is deterministic per stream and unbiased', (t) => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.8);
  const a = quantize(values, 1, 2 ** 8, createStream(1, 'q'));
  t.deepEqual(a, quantize(values, 1, 2 ** 8, createStream(1, 'q')));
  // Mean of many stochastic roundings of one value converges to the value.
  const x = Float32Array.from({ length: 20000 }, () => 0.123456);
  const mean = dequantize(quantize(x, 1, 16, createStream(2, 'q')), 1, 16).reduce((s, v) => s + v, 0) / x.length;
  const step = quantizationStep(1, 16);
  t.true(Math.abs(mean - Math.fround(0.123456)) < 4 * (step / 2) / Math.sqrt(x.length), `mean ${mean}`);
  t.throws(() => quantize(Float32Array.of(NaN), 1, 16, createStream(0, 'q')), { instanceOf: FlConfigError, message: /value 0 is NaN/ });
  t.throws(() => quantize(values, 0, 16, createStream(0, 'q')), { instanceOf: FlConfigError, message: /clippingRange/ });
  t.throws(() => quantize(values, 1, 2 ** 32, createStream(0, 'q')), { instanceOf: FlConfigError, message: /targetRange/ });
});

test('sum of k quantized vectors dequantizes to the sum within k × step (property)', (t) => {
  const M = 2 ** 32;
  const T = 2 ** 22;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0.1, max: 10, noNaN: true }), fc.integer(), (k, c, seed) => {
      const rng = createStream(seed, 'sum');
      const len = 32;
      const xs = Array.from({ length: k }, () => Float32Array.from({ length: len }, () => rng.uniform(-1.5 * c, 1.5 * c)));
      const acc = new Uint32Array(len);
      for (const x of xs) addModInPlace(acc, quantize(x, c, T, rng), M);
      const got = dequantize(acc, c, T, k);
      const step = quantizationStep(c, T);
      for (let i = 0; i < len; i++) {
        const want = xs.reduce((s, x) => s + Math.min(c, Math.max(-c, x[i])), 0);
        if (!(Math.abs(got[i] - want) < k * step + 1e-9 * k * c)) return false;
      }
      return true;
    }),
    { numRuns: 100 },
  );
  t.is(maxClientsForModulus(T, M), 1023);
  t.pass();
});

test('modular vector ops', (t) => {
  const m = 1000;
  const a = Uint32Array.of(0, 999, 500, 1);
  const b = Uint32Array.of(999, 999, 500, 2);
  t.deepEqual([...addMod(a, b, m)], [999, 998, 0, 3]);
  t.deepEqual([...subMod(a, b, m)], [1, 0, 0, 999]);
  t.deepEqual([...subMod(addMod(a, b, m), b, m)], [...a]);
  const big = Uint32Array.of(2 ** 32 - 1, 5);
  t.deepEqual([...addMod(big, Uint32Array.of(2, 2 ** 32 - 1), 2 ** 32)], [1, 4]);
  t.deepEqual([...subMod(Uint32Array.of(0, 5), Uint32Array.of(1, 7), 2 ** 32)], [2 ** 32 - 1, 2 ** 32 - 2]);
  const acc = Uint32Array.of(1, 2);
  t.is(subModInPlace(acc, Uint32Array.of(2, 2), 7), acc);
  t.deepEqual([...acc], [6, 0]);
  t.throws(() => addMod(a, Uint32Array.of(1), m), { instanceOf: FlConfigError, message: /vector lengths differ/ });
});

// ---------------------------------------------------------------- putting it together

test('pairwise masks cancel: Σ (x_i + Σ_{j>i} m_ij − Σ_{j<i} m_ji) = Σ x_i mod m', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.constantFrom(2 ** 32, 2 ** 24, 1_000_003), fc.integer(), (k, M, seed) => {
      const len = 500;
      const keys = Array.from({ length: k }, (_, i) => generateKeyPair(createStream(seed, `client/${i}/s-key`)));
      const xs = Array.from({ length: k }, (_, i) => expandMask(createStream(seed, `client/${i}/x`).bytes(32), len, M));
      const seedFor = (i: number, j: number) => deriveKey(agree(keys[i].secretKey, keys[j].publicKey), LABEL_MASK_SEED);
      const total = new Uint32Array(len);
      const plain = new Uint32Array(len);
      for (let i = 0; i < k; i++) {
        const y = Uint32Array.from(xs[i]);
        for (let j = 0; j < k; j++) {
          if (j > i) addModInPlace(y, expandMask(seedFor(i, j), len, M), M);
          // m_ji as client i computes it: agreement is symmetric, so it equals client j's seed.
          if (j < i) subModInPlace(y, expandMask(seedFor(i, j), len, M), M);
        }
        addModInPlace(total, y, M);
        addModInPlace(plain, xs[i], M);
      }
      return hex(new Uint8Array(total.buffer)) === hex(new Uint8Array(plain.buffer));
    }),
    { numRuns: 30 },
  );
  t.pass();
});

test('SecAgg round trip: quantise, double-mask, Shamir-share the self-mask seed under AEAD, unmask', (t) => {
  const seed = 'secagg-e2e';
  const k = 5;
  const threshold = 3;
  const c = 1;
  const T = 2 ** 20;
  const M = 2 ** 32;
  const len = 1000;
  const clients = Array.from({ length: k }, (_, i) => {
    const rng = createStream(seed, `client/${i}`);
    return { rng, cKey: generateKeyPair(rng), sKey: generateKeyPair(rng), b: rng.bytes(32), x: Float32Array.from({ length: len }, () => rng.uniform(-1, 1)) };
  });
  // Round 2: each client shares its self-mask seed b_i, encrypting share j for client j.
  const mailbox: { from: number; to: number; sealed: Uint8Array }[] = [];
  clients.forEach((me, i) => {
    const shares = split(me.b, { shares: k, threshold }, me.rng);
    shares.forEach((share, j) => {
      const key = deriveKey(agree(me.cKey.secretKey, clients[j].cKey.publicKey), LABEL_ENCRYPTION);
      mailbox.push({ from: i, to: j, sealed: seal(key, shareToBytes(share), enc.encode(`${i}->${j}`), me.rng) });
    });
  });
  // Round 3: masked inputs y_i = q_i + PRG(b_i) + Σ_{j>i} PRG(s_ij) − Σ_{j<i} PRG(s_ij).
  const sum = new Uint32Array(len);
  clients.forEach((me, i) => {
    const y = quantize(me.x, c, T, me.rng);
    addModInPlace(y, expandMask(me.b, len, M), M);
    for (let j = 0; j < k; j++) {
      if (j === i) continue;
      const mask = expandMask(deriveKey(agree(me.sKey.secretKey, clients[j].sKey.publicKey), LABEL_MASK_SEED), len, M);
      if (j > i) addModInPlace(y, mask, M);
      else subModInPlace(y, mask, M);
    }
    addModInPlace(sum, y, M);
  });
  // Round 4: clients 0..2 decrypt the shares they hold; the server rebuilds each b_i and removes PRG(b_i).
  for (let i = 0; i < k; i++) {
    const held = [0, 1, 2].map((j) => {
      const msg = mailbox.find((m) => m.from === i && m.to === j)!;
      const key = deriveKey(agree(clients[j].cKey.secretKey, clients[i].cKey.publicKey), LABEL_ENCRYPTION);
      return shareFromBytes(open(key, msg.sealed, enc.encode(`${i}->${j}`)));
    });
    subModInPlace(sum, expandMask(combine(held, threshold), len, M), M);
  }
  const got = dequantize(sum, c, T, k);
  const step = quantizationStep(c, T);
  for (let e = 0; e < len; e++) {
    const want = clients.reduce((s, cl) => s + cl.x[e], 0);
    if (Math.abs(got[e] - want) >= k * step) t.fail(`element ${e}: ${got[e]} vs ${want}`);
  }
  t.pass();
});
