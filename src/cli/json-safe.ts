/**
 * Turning a scenario's result into JSON that can always be written: Maps and Sets
 * become objects and arrays, typed arrays short arrays (or a summary), bigints
 * strings, functions and cycles markers.
 */
const MAX_TYPED = 1000;

export function toJsonSafe(value: unknown, seen = new WeakSet<object>()): unknown {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (ArrayBuffer.isView(value)) {
      const array = Array.from(value as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));
      return array.length <= MAX_TYPED ? array : { type: value.constructor.name, length: array.length, head: array.slice(0, 10) };
    }
    if (Array.isArray(value)) return value.map((v) => toJsonSafe(v, seen) ?? null);
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonSafe(v, seen)]));
    if (value instanceof Set) return [...value].map((v) => toJsonSafe(v, seen));
    if (value instanceof Error) return { name: value.name, message: value.message };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const safe = toJsonSafe(v, seen);
      if (safe !== undefined) out[k] = safe;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
