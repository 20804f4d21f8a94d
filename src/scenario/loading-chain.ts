/**
 * What one `loadScenario` call passes down to the files it loads through them: an
 * experiment file of kind `module` loads another scenario file, which may be another
 * experiment file. The kind's `toScenario(config, source)` cannot carry this, so it
 * travels in an AsyncLocalStorage for the duration of the load:
 *   - `chain`: the real paths of the files being loaded, outermost first, so a file that
 *     names itself, or a file that names it back, is a cycle refused in one line, not a
 *     stack overflow;
 *   - `verifyCode`: set by replay, called with every nested file's bytes (sha256) before
 *     the file is read further or imported, so a module the header does not record, or
 *     one whose bytes changed, is refused before its code runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LoadingChain {
  chain: readonly string[];
  /** Throws when the nested file at `path` (absolute) with these bytes may not be loaded. */
  verifyCode?: (path: string, sha256: string) => void;
}

const current = new AsyncLocalStorage<LoadingChain>();

export function currentLoadingChain(): LoadingChain {
  return current.getStore() ?? { chain: [] };
}

/** Runs `load` with `file` appended to the chain (and `verifyCode`, when given, replacing the outer one). */
export function withinLoadingChain<T>(file: string, verifyCode: LoadingChain['verifyCode'], load: () => Promise<T>): Promise<T> {
  const outer = currentLoadingChain();
  return current.run({ chain: [...outer.chain, file], verifyCode: verifyCode ?? outer.verifyCode }, load);
}

/** True when the file being loaded was named by another scenario file (not given by the user or replay directly). */
export function isNestedLoad(): boolean {
  return currentLoadingChain().chain.length > 1;
}
