/**
 * A least-recently-used cache bounded by entries and bytes: what a worker thread keeps of
 * the client data and global weights it was sent (training-worker.ts), and — run through the
 * same sequence of operations with `true` for values — the pool's picture of each thread's
 * cache (training-pool.ts), which tells it what a task needs to carry. Both sides must evict
 * alike, which is why they share this class.
 */
export interface CacheLimits {
  /** Most entries kept. */
  entries: number;
  /** Most bytes kept (an entry bigger than this is still kept alone: the task needs it). */
  bytes: number;
}

export class BoundedCache<V> {
  readonly #limits: CacheLimits;
  /** In order of last use, oldest first (a Map keeps insertion order; a use re-inserts). */
  readonly #entries = new Map<string, { value: V; bytes: number }>();
  #bytes = 0;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
  }

  /** Whether `key` is held, without counting as a use. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The value under `key`, marking it used; undefined when not held. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Holds `value` under `key` as the newest entry, evicting the oldest others while over a limit. */
  set(key: string, value: V, bytes: number): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#limits.entries && this.#bytes <= this.#limits.bytes) break;
      if (oldest === key) break; // the newest entry stays, whatever its size
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }
}
