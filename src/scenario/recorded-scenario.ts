/**
 * The scenario file a log header names, found and checked before replay imports it.
 *
 * Importing a scenario module runs its code, and a log header is only text: an edited
 * header could name any script on the disk. So replay imports only a file that
 *   - lies inside the project (the directory holding the nearest package.json, of the
 *     working directory or of the log; or the one given with --project): a recorded
 *     path is relative to it, without `..`, and the file's real path (symlinks
 *     resolved) stays inside it;
 *   - exists;
 *   - has the bytes the run had: its sha256 equals the header's `scenario.sha256`,
 *     written at run time. A log recorded before fedsim kept the hash is refused unless
 *     the user accepts the file as it is now (--allow-unverified-scenario).
 * The modules a `kind: module` experiment file names are held to the same rules: the
 * header records them (scenario.modules) and replay checks each before importing it
 * (recordedModulesCheck). The hashes cover the files fedsim loads, not the modules those
 * import with `import`; and they say
 * the file is the one that made the run, not that the run's author is to be trusted:
 * replaying a log from someone else runs the scenario file it names, from your project.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { displayPath, projectRoot } from './scenario-path.js';

/** Why a recorded scenario cannot be replayed: `changed` is the environment, the others are the log or the options. */
export type RecordedScenarioProblem = 'unnamed' | 'outside' | 'missing' | 'unverified' | 'damaged' | 'changed';

export class RecordedScenarioError extends Error {
  override name = 'RecordedScenarioError';
  constructor(message: string, readonly problem: RecordedScenarioProblem) {
    super(message);
  }
}

export interface RecordedScenarioOptions {
  /** The project to look in (--project); default: the projects of the working directory and of the log. */
  project?: string;
  /** Accept a log whose header has no scenario.sha256 (recorded before fedsim kept one). */
  allowUnverified?: boolean;
  cwd?: string;
}

export interface RecordedScenario {
  /** Absolute path of the file to load. */
  path: string;
  /** The sha256 the file has (and the header names, unless unverified). */
  sha256: string;
  verified: boolean;
}

export function sha256OfFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** True when `path` is `root` or below it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel));
}

const HINT_PROJECT = 'Run the replay from the project that made the run (the directory with its package.json), or name that directory with --project <dir>.';

/** Where replay looks without --project: the projects of the working directory and of the log. */
function defaultProjects(logFile: string, cwd: string): string[] {
  return [projectRoot(join(cwd, 'x')), projectRoot(resolve(logFile))].filter((r): r is string => r !== undefined);
}

/**
 * The directory a replay of `logFile` must be given with --project to find the scenario
 * file at `scenarioPath` from any working directory — undefined when the log lies inside
 * the scenario's project (replay finds the project from the log). For the "replay it:"
 * hint, which a user may paste anywhere: the working directory the run was started from
 * says nothing about where the replay will be. A file in no project is recorded by its
 * absolute path, which replay accepts only inside --project: its directory.
 */
export function replayProjectFor(scenarioPath: string, logFile: string): string | undefined {
  const project = projectRoot(scenarioPath);
  if (project !== undefined && projectRoot(resolve(logFile)) === project) return undefined;
  return project ?? dirname(resolve(scenarioPath));
}

/** Finds and checks the scenario file named by a log header's `scenario` record (see the file comment). */
export function resolveRecordedScenario(info: Record<string, unknown> | undefined, logFile: string, options: RecordedScenarioOptions = {}): RecordedScenario {
  const recorded = info?.path;
  if (typeof recorded !== 'string' || recorded === '') {
    throw new RecordedScenarioError(
      `${displayPath(resolve(logFile))}: the log header does not name a scenario file, so the run cannot be re-executed. ` +
        "Logs written by `fedsim run` (or runScenario on a scenario with a path) record it; for other logs use the runtime's verifyRun().",
      'unnamed',
    );
  }
  return resolveRecordedFile({ path: recorded, sha256: info?.sha256, field: 'scenario' }, logFile, options);
}

/**
 * The check replay runs on each file the scenario file loads (the module of a `kind:
 * module` file), called with its bytes before it is imported (LoadScenarioOptions.verifyCode):
 * it must be one the header's `scenario.modules` records, found under the same rules as
 * the scenario file, with the recorded bytes. A log recorded before fedsim kept them is
 * refused unless --allow-unverified-scenario.
 */
