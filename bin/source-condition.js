// A module-resolution hook for source checkouts (bin/fedsim.js registers it there,
// never in an installed package): it adds the 'fedsim-source' export condition, the
// same as `node --conditions=fedsim-source`, so that 'fedsim' and 'fedsim/…' resolve
// to src/*.ts instead of dist/. Kept in its own file because Node loads resolution
// hooks as a module of their own.
const CONDITION = 'fedsim-source';

export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes(CONDITION) ? context.conditions : [...context.conditions, CONDITION];
  return nextResolve(specifier, { ...context, conditions });
}
