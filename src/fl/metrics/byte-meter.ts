/**
 * Counts the bytes of a federated run's model-carrying messages per round and per link,
 * from the envelopes' `bytes` as they are delivered (`sim.delivered$`). Which message
 * types count as what is given by the run (the engine's fits and reports, plus its
 * aggregator's own messages: see Aggregator.byteKinds). A message is attributed to the
 * round in its payload, so a straggler's update counts towards the round it was trained
 * for, whenever it arrives.
 */
import type { Subscription } from 'rxjs';
import type { SimulationCore } from '../../runtime/simulation.js';
import type { RoundBytes } from './round-metrics.js';

/** Which message types carry what: down (the global model), up (updates or their shares), aggregate (what reaches the server). */
export type ByteKinds = Readonly<Record<string, keyof RoundBytes>>;

export class ByteMeter {
  private readonly rounds = new Map<number, RoundBytes>();
  private readonly links = new Map<string, number>();
  private subscription: Subscription | undefined;

  constructor(private readonly kinds: ByteKinds) {}

  /**
   * Starts counting deliveries of `sim` (involving only the given actors, if `actors` is set:
   * a set, or a test of an id — a run of a million clients tells them apart without a set
   * of a million ids; the test runs at each counted delivery, so it must not scan).
   */
  attach(sim: SimulationCore, actors?: ReadonlySet<string> | ((id: string) => boolean)): this {
    const counts = actors === undefined ? undefined : typeof actors === 'function' ? actors : (id: string) => actors.has(id);
    this.subscription = sim.delivered$.subscribe((event) => {
      const kind = this.kinds[event.type];
      const bytes = event.envelope.bytes;
      if (!kind || bytes === undefined) return;
      if (counts && !(counts(event.from) && counts(event.to))) return;
      const round = (event.envelope.payload as { round?: unknown })?.round;
      if (typeof round === 'number') {
        const entry = this.rounds.get(round) ?? { bytesUp: 0, bytesDown: 0, bytesAggregate: 0 };
        entry[kind] += bytes;
        this.rounds.set(round, entry);
      }
      const link = `${event.from}→${event.to}`;
      this.links.set(link, (this.links.get(link) ?? 0) + bytes);
    });
    return this;
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  round(round: number): RoundBytes {
    return { ...(this.rounds.get(round) ?? { bytesUp: 0, bytesDown: 0, bytesAggregate: 0 }) };
  }

  /** Bytes delivered per link `from→to`, links sorted. */
  byLink(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.links.keys()].sort()) out[key] = this.links.get(key)!;
    return out;
  }
}
