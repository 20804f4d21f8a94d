/**
 * Array edits for the scheduler's hot path that allocate nothing.
 *
 * `splice` returns a new array of what it removed, and setting `length` goes through
 * a slow builtin; `pop` is inlined by V8. These run once or more per delivery.
 */

/** Empties an array in place. */
export function clearArray(items: unknown[]): void {
  while (items.length > 0) items.pop();
}

/** Removes the first occurrence of `item`, keeping the order of the rest. */
export function removeItem<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at < 0) return;
  for (let i = at + 1; i < items.length; i++) items[i - 1] = items[i];
  items.pop();
}
