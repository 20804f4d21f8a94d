/**
 * What must be in place before fedsim imports a user's module (a scenario file, or the module a
 * `kind: module` experiment names): a TypeScript loader, and in a source checkout the
 * 'fedsim-source' condition that points `import … from 'fedsim'` at the code that is running.
 *
 * The fedsim command sets them up only when a command is about to import such a module
 * (bin/fedsim.js installs the function under PREPARE_USER_MODULES): Node 20 runs module hooks
 * on a thread of their own, and every module loaded after they are registered — fedsim's own,
 * zod's, … — pays a round trip to it. Elsewhere (tests run under `node --import tsx`, a program
 * that imports fedsim) nothing is installed and the importer's own loader is used, as before.
 */
const PREPARE_USER_MODULES = Symbol.for('fedsim.prepareUserModuleImport');

export async function prepareUserModuleImport(): Promise<void> {
  const prepare = (globalThis as Record<symbol, unknown>)[PREPARE_USER_MODULES];
  if (typeof prepare === 'function') await prepare();
}
