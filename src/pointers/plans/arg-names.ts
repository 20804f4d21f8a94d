/**
 * Argument names for a plan, read from its function's source as PySyft did
 * (`def calcu(x_ptr, y_ptr)` prints as `Plan calcu(x_ptr, y_ptr)`). Only plain
 * parameter lists are read; anything else (defaults, destructuring, rest) falls
 * back to `arg0`, `arg1`, … — names are for reading, never for matching arguments.
 */

const PLAIN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function parameterList(source: string): string | undefined {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
  const arrow = /^(?:async\s+)?([A-Za-z_$][A-Za-z0-9_$]*)\s*=>/.exec(text);
  if (arrow) return arrow[1];
  // function f(a, b) {…} · (a, b) => … · method(a, b) {…} (class methods, e.g. forward)
  const list = /^(?:async\s*)?(?:function\b\s*\*?\s*[A-Za-z0-9_$]*\s*|[A-Za-z_$][A-Za-z0-9_$]*\s*)?\(([^()]*)\)/.exec(text);
  return list?.[1];
}

/** `count` names for the function's parameters (unique, valid plan names). */
export function argNames(fn: (...args: any[]) => unknown, count: number, given?: readonly string[]): string[] {
  const parsed = (given ? [...given] : (parameterList(Function.prototype.toString.call(fn)) ?? '').split(',').map((p) => p.trim()))
    .filter((p) => p.length > 0);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const candidate = parsed[i];
    let name = candidate !== undefined && PLAIN.test(candidate) ? candidate.replace(/\$/g, '_') : `arg${i}`;
    if (name.length > 64 || names.includes(name)) name = `arg${i}`;
    names.push(name);
  }
  return names;
}
