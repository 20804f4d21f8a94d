/**
 * Seeded random streams.
 *
 * One root seed feeds any number of *named* streams. Each stream is seeded from
 * `rootSeed + ":" + name` alone, so creating a new stream (a new actor, a new
 * consumer) never shifts the draws of an existing one. This is the first rule of
 * determinism in fedsim: never share a stream between two consumers, never use
 * Math.random.
 */
import seedrandom from 'seedrandom';

export type Seed = number | string;

/** A deterministic source of randomness with the helpers simulation code needs. */
export interface RandomStream {
  /** The stream's name, e.g. `scheduler` or `actor/bob/shuffle`. */
  readonly name: string;
  /** A float in [0, 1) with 53 bits of randomness. */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A float in [min, max). */
  uniform(min: number, max: number): number;
  /** A normal variate (Box–Muller; both halves are used so the sequence is fixed by the seed alone). */
  normal(mean?: number, std?: number): number;
  /** An exponential variate with the given mean. */
  exponential(mean: number): number;
  /** True with probability p. Draws nothing when p is 0 or 1, so a zero rate consumes no randomness. */
  bernoulli(p: number): boolean;
  /** One element, chosen uniformly. */
  pick<T>(items: readonly T[]): T;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A uniformly random 32-bit unsigned integer. */
  uint32(): number;
  /** `n` random bytes (for key material derived from the seed). */
  bytes(n: number): Uint8Array;
}

type Prng = { (): number; double(): number; int32(): number };

class SeededStream implements RandomStream {
  private readonly prng: Prng;
  private spareNormal: number | undefined;

  constructor(readonly name: string, seed: string) {
    // xor4096 (Brent's xorgens): long period, ~100M draws/s, cheap to create.
    this.prng = seedrandom.xor4096(seed) as unknown as Prng;
  }

  next(): number {
    return this.prng.double();
  }

  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`rng('${this.name}').int(${maxExclusive}): the bound must be a positive integer`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next(); // log(0) is -Infinity
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -mean * Math.log(u);
  }

  bernoulli(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError(`rng('${this.name}').pick: cannot pick from an empty list`);
    return items[items.length === 1 ? 0 : this.int(items.length)];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  uint32(): number {
    return this.prng.int32() >>> 0;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let word = this.uint32();
      for (let k = 0; k < 4 && i + k < n; k++) {
        out[i + k] = word & 0xff;
        word >>>= 8;
      }
    }
    return out;
  }
}

/** Creates a stand-alone stream from a seed and a name (the same pair always gives the same draws). */
export function createStream(rootSeed: Seed, name: string): RandomStream {
  return new SeededStream(name, `${rootSeed}:${name}`);
}

/**
 * The named streams of one simulation. `rng('x')` returns the same stream object every
 * time, so a consumer that asks twice continues where it left off.
 */
export class RngRegistry {
  private readonly streams = new Map<string, RandomStream>();

  constructor(readonly rootSeed: Seed) {}

  stream(name: string): RandomStream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = createStream(this.rootSeed, name);
      this.streams.set(name, stream);
    }
    return stream;
  }

  /** Names of the streams drawn so far, sorted (for diagnostics). */
  names(): string[] {
    return [...this.streams.keys()].sort();
  }
}
