/**
 * When each device is online, for a million devices without a million objects:
 *
 *   offsets  Uint32Array(n + 1)   client i's intervals are positions offsets[i] … offsets[i+1]-1
 *   starts   Float64Array         interval starts, virtual ms, sorted within a client
 *   ends     Float64Array         interval ends (exclusive; Infinity: never ends)
 *   sortedStarts, sortedEnds      every start and every end of the population, sorted
 *
 * A client is online at t when some interval has start ≤ t < end ([start, end): at its end
 * it is already offline). Queries are binary searches: isOnline and onlineUntil over one
 * client's intervals, onlineCount over the sorted transitions, since with disjoint intervals
 * per client, clients online at t = (starts ≤ t) − (ends ≤ t) — the prefix count of a sweep
 * over all transitions, with no per-client scan. 40 bytes an interval, 4 a client.
 */
import { FlConfigError, FlInvariantError } from '../errors.js';
import type { Availability } from './population.js';

/** Index of the first element of `sorted[lo, hi)` greater than `t` (upper bound). */
function upperBound(sorted: Float64Array, t: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class IntervalAvailability implements Availability {
  readonly size: number;
  private readonly sortedStarts: Float64Array;
  private readonly sortedEnds: Float64Array;

  /** Use AvailabilityBuilder: it checks the intervals are sorted and disjoint, which every query relies on. */
  constructor(
    private readonly offsets: Uint32Array,
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
  ) {
    this.size = offsets.length - 1;
    if (this.size < 0 || offsets[this.size] !== starts.length || starts.length !== ends.length) {
      throw new FlInvariantError('IntervalAvailability: offsets, starts and ends disagree', { intervals: starts.length });
    }
    // Copied by the typed-array constructor (Float64Array.from walks an iterator: ten times slower) and sorted numerically.
    this.sortedStarts = new Float64Array(starts).sort();
    this.sortedEnds = new Float64Array(ends).sort();
  }

  /** Position of the interval of client `index` that holds `t`, or -1. */
  private intervalAt(index: number, t: number): number {
    this.checkIndex(index);
    const lo = this.offsets[index];
    const hi = this.offsets[index + 1];
    const k = upperBound(this.starts, t, lo, hi) - 1;
    return k >= lo && t < this.ends[k] ? k : -1;
  }

  isOnline(index: number, t: number): boolean {
    return this.intervalAt(index, t) >= 0;
  }

  onlineUntil(index: number, t: number): number | undefined {
    const k = this.intervalAt(index, t);
    return k >= 0 ? this.ends[k] : undefined;
  }

  /** When client `index` is next online at or after `t` (t itself when online now), or undefined when never again. */
  nextOnlineAt(index: number, t: number): number | undefined {
    this.checkIndex(index);
    const lo = this.offsets[index];
    const hi = this.offsets[index + 1];
    const k = upperBound(this.starts, t, lo, hi) - 1;
    if (k >= lo && t < this.ends[k]) return t;
    return k + 1 < hi ? this.starts[k + 1] : undefined;
  }

  onlineCount(t: number): number {
    return upperBound(this.sortedStarts, t) - upperBound(this.sortedEnds, t);
  }

  /** The intervals of client `index`, as [startMs, endMs) pairs (for reports and tests; allocates). */
  intervalsOf(index: number): Array<[number, number]> {
    this.checkIndex(index);
    const out: Array<[number, number]> = [];
    for (let k = this.offsets[index]; k < this.offsets[index + 1]; k++) out.push([this.starts[k], this.ends[k]]);
    return out;
  }

  /** Intervals of the whole population. */
  get intervalCount(): number {
    return this.starts.length;
  }

  /** Bytes held by the typed arrays. */
  get byteLength(): number {
    return this.offsets.byteLength + this.starts.byteLength + this.ends.byteLength + this.sortedStarts.byteLength + this.sortedEnds.byteLength;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new FlInvariantError(`Availability: no client at index ${index} (${this.size} clients)`, { index });
    }
  }
}

/** Why an interval cannot follow the ones before it, or undefined when it can. */
export function intervalProblem(start: number, end: number, previousEnd: number): string | undefined {
  if (Number.isNaN(start) || Number.isNaN(end)) return 'numbers, found NaN';
  if (start === Infinity) return 'a finite start';
  if (!(end > start)) return `an end after the start (${start}), found ${end}: an interval [start, end) needs end > start`;
  if (start < previousEnd) return `intervals sorted by start and disjoint, found a start (${start}) before the previous interval ends (${previousEnd})`;
  return undefined;
}

/**
 * Builds an IntervalAvailability client by client, in index order, into growable typed
 * arrays. `add` refuses an interval that is empty or not after the client's previous one
 * (FlConfigError; file readers check first and name the line).
 */
export class AvailabilityBuilder {
  private offsets: Uint32Array;
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  private count = 0;
  private client = 0;

  constructor(readonly size: number) {
    this.offsets = new Uint32Array(size + 1);
  }

  /** Moves on to client `index` (≥ the current one); clients skipped have no intervals: never online. */
  startClient(index: number): void {
    if (!Number.isInteger(index) || index < this.client || index >= this.size) {
      throw new FlInvariantError(`AvailabilityBuilder: client ${index} out of order (at ${this.client}, ${this.size} clients)`, { index });
    }
    for (let i = this.client + 1; i <= index; i++) this.offsets[i] = this.count;
    this.client = index;
  }

  /** An online interval [start, end) of the current client, in virtual ms. */
  add(start: number, end: number): void {
    const previousEnd = this.count > this.offsets[this.client] ? this.ends[this.count - 1] : -Infinity;
    const problem = intervalProblem(start, end, previousEnd);
    if (problem) throw new FlConfigError(`availability of client #${this.client}: expected ${problem}.`, { client: this.client, start, end });
    if (this.count === this.starts.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }

  /** Client `index` online throughout. */
  alwaysOnline(index: number): void {
    this.startClient(index);
    this.add(-Infinity, Infinity);
  }

  build(): IntervalAvailability {
    for (let i = this.client + 1; i <= this.size; i++) this.offsets[i] = this.count;
    // Trimmed copies: the builder's spare capacity is not kept for the run.
    return new IntervalAvailability(this.offsets, this.starts.slice(0, this.count), this.ends.slice(0, this.count));
  }
}
