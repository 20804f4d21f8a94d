/**
 * The OpenSSL fast paths in secagg/native-crypto.ts compute exactly what the @noble
 * reference building blocks compute, so which path ran can never change a run.
 */
import test from 'ava';
import fc from 'fast-check';
import { createStream } from '../src/runtime/index.js';
import { agree, generateKeyPair } from '../src/fl/secure/crypto/keys.js';
import { expandMask } from '../src/fl/secure/crypto/prg.js';
import { keyPairFrom, maskVector, sharedSecret } from '../src/fl/secure/secagg/native-crypto.js';

const hex = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

test('maskVector equals expandMask for every modulus and length', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.constantFrom(2 ** 32, 2 ** 31, 2 ** 22, 2 ** 8, 2, 1_000_003, 3, 2 ** 32 - 5),
      (seed, length, modulus) => hex(maskVector(seed, length, modulus)) === hex(expandMask(seed, length, modulus)),
    ),
    { numRuns: 200 },
  );
  // Long vectors cross many 64-byte blocks and OpenSSL's internal buffering.
  const seed = createStream(1, 'mask').bytes(32);
  t.is(hex(maskVector(seed, 200_000, 2 ** 32)), hex(expandMask(seed, 200_000, 2 ** 32)));
  t.is(maskVector(seed, 0, 2 ** 32).length, 0);
});

test('sharedSecret and keyPairFrom equal agree and generateKeyPair', (t) => {
  fc.assert(
    fc.property(fc.integer(), fc.integer(), (s1, s2) => {
      const a = keyPairFrom(createStream(s1, 'a'));
      const b = generateKeyPair(createStream(s2, 'b'));
      const a2 = generateKeyPair(createStream(s1, 'a'));
      return hex(a.publicKey) === hex(a2.publicKey) && hex(a.secretKey) === hex(a2.secretKey) && hex(sharedSecret(a.secretKey, b.publicKey)) === hex(agree(a.secretKey, b.publicKey));
    }),
    { numRuns: 100 },
  );
  t.pass();
});

test('a low-order peer key is refused as the reference refuses it', (t) => {
  const a = keyPairFrom(createStream(1, 'a'));
  t.throws(() => sharedSecret(a.secretKey, new Uint8Array(32)));
  const one = new Uint8Array(32);
  one[0] = 1; // u = 1 is a low-order point too
  t.throws(() => sharedSecret(a.secretKey, one));
});
