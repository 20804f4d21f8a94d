/**
 * PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS 2010), adapted to message passing as Coyote does: the
 * "threads" are sender→receiver channels.
 *
 * Every channel gets a random priority when first seen (inserted at a random rank);
 * the highest-priority deliverable channel always goes next. At d − 1 change points,
 * drawn uniformly from the first k steps, the channel that was about to go is
 * demoted below every other. A bug of depth d is then found with probability at
 * least 1 / (n · k^(d−1)), where uniform random scheduling gives no such bound.
 */
import { channelKey, type Envelope } from '../envelope.js';
import type { RandomStream } from '../rng.js';
import type { SchedulingStrategy, StrategySpec } from './strategy.js';

export class PctStrategy implements SchedulingStrategy {
  readonly name = 'pct';
  readonly fifo = true;
  /** Channel keys, highest priority first. */
  private readonly priorities: string[] = [];
  private readonly known = new Set<string>();
  private readonly changePoints: Set<number>;

  constructor(private readonly rng: RandomStream, readonly depth: number, readonly maxSteps: number) {
    const points = new Set<number>();
    const wanted = Math.min(depth - 1, maxSteps);
    while (points.size < wanted) points.add(1 + rng.int(maxSteps));
    this.changePoints = points;
  }

  choose(candidates: readonly Envelope[], count: number, step: number): number {
    for (let i = 0; i < count; i++) this.register(channelKey(candidates[i].from, candidates[i].to));
    let best = this.bestIndex(candidates, count);
    if (this.changePoints.has(step)) {
      const demoted = channelKey(candidates[best].from, candidates[best].to);
      this.priorities.splice(this.priorities.indexOf(demoted), 1);
      this.priorities.push(demoted);
      best = this.bestIndex(candidates, count);
    }
    return best;
  }

  describe(): StrategySpec {
    return { name: 'pct', depth: this.depth, maxSteps: this.maxSteps };
  }

  private register(key: string): void {
    if (this.known.has(key)) return;
    this.known.add(key);
    this.priorities.splice(this.rng.int(this.priorities.length + 1), 0, key);
  }

  private bestIndex(candidates: readonly Envelope[], count: number): number {
    let best = 0;
    let bestRank = Infinity;
    for (let i = 0; i < count; i++) {
      const rank = this.priorities.indexOf(channelKey(candidates[i].from, candidates[i].to));
      if (rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    return best;
  }
}
