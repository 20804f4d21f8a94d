/** Any deliverable message may go next, whatever its channel: explores reorderings FIFO would hide. */
import type { Envelope } from '../envelope.js';
import type { RandomStream } from '../rng.js';
import type { SchedulingStrategy, StrategySpec } from './strategy.js';

export class RandomStrategy implements SchedulingStrategy {
  readonly name = 'random';
  readonly fifo = false;

  constructor(private readonly rng: RandomStream) {}

  choose(_candidates: readonly Envelope[], count: number): number {
    return this.rng.int(count);
  }

  describe(): StrategySpec {
    return 'random';
  }
}
