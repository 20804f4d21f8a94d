/**
 * Brands that identify pointers without importing their classes, so modules that only
 * inspect arguments (op-args.ts) do not form import cycles with the classes.
 */
export const POINTER_BRAND: unique symbol = Symbol.for('fedsim.PointerTensor');
export const MULTI_POINTER_BRAND: unique symbol = Symbol.for('fedsim.MultiPointerTensor');

export function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
