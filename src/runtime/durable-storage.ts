/**
 * An actor's durable storage: what a real process would keep on disk.
 *
 * A crash with `loseState: true` wipes the actor's memory (its xstate snapshot and
 * timers) but not its disk; only `loseStorage: true` wipes this too. Protocols keep
 * here what must survive a restart — a server's last committed round, a client's
 * per-round answer and its algorithm state — so that a restarted actor answers a
 * retried message from what was done instead of redoing it.
 *
 * Writes are transactional with the actor's turn: they are buffered while the turn
 * runs and applied only if it succeeds (a turn that throws leaves the disk as it was),
 * exactly like the messages the turn sends. Values are kept by reference: store
 * immutable values and replace them, never mutate them in place.
 */
export interface DurableStorage {
  get<T>(key: string): T | undefined;
  has(key: string): boolean;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** The stored keys, sorted (so iteration never depends on write order). */
  keys(): string[];
}

const DELETED = Symbol('deleted');

export class ActorStorage implements DurableStorage {
  private readonly committed = new Map<string, unknown>();
  /** Writes of the turn under way (made at the first write, so a turn that writes nothing allocates nothing). */
  private pending: Map<string, unknown> | null = null;
  private inTurn = false;

  get<T>(key: string): T | undefined {
    if (this.pending?.has(key)) {
      const value = this.pending.get(key);
      return value === DELETED ? undefined : (value as T);
    }
    return this.committed.get(key) as T | undefined;
  }

  has(key: string): boolean {
    if (this.pending?.has(key)) return this.pending.get(key) !== DELETED;
    return this.committed.has(key);
  }

  set(key: string, value: unknown): void {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError(`storage.set: keys are non-empty strings, got ${JSON.stringify(key)}`);
    if (value === undefined) throw new TypeError(`storage.set('${key}', undefined): store a value, or call storage.delete('${key}')`);
    if (this.inTurn) (this.pending ??= new Map()).set(key, value);
    else this.committed.set(key, value);
  }

  delete(key: string): void {
    if (this.inTurn) (this.pending ??= new Map()).set(key, DELETED);
    else this.committed.delete(key);
  }

  keys(): string[] {
    const keys = new Set(this.committed.keys());
    if (this.pending) {
      for (const [key, value] of this.pending) {
        if (value === DELETED) keys.delete(key);
        else keys.add(key);
      }
    }
    return [...keys].sort();
  }

  /** Starts buffering a turn's writes. */
  beginTurn(): void {
    this.inTurn = true;
    this.pending = null;
  }

  /** Applies the turn's writes (the turn succeeded). */
  commitTurn(): void {
    const writes = this.pending;
    this.inTurn = false;
    this.pending = null;
    if (!writes) return;
    for (const [key, value] of writes) {
      if (value === DELETED) this.committed.delete(key);
      else this.committed.set(key, value);
    }
  }

  /** Forgets the turn's writes (the turn failed and was rolled back). */
  abortTurn(): void {
    this.inTurn = false;
    this.pending = null;
  }

  /** What a crash with `loseStorage` does: the disk is gone. */
  wipe(): void {
    this.committed.clear();
    this.pending = null;
    this.inTurn = false;
  }

  get size(): number {
    return this.keys().length;
  }
}
