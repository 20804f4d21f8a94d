/** The default: FIFO on every sender→receiver channel, a seeded uniform choice across channels. */
import type { Envelope } from '../envelope.js';
import type { RandomStream } from '../rng.js';
import type { SchedulingStrategy, StrategySpec } from './strategy.js';

export class FifoRandomStrategy implements SchedulingStrategy {
  readonly name = 'fifo-random';
  readonly fifo = true;

  constructor(private readonly rng: RandomStream) {}

  choose(_candidates: readonly Envelope[], count: number): number {
    return this.rng.int(count);
  }

  describe(): StrategySpec {
    return 'fifo-random';
  }
}
