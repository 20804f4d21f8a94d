/** Any deliverable message may go next, whatever its channel: explores reorderings FIFO would hide. */
import type { Envelope } from '../envelope.js';
import type { RandomStream } from '../rng.js';
import type { SchedulingStrategy, StrategySpec } from './strategy.js';

export class RandomStrategy implements SchedulingStrategy {
  readonly name = 'random';
  readonly fifo = false;

  constructor(private readonly rng: RandomStream) {}

  choose(candidates: readonly Envelope[]): number {
    return this.rng.int(candidates.length);
  }

  describe(): StrategySpec {
    return 'random';
  }
}
