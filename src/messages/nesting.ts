/**
 * A bound on how deeply a payload nests (arrays and plain objects), checked without
 * recursion before anything recursive walks it — validation, sizing, digests, encoding.
 * Without it a command whose argument is a list in a list in a list… a hundred thousand
 * times overflows the stack of whoever walks it first.
 *
 * The limit, 32 levels, is far above any message fedsim makes (a plan nests about 8;
 * tensors have at most 16 dimensions, so a literal argument deeper than that cannot be one).
 */
import { isTensor } from './tensor-codec.js';

export const MAX_PAYLOAD_DEPTH = 32;

/** The nesting depth of `value` (a scalar is 0, `[1]` is 1), or `limit + 1` as soon as it exceeds `limit`. */
export function payloadDepth(value: unknown, limit = MAX_PAYLOAD_DEPTH): number {
  let deepest = 0;
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: item, depth } = stack.pop()!;
    if (item === null || typeof item !== 'object' || ArrayBuffer.isView(item) || isTensor(item)) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return limit + 1;
    const children = Array.isArray(item) ? item : Object.getPrototypeOf(item) === Object.prototype || Object.getPrototypeOf(item) === null ? Object.values(item) : [];
    for (const child of children) stack.push({ value: child, depth: level });
  }
  return deepest;
}

export function tooDeep(value: unknown, limit = MAX_PAYLOAD_DEPTH): boolean {
  return payloadDepth(value, limit) > limit;
}
