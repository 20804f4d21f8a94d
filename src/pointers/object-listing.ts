/**
 * What `worker.listObjects()` returns: the worker's answer to a `search` with previews,
 * printable as PySyft printed `bob._objects` — `{1: tensor([1, 2, 3]), 3: <private to [bob]>}`.
 * Every value shown passed the worker's own permission check; private objects show only
 * that they exist (id, kind, shape — never a value).
 */
import { inspect } from 'node:util';
import type { SearchResult } from '../messages/index.js';

export class ObjectListing {
  constructor(readonly entries: readonly SearchResult[]) {}

  get size(): number {
    return this.entries.length;
  }

  /** Object ids, in the worker's insertion order. */
  get ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id);
  }

  /** The printed form of object `id` (`tensor([1, 2])`, or `<private to [bob]>`), if the worker holds it. */
  shown(id: string): string | undefined {
    const entry = this.entries.find((e) => e.id === id);
    return entry && describe(entry);
  }

  toString(): string {
    return `{${this.entries.map((e) => `${e.id}: ${describe(e)}`).join(', ')}}`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function describe(entry: SearchResult): string {
  if (entry.preview !== undefined) return entry.preview;
  const what = entry.shape ? ` ${entry.kind}${entry.dtype ? ` ${entry.dtype}` : ''} [${entry.shape}]` : ` ${entry.kind}`;
  return `<private to [${(entry.privateTo ?? []).join(', ')}]:${what}>`;
}
