/**
 * The UTF-8 byte length of `JSON.stringify(value)`, without building the string.
 *
 * Every message's would-be wire size is computed when it is sent, so this runs for
 * every command of a pipelined loop; walking small payloads is about three times
 * faster than stringifying them. Anything unusual (non-ASCII or escaped strings,
 * toJSON, non-plain objects, deep nesting) falls back to JSON.stringify itself, so
 * the result is always exactly what JSON.stringify would produce (a property test
 * holds it to that).
 */

const MAX_DEPTH = 64;

function viaStringify(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}

function stringSize(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Control characters, non-ASCII, quote and backslash change length when encoded or escaped.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return viaStringify(s);
  }
  return s.length + 2;
}

/** Whether JSON.stringify leaves this property out of an object (and writes null for it in an array). */
const omitted = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol';

function valueSize(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return stringSize(value);
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4; // NaN and ±Infinity become null
    case 'boolean':
      return value ? 4 : 5;
    case 'object':
      break;
    default:
      return viaStringify(value); // bigint throws, as JSON.stringify does
  }
  if (value === null) return 4;
  if (depth > MAX_DEPTH) return viaStringify(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) return viaStringify(value);
    let size = 2 + Math.max(0, value.length - 1);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      size += omitted(item) ? 4 : valueSize(item, depth + 1);
    }
    return size;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return viaStringify(value);
  let size = 2;
  let first = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (omitted(item)) continue;
    size += (first ? 0 : 1) + stringSize(key) + 1 + valueSize(item, depth + 1);
    first = false;
  }
  return size;
}

/** `Buffer.byteLength(JSON.stringify(value))`, computed without the string (0 when JSON.stringify gives undefined). */
export function jsonByteLength(value: unknown): number {
  if (omitted(value)) return 0;
  return valueSize(value, 0);
}

/** Byte length of `JSON.stringify({ type, payload })`. */
export function frameJsonByteLength(type: string, payload: unknown): number {
  const typePart = 8 + stringSize(type); // {"type": + the string
  if (omitted(payload)) return typePart + 1; // payload left out: {"type":"…"}
  return typePart + 11 + valueSize(payload, 0) + 1; // ,"payload": + value + }
}
