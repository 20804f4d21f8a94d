/**
 * `--param key=value` on an experiment file whose kind does not read `ctx.params`
 * (`kind: fedavg`): the value sets the file's field instead — `--param rounds=3`,
 * `--param data.devices=10` (a dotted path into a mapping) — before the file is
 * validated, so a bad value is refused like a bad line, naming the --param.
 *
 * The run's log header records the parameters, and replay applies them again when it
 * loads the file, so the run replays as it ran.
 */

/** A field set by a --param, and the --param as typed. */
export interface ParamOverride {
  path: string[];
  source: string;
}

export class ParamOverrideError extends Error {
  override name = 'ParamOverrideError';
}

/** Fields --param may not set, with what to use instead. */
const RESERVED: Record<string, string> = {
  kind: 'the kind of a file cannot be changed from the command line',
  limits: 'raise limits with --limit name=N',
};

/** `--param key=value` (or `--set key=value`, or whatever `flag` says set it) as the user would have typed it (for messages). */
export function paramSource(key: string, value: unknown, flag = '--param'): string {
  return `${flag} ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

/**
 * A copy of `data` with each parameter set at its dotted path, and where each came from
 * (for DocumentContext.overrides; `flags` names the flag or file that set a key, default --param). Intermediate mappings are created when missing; a
 * path through a value that is not a mapping is refused.
 */
export function applyParamOverrides(
  data: Record<string, unknown>,
  params: Readonly<Record<string, unknown>>,
  shown: string,
  flags: Readonly<Record<string, string>> = {},
): { data: Record<string, unknown>; overrides: ParamOverride[] } {
  const copy = structuredClone(data);
  const overrides: ParamOverride[] = [];
  for (const [key, value] of Object.entries(params)) {
    const source = paramSource(key, value, flags[key]);
    const path = key.split('.');
    // (__proto__ and friends would reach Object.prototype, not a field.)
    if (path.some((segment) => segment === '' || segment === '__proto__' || segment === 'constructor' || segment === 'prototype')) throw new ParamOverrideError(`${source}: '${key}' is not a field path; write a field name, or a dotted path like data.devices.`);
    if (RESERVED[path[0]]) throw new ParamOverrideError(`${source}: ${RESERVED[path[0]]}.`);
    let target: Record<string, unknown> = copy;
    for (const [i, segment] of path.slice(0, -1).entries()) {
      const next = Object.hasOwn(target, segment) ? target[segment] : undefined;
      if (next === undefined) target[segment] = {};
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new ParamOverrideError(`${source}: in ${shown}, ${path.slice(0, i + 1).join('.')} is not a mapping, so it has no field '${path[i + 1]}'.`);
      }
      target = target[segment] as Record<string, unknown>;
    }
    target[path[path.length - 1]] = value;
    overrides.push({ path, source });
  }
  return { data: copy, overrides };
}
