/**
 * Gaussian noise for DP-SGD: N(0, std²) in every coordinate of every step's gradient,
 * seeded from the run's streams, and fast enough to draw a whole model's worth every step.
 *
 * Why not RandomStream.normal: a DP-SGD step needs as many normals as the model has
 * parameters (199,210 for the 2NN, 1.66 M for McMahan's CNN), every step. The stream's
 * normal (seedrandom's xor4096 doubles, Box–Muller with sin/cos) costs ~60 ns a draw here,
 * 12 ms per 2NN step — more than the step's own forward and backward (~5 ms at B = 10). So
 * the noise comes from a generator of its own, seeded with 128 bits drawn from the caller's
 * stream (so it is still a pure function of the run's seed and the stream's name):
 *
 *   xoshiro128** (Blackman & Vigna 2018), four 32-bit words of state, integer ops only;
 *   Marsaglia's polar method (1964) for the normals: exact, no trigonometry, two normals per
 *   accepted pair (acceptance π/4).
 *
 * Together ~15 ns a normal. Checked against the stated variance and normality by the tests
 * (test/dp-sgd-noise.test.ts). The library alternative measured (stdlib's improved
 * ziggurat, 219 packages with its dependencies) was no faster here.
 *
 * Like all of fedsim's randomness this is simulation randomness, not a secure sampler: a
 * deployment must draw DP noise from a cryptographically secure source, with a sampler free
 * of floating-point attacks (Mironov 2012), e.g. the discrete Gaussian (Canonne, Kamath,
 * Steinke 2020).
 */
import type { RandomStream } from '../../../runtime/rng.js';

/** 2^-32: a uint32 as a fraction of [0, 1). */
const UINT32_UNIT = 1 / 4294967296;

export class GaussianNoise {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator seeded with four 32-bit words (not all zero: that state would stay zero). */
  constructor(seed: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = seed.map((w) => w >>> 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator seeded from `rng` (draws four uint32 from it). */
  static from(rng: RandomStream): GaussianNoise {
    return new GaussianNoise([rng.uint32(), rng.uint32(), rng.uint32(), rng.uint32()]);
  }

  /** One xoshiro128** output, a uint32. */
  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * Overwrites `out` with independent N(0, std²) draws (in float64, rounded to float32), and
   * returns it. An odd length discards the pair's second normal, so the draws of one call
   * never depend on earlier calls' lengths beyond the generator's state.
   */
  fill(out: Float32Array, std: number): Float32Array {
    const n = out.length;
    let i = 0;
    while (i < n) {
      let u: number;
      let v: number;
      let q: number;
      do {
        u = this.nextUint32() * UINT32_UNIT * 2 - 1;
        v = this.nextUint32() * UINT32_UNIT * 2 - 1;
        q = u * u + v * v;
      } while (q >= 1 || q === 0);
      const f = std * Math.sqrt((-2 * Math.log(q)) / q);
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
