/**
 * Shamir secret sharing (t-of-n) over the prime field GF(p), p = 2^255 - 19.
 *
 * Why this prime: it is a well-known Mersenne-like prime (the Curve25519 base field) and it
 * exceeds 2^249, so every 31-byte chunk — even with the length sentinel below — is a field
 * element; a 32-byte field encoding keeps share messages compact. (Any prime > 2^249 would
 * do; the security of the sharing is information-theoretic and does not depend on p's size
 * beyond fitting the secret.)
 *
 * Secrets are byte strings of any length (SecAgg shares 32-byte keys and seeds). They are cut
 * into 31-byte chunks; each chunk c is encoded as the integer `0x01 || c` (big-endian), so
 * the leading sentinel byte preserves the chunk's exact length, including leading zeros. The
 * empty secret is one chunk holding only the sentinel. Every chunk gets its own polynomial;
 * a share carries one y per chunk.
 *
 * SIMULATOR ONLY: polynomial coefficients are drawn from the caller's seeded `RandomStream`,
 * so shares are reproducible from the simulation seed and must never protect real secrets.
 */
import { Field } from '@noble/curves/abstract/modular.js';
import type { RandomStream } from '../../../runtime/rng.js';
import { FlRefusal } from '../../errors.js';

export const SHAMIR_PRIME = (1n << 255n) - 19n;
const Fp = Field(SHAMIR_PRIME);
const CHUNK_BYTES = 31;
const ELEMENT_BYTES = 32;
/** Largest participant index: x travels as a uint32 and must stay a non-zero field element. */
const MAX_X = 0xffffffff;

export interface Share {
  /** The evaluation point, a participant index ≥ 1 (x = 0 would be the secret itself). */
  readonly x: number;
  /** One field element per 31-byte chunk of the secret. */
  readonly y: bigint[];
}

export interface SplitOptions {
  /** n: number of shares. */
  shares: number;
  /** t: any t shares reconstruct; t - 1 reveal nothing. */
  threshold: number;
  /** Evaluation points (distinct integers ≥ 1); defaults to 1..n. */
  xs?: readonly number[];
}

/** Bad arguments, or shares that do not decode or combine (a refusal: nothing was changed). */
export class ShamirError extends FlRefusal {
  override name = 'ShamirError';
}

/** Splits `secret` into n shares, any `threshold` of which recover it. */
export function split(secret: Uint8Array, options: SplitOptions, rng: RandomStream): Share[] {
  const { shares: n, threshold: t } = options;
  checkThreshold(t, n);
  const xs = options.xs ? [...options.xs] : Array.from({ length: n }, (_, i) => i + 1);
  if (xs.length !== n) throw new ShamirError(`split: ${xs.length} evaluation points given for ${n} shares`);
  checkXs(xs);

  const chunks = secretToElements(secret);
  const ys: bigint[][] = xs.map(() => []);
  const coeffs: bigint[] = new Array(t);
  for (const chunk of chunks) {
    coeffs[0] = chunk;
    for (let k = 1; k < t; k++) coeffs[k] = randomElement(rng);
    xs.forEach((x, i) => ys[i].push(evaluate(coeffs, BigInt(x))));
  }
  return xs.map((x, i) => ({ x, y: ys[i] }));
}

/**
 * Recovers the secret from at least `threshold` shares (extra shares are ignored; the first
 * `threshold` are used). Shamir alone cannot detect a corrupted share: a wrong y gives a wrong
 * secret or a `ShamirError` about the encoding, never a silent partial result.
 */
export function combine(shares: readonly Share[], threshold: number): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 2) {
    throw new ShamirError(`combine: threshold must be an integer ≥ 2, got ${threshold}`);
  }
  if (shares.length < threshold) {
    throw new ShamirError(`combine: ${shares.length} share(s) given, the threshold is ${threshold}`);
  }
  checkXs(shares.map((s) => s.x));
  const used = shares.slice(0, threshold);
  const chunks = used[0].y.length;
  if (chunks === 0 || used.some((s) => s.y.length !== chunks)) {
    throw new ShamirError('combine: shares disagree on the number of chunks (they belong to different secrets)');
  }
  const weights = lagrangeWeightsAtZero(used.map((s) => BigInt(s.x)));
  const elements: bigint[] = [];
  for (let c = 0; c < chunks; c++) {
    let acc = Fp.ZERO;
    for (let i = 0; i < used.length; i++) acc = Fp.add(acc, Fp.mul(weights[i], Fp.create(used[i].y[c])));
    elements.push(acc);
  }
  return elementsToSecret(elements);
}

/**
 * The raw field values f(0) interpolated through the given points, one per chunk, with no
 * threshold check or decoding. Exposed for tests and diagnostics (e.g. to show that t - 1
 * shares interpolate to an unrelated value).
 */
