/**
 * A message's payload in a few hundred characters, for the viewer's message panel.
 *
 * The log keeps payloads only as digests; the viewer gets them from re-executing the
 * run. The summary is JSON-like and goes a few levels deep (a stale update is told by
 * the `round` inside it), with long arrays, strings and tensors cut short.
 */
const MAX_CHARS = 600;
const MAX_ITEMS = 8;
const MAX_DEPTH = 3;
const MAX_STRING = 80;

export function payloadSummary(value: unknown): string {
  const text = describe(value, 0);
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text;
}

function describe(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return JSON.stringify(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'function':
      return 'function';
    case 'symbol':
      return value.toString();
  }
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
  const object = value as Record<string, unknown>;
  if (Array.isArray(object.shape) && typeof object.dtype === 'string') return `Tensor ${object.dtype} [${(object.shape as number[]).join(',')}]`;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[…${value.length}]` : '{…}';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => describe(v, depth + 1));
    return `[${items.join(', ')}${value.length > MAX_ITEMS ? `, …${value.length - MAX_ITEMS} more` : ''}]`;
  }
  if (value instanceof Map) {
    const items = [...value].slice(0, MAX_ITEMS).map(([k, v]) => `${describe(k, depth + 1)} → ${describe(v, depth + 1)}`);
    return `Map(${value.size}) {${items.join(', ')}${value.size > MAX_ITEMS ? ', …' : ''}}`;
  }
  if (value instanceof Set) return `Set(${value.size})`;
  const keys = Object.keys(object);
  const fields = keys.slice(0, MAX_ITEMS).map((k) => `${k}: ${describe(object[k], depth + 1)}`);
  return `{ ${fields.join(', ')}${keys.length > MAX_ITEMS ? `, …${keys.length - MAX_ITEMS} more` : ''} }`;
}
