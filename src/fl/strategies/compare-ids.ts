/**
 * Order of client ids: by UTF-16 code units (never localeCompare, whose order
 * depends on the ICU locale of the machine). Every aggregation sums in this order.
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
