// A module-resolution hook for source checkouts (bin/fedsim.js registers it there,
// never in an installed package): it adds the 'fedsim-source' export condition, the
// same as `node --conditions=fedsim-source`, so that 'fedsim' and 'fedsim/…' resolve
// to src/*.ts instead of dist/. Kept in its own file because Node loads resolution
// hooks as a module of their own.
//
// When the command runs the bundle of src/ (bin/source-build.js), `redirects` maps the
// src/ URL of each bundled entry point to its bundled module: a scenario's
// `import … from 'fedsim'` then gets the very modules the command runs, not a second copy.
const CONDITION = 'fedsim-source';

let redirects = {};

export function initialize(data) {
  redirects = data?.redirects ?? {};
}

export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes(CONDITION) ? context.conditions : [...context.conditions, CONDITION];
  const resolved = await nextResolve(specifier, { ...context, conditions });
  const bundled = redirects[resolved.url];
  return bundled === undefined ? resolved : { ...resolved, url: bundled, format: 'module' };
}