export function recordedModulesCheck(info: Record<string, unknown> | undefined, logFile: string, options: RecordedScenarioOptions = {}): (path: string, sha256: string) => void {
  const log = displayPath(resolve(logFile));
  const listed = info?.modules;
  if (listed !== undefined && !(Array.isArray(listed) && listed.every((m) => typeof m === 'object' && m !== null && typeof m.path === 'string' && m.path !== ''))) {
    throw new RecordedScenarioError(`${log}: the log header's scenario.modules is not a list of { path, sha256 } (found ${JSON.stringify(listed)}): the header was edited.`, 'damaged');
  }
  // Every recorded module is found and checked now, before the scenario file is even parsed.
  const expected = new Map<string, RecordedScenario>();
  for (const m of (listed ?? []) as Array<{ path: string; sha256?: unknown }>) {
    const file = resolveRecordedFile({ path: m.path, sha256: m.sha256, field: 'scenario.modules' }, logFile, options);
    expected.set(realpathSync(file.path), file);
  }
  return (path, sha256) => {
    const file = expected.get(realpathSync(path));
    if (file === undefined) {
      if (listed === undefined && options.allowUnverified) return;
      throw new RecordedScenarioError(
        `${log}: the scenario file loads ${displayPath(path)}, which the log header does not record` +
          (listed === undefined
            ? ' (the log was recorded before fedsim kept the modules a scenario file loads), so replay cannot check it before importing it. If you trust it as it is now, add --allow-unverified-scenario.'
            : `; the run loaded ${(listed as Array<{ path: string }>).map((m) => m.path).join(', ')}: the scenario file or the header was edited.`),
        listed === undefined ? 'unverified' : 'changed',
      );
    }
    if (file.sha256 !== sha256) throw changedError(path, file.sha256, sha256, 'module');
  };
}

/** One recorded file (the scenario file, or a module it loads): inside the project, present, with the recorded bytes. */
function resolveRecordedFile(entry: { path: string; sha256: unknown; field: string }, logFile: string, options: RecordedScenarioOptions): RecordedScenario {
  const log = displayPath(resolve(logFile));
  const recorded = entry.path;
  const noun = entry.field === 'scenario' ? 'scenario file' : 'module (loaded by the scenario file)';
  const cwd = options.cwd ?? process.cwd();
  const roots = options.project !== undefined ? [resolve(cwd, options.project)] : defaultProjects(logFile, cwd);
  const outside = (why: string) =>
    new RecordedScenarioError(
      `${log}: the log header names the ${noun} '${recorded}', ${why}; replay imports (runs) only scenario files inside the project. ` +
        'A header naming another place was edited, or the log was made elsewhere: copy the scenario into the project, or name the directory that holds it with --project <dir>.',
      'outside',
    );
  if (recorded.split(/[\\/]/).includes('..')) throw outside('which leaves the project (..)');
  if (isAbsolute(recorded) && !roots.some((root) => isInside(root, recorded))) {
    throw outside(options.project !== undefined ? `which is not inside --project ${options.project}` : 'an absolute path (a file outside any project when it ran)');
  }
  if (roots.length === 0) {
    throw new RecordedScenarioError(`${log}: no project found (no package.json above the working directory or the log), so the ${noun} ${recorded} cannot be looked up. ${HINT_PROJECT}`, 'missing');
  }

  const candidates = [...new Set([...roots.map((root) => resolve(root, recorded)), resolve(cwd, recorded), resolve(dirname(resolve(logFile)), recorded)])].filter((c) =>
    roots.some((root) => isInside(root, c)),
  );
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) {
    throw new RecordedScenarioError(`${log}: the ${noun} of this run, ${recorded}, is not found (looked in ${candidates.map((c) => displayPath(c)).join(' and ')}). ${HINT_PROJECT}`, 'missing');
  }
  const real = realpathSync(found);
  if (!roots.some((root) => isInside(realpathSync(root), real))) throw outside(`which resolves (through a symbolic link) to ${real}, outside the project`);

  const sha256 = sha256OfFile(real);
  const expected = entry.sha256;
  if (expected === undefined) {
    if (options.allowUnverified) return { path: found, sha256, verified: false };
    throw new RecordedScenarioError(
      `${log}: the log header has no sha256 of its ${noun} (the log was recorded before fedsim kept one), so replay cannot check that ${displayPath(found)} ` +
        'is the file that made the run, and importing it runs its code. If you trust the file as it is now, add --allow-unverified-scenario.',
      'unverified',
    );
  }
  if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/.test(expected)) {
    throw new RecordedScenarioError(`${log}: the log header's ${entry.field}.sha256 is not a sha256 (found ${JSON.stringify(expected)}): the header was edited.`, 'damaged');
  }
  if (expected !== sha256) throw changedError(found, expected, sha256, entry.field === 'scenario' ? 'scenario file' : 'module');
  return { path: found, sha256, verified: true };
}

export function changedError(file: string, expected: string, found: string, noun = 'scenario file'): RecordedScenarioError {
  return new RecordedScenarioError(
    `the ${noun} changed since the log was recorded: expected sha256 ${expected}, found ${found} (${displayPath(file)}); replay needs the file as it was ` +
      '(check it out from the commit that made the run, e.g. git log -- <file>).',
    'changed',
  );
}
