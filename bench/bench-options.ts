/**
 * A benchmark's own options on the `npm run bench` command line: `--rounds 10` or
 * `--rounds=10` (run.ts leaves the values of `--name value` pairs out of the benchmark names).
 */

/** The value of `--name` in `args` (default: this process's arguments), or undefined. */
export function benchOption(name: string, args: readonly string[] = process.argv.slice(2)): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

/** `--name` as a number of at least `min` (default `fallback`); anything else is refused, naming the option. */
export function numberOption(name: string, fallback: number, min: number, args?: readonly string[]): number {
  const text = benchOption(name, args);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} ${text}: expected a number ≥ ${min} (default ${fallback})`);
  return value;
}
