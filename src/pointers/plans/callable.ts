/**
 * Objects you can call, PyTorch style: `plan(x)`, `planPtr(xPtr)`, `this.fc1(x)`.
 *
 * A class's constructor returns an arrow function whose prototype is the class's
 * prototype: `instanceof`, methods, getters and subclass fields all work, and
 * calling it runs `invoke`. (Arrow functions have no `prototype` of their own; their
 * own `name` and `length` are removed so the class's accessors show through.) Such a
 * base class must not declare field initialisers — they would land on the discarded
 * `this` — so state lives on the returned object, set in the constructor.
 */
export function callable<T extends object>(prototype: object, invoke: (...args: any[]) => unknown): T {
  const fn = (...args: unknown[]) => invoke(...args);
  delete (fn as { name?: string }).name;
  delete (fn as { length?: number }).length;
  Object.setPrototypeOf(fn, prototype);
  return fn as unknown as T;
}

/** Defines non-enumerable own properties (internals that must not show up as a plan's fields or layers). */
export function hidden<T extends object>(target: T, properties: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(properties)) Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
  return target;
}