export function interpolateAtZero(shares: readonly Share[]): bigint[] {
  checkXs(shares.map((s) => s.x));
  const weights = lagrangeWeightsAtZero(shares.map((s) => BigInt(s.x)));
  return shares[0].y.map((_, c) =>
    shares.reduce((acc, s, i) => Fp.add(acc, Fp.mul(weights[i], Fp.create(s.y[c]))), Fp.ZERO),
  );
}

/** Share wire format: x (uint32 BE) || chunk count (uint32 BE) || y_1..y_k (32 bytes BE each). */
export function shareToBytes(share: Share): Uint8Array {
  checkXs([share.x]);
  const out = new Uint8Array(8 + ELEMENT_BYTES * share.y.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, share.x);
  view.setUint32(4, share.y.length);
  share.y.forEach((y, i) => {
    if (y < 0n || y >= SHAMIR_PRIME) throw new ShamirError(`shareToBytes: y[${i}] is not a field element`);
    out.set(Fp.toBytes(y), 8 + ELEMENT_BYTES * i);
  });
  return out;
}

export function shareFromBytes(bytes: Uint8Array): Share {
  if (bytes.length < 8) throw new ShamirError(`shareFromBytes: ${bytes.length} bytes is too short for a share`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const x = view.getUint32(0);
  const k = view.getUint32(4);
  if (bytes.length !== 8 + ELEMENT_BYTES * k) {
    throw new ShamirError(`shareFromBytes: expected ${8 + ELEMENT_BYTES * k} bytes for ${k} chunk(s), got ${bytes.length}`);
  }
  checkXs([x]);
  const y: bigint[] = [];
  for (let i = 0; i < k; i++) {
    const v = bytesToBigint(bytes.subarray(8 + ELEMENT_BYTES * i, 8 + ELEMENT_BYTES * (i + 1)));
    if (v >= SHAMIR_PRIME) throw new ShamirError(`shareFromBytes: y[${i}] is not a field element`);
    y.push(v);
  }
  return { x, y };
}

// --- internals --------------------------------------------------------------------------

function checkThreshold(t: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ShamirError(`split: shares must be a positive integer, got ${n}`);
  if (!Number.isInteger(t) || t < 2) {
    throw new ShamirError(`split: threshold must be an integer ≥ 2 (t = 1 would hand the secret to every holder), got ${t}`);
  }
  if (t > n) throw new ShamirError(`split: threshold ${t} exceeds the number of shares ${n}; the secret could never be recovered`);
}

function checkXs(xs: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isInteger(x) || x < 1 || x > MAX_X) {
      throw new ShamirError(`share index x must be an integer in [1, 2^32 - 1], got ${x}`);
    }
    if (seen.has(x)) throw new ShamirError(`duplicate share index x = ${x}`);
    seen.add(x);
  }
}

/** Horner evaluation of sum coeffs[k] x^k. */
function evaluate(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = Fp.ZERO;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fp.add(Fp.mul(acc, x), coeffs[k]);
  return acc;
}

/** λ_i = Π_{j≠i} x_j / (x_j - x_i), the Lagrange basis polynomials evaluated at 0. */
function lagrangeWeightsAtZero(xs: readonly bigint[]): bigint[] {
  return xs.map((xi, i) => {
    let num = Fp.ONE;
    let den = Fp.ONE;
    xs.forEach((xj, j) => {
      if (j === i) return;
      num = Fp.mul(num, xj);
      den = Fp.mul(den, Fp.sub(xj, xi));
    });
    return Fp.div(num, den);
  });
}

/** Uniform in [0, p) by rejection: 255 random bits, retry if ≥ p (probability 19 / 2^255). */
function randomElement(rng: RandomStream): bigint {
  for (;;) {
    const bytes = rng.bytes(ELEMENT_BYTES);
    bytes[0] &= 0x7f;
    const v = bytesToBigint(bytes);
    if (v < SHAMIR_PRIME) return v;
  }
}

function secretToElements(secret: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let off = 0; off === 0 || off < secret.length; off += CHUNK_BYTES) {
    const chunk = secret.subarray(off, off + CHUNK_BYTES);
    out.push((1n << BigInt(8 * chunk.length)) | bytesToBigint(chunk));
  }
  return out;
}

function elementsToSecret(elements: readonly bigint[]): Uint8Array {
  const parts = elements.map((e, i) => {
    // The sentinel is the top set bit; it must sit on a byte boundary within 31 bytes.
    const bits = e.toString(2).length - 1;
    if (e === 0n || bits % 8 !== 0 || bits / 8 > CHUNK_BYTES || (i < elements.length - 1 && bits / 8 !== CHUNK_BYTES)) {
      throw new ShamirError('combine: reconstructed value is not a valid secret encoding (wrong or corrupted shares)');
    }
    return bigintToBytes(e ^ (1n << BigInt(bits)), bits / 8);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function bytesToBigint(bytes: Uint8Array): bigint {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}

function bigintToBytes(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
