/**
 * A readable picture of each actor at one moment of a run (for `fedsim replay
 * --until` / `--inspect`): its xstate state, a summary of its context, the
 * messages in flight to and from it, its timers and, for actors with an object
 * store, what the store holds.
 */
import type { Envelope } from '../runtime/index.js';
import type { Sim } from '../scenario/index.js';

const MAX_TEXT = 48;

/** A one-line description of any value, at most a few dozen characters per element. */
export function describeValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return String(value);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'function':
      return 'function';
    case 'symbol':
      return value.toString();
  }
  const object = value as Record<string, unknown>;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length?: number }).length ?? value.byteLength})`;
  if (Array.isArray(value)) {
    if (depth > 0 || value.length === 0) return `Array(${value.length})`;
    const head = value.slice(0, 3).map((v) => describeValue(v, depth + 1));
    return `Array(${value.length}) [${head.join(', ')}${value.length > 3 ? ', …' : ''}]`;
  }
  if (value instanceof Map) {
    if (depth > 0) return `Map(${value.size})`;
    const head = [...value].slice(0, 3).map(([k, v]) => `${describeValue(k, 1)} → ${describeValue(v, 1)}`);
    return `Map(${value.size}) {${head.join(', ')}${value.size > 3 ? ', …' : ''}}`;
  }
  if (value instanceof Set) return `Set(${value.size})`;
  if (typeof object.id === 'string' && typeof object.from === 'string' && typeof object.to === 'string' && typeof object.type === 'string') {
    return `message ${object.id} '${object.type}' ${object.from}→${object.to}`;
  }
  if (Array.isArray(object.shape) && typeof object.dtype === 'string') return `Tensor ${object.dtype} [${(object.shape as number[]).join(',')}]`;
  // Classes that print themselves (pointer records, failed results); checked after tensors, whose toString prints all data.
  if (typeof object.toString === 'function' && object.toString !== Object.prototype.toString) {
    const text = String(object);
    return text.length > MAX_TEXT * 2 ? `${text.slice(0, MAX_TEXT * 2)}…` : text;
  }
  const keys = Object.keys(object);
  if (depth > 0) return `{${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}}`;
  const fields = keys.slice(0, 4).map((k) => `${k}: ${describeValue(object[k], depth + 1)}`);
  return `{ ${fields.join(', ')}${keys.length > 4 ? ', …' : ''} }`;
}

/**
 * The object store in an actor's context, if it has one: `context.store`, or the
 * `store` of a context value (a virtual worker keeps it at `context.worker.store`).
 */
function findStore(context: Record<string, unknown>): unknown {
  if (context.store && typeof context.store === 'object') return context.store;
  for (const value of Object.values(context)) {
    const store = value && typeof value === 'object' ? (value as { store?: unknown }).store : undefined;
    if (store && typeof store === 'object') return store;
  }
  return undefined;
}

/** One line per stored object: `id: value [tags]` for store entries, `key: value` for Maps. */
function entryLine(key: string, value: unknown): string {
  const entry = value as { id?: unknown; value?: unknown; tags?: unknown };
  if (entry && typeof entry === 'object' && typeof entry.id === 'string' && 'value' in entry) {
    const tags = Array.isArray(entry.tags) && entry.tags.length ? `  tags: ${entry.tags.join(' ')}` : '';
    return `${entry.id}: ${describeValue(entry.value, 1)}${tags}`;
  }
  return `${key}: ${describeValue(value, 1)}`;
}

/** Lines describing an object store (duck-typed: a `describe()`, a Map, or anything with `values()`). */
function storeLines(store: unknown): string[] | null {
  if (!store || typeof store !== 'object') return null;
  const described = (store as { describe?: () => unknown }).describe;
  if (typeof described === 'function') {
    const out = described.call(store);
    return Array.isArray(out) ? out.map(String) : String(out).split('\n');
  }
  let lines: string[] | null = null;
  if (store instanceof Map) lines = [...store].map(([k, v]) => entryLine(String(k), v));
  else if (typeof (store as { values?: unknown }).values === 'function') {
    lines = [...(store as { values(): Iterable<unknown> }).values()].map((v, i) => entryLine(String(i), v));
  }
  if (lines === null) return null;
  return lines.length ? lines : ['(empty)'];
}

function messageLine(e: Envelope, now: number): string {
  const when = e.deliverAt > now ? `arrives t=${Number(e.deliverAt.toFixed(3))}` : 'deliverable now';
  const flags = [e.duplicate ? 'duplicate' : '', e.reordered ? 'reordered' : ''].filter(Boolean).join(', ');
  return `${e.id} '${e.type}' ${e.from}→${e.to}, ${when}${flags ? ` (${flags})` : ''}`;
}

export function describeActor(sim: Sim, id: string): string[] {
  const now = sim.now();
  const inFlight = sim.inFlight();
  const lines: string[] = [];
  const incoming = inFlight.filter((e) => e.to === id);
  const outgoing = inFlight.filter((e) => e.from === id);
  // The driver's id, not `sim.me`: in the full Simulation `me` is the local worker's handle.
  if (id === sim.driver.id) {
    lines.push(`── ${id} (the driver: scenario code) ──`);
    lines.push(`  waiting for ${sim.driver.waiting} repl${sim.driver.waiting === 1 ? 'y' : 'ies'}`);
  } else {
    const cell = sim.actor(id);
    const snapshot = cell.snapshot() as { value?: unknown; status?: string; context?: unknown };
    const flags = [cell.crashed ? 'CRASHED' : '', cell.busyUntil > now ? `busy until t=${Number(cell.busyUntil.toFixed(3))}` : ''].filter(Boolean);
    lines.push(`── ${id} ──${flags.length ? ` ${flags.join(', ')}` : ''}`);
    const value = snapshot.value === undefined ? '(not a state machine)' : JSON.stringify(snapshot.value) === '{}' ? '(a machine without states)' : JSON.stringify(snapshot.value);
    lines.push(`  state:   ${value}  (status ${snapshot.status ?? '?'}, ${cell.handled} messages handled)`);
    const context = snapshot.context;
    if (context && typeof context === 'object' && !Array.isArray(context)) {
      const entries = Object.entries(context as Record<string, unknown>).filter(([k, v]) => k !== 'io' && typeof v !== 'function');
      if (entries.length) {
        lines.push('  context:');
        const width = Math.max(...entries.map(([k]) => k.length));
        for (const [k, v] of entries) lines.push(`    ${k.padEnd(width)}  ${describeValue(v)}`);
      }
      const store = storeLines(findStore(context as Record<string, unknown>));
      if (store) {
        lines.push('  object store:');
        for (const line of store) lines.push(`    ${line}`);
      }
    } else if (context !== undefined) {
      lines.push(`  context: ${describeValue(context)}`);
    }
    const timers = sim.clock.timersOf(id);
    if (timers.length) lines.push(`  timers:  ${timers.map((t) => `#${t.id} due t=${Number(t.dueAt.toFixed(3))}`).join(', ')}`);
  }
  lines.push(`  in flight to ${id}: ${incoming.length ? '' : 'none'}`);
  for (const e of incoming) lines.push(`    ${messageLine(e, now)}`);
  if (outgoing.length) {
    lines.push(`  in flight from ${id}:`);
    for (const e of outgoing) lines.push(`    ${messageLine(e, now)}`);
  }
  return lines;
}

/** Every actor (the driver first), or just `only`. */
export function describeActors(sim: Sim, only?: string): string {
  const ids = only ? [only] : [sim.driver.id, ...sim.actorIds()];
  return ids.flatMap((id) => [...describeActor(sim, id), '']).join('\n');
}
