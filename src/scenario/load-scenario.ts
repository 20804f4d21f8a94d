/**
 * Loading a scenario file: a TS/JS module that default-exports `defineScenario(...)`,
 * or a YAML/JSON experiment file turned into a scenario by its registered kind.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { type DocumentContext, describeIssues, describeProblems } from './document-errors.js';
import { defineScenario, isScenario, type Scenario, withOverrides } from './define-scenario.js';
import { type ExperimentKind, experimentKind, experimentKinds } from './experiment-kinds.js';
import { faultPlanProblems } from './fault-actors.js';
import { FILE_LIMITS, type LimitSpec, checkLimitNames, effectiveLimits, limitsBlockSchema, raiseHint } from './limits.js';
import { registerModuleExperimentKind } from './module-experiment.js';
import { firstTooDeep } from './nesting-depth.js';
import { type ParamOverride, ParamOverrideError, applyParamOverrides } from './param-overrides.js';
import { currentLoadingChain, isNestedLoad, withinLoadingChain } from './loading-chain.js';
import { RecordedScenarioError } from './recorded-scenario.js';
import { displayPath } from './scenario-path.js';
import { prepareUserModuleImport } from './user-module-loader.js';

export class ScenarioLoadError extends Error {
  override name = 'ScenarioLoadError';
  constructor(message: string, readonly file: string, readonly problems: string[] = []) {
    super(problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
  }
}

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);
const DOCUMENT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface LoadScenarioOptions {
  /**
   * Limits raised (or lowered) for this load, over each limit's default and the file's own
   * `limits:` block (the CLI's --limit). Unknown names are refused.
   */
  limits?: Record<string, number>;
  /**
   * The run's parameters (the CLI's --param). For an experiment kind that does not read
   * `ctx.params` (kind: fedavg) they set the file's fields (`rounds=3`, `data.devices=10`);
   * modules and the `module` kind get them as ctx.params when the run starts instead.
   */
  params?: Record<string, unknown>;
  /** What set each parameter, for messages (`--set`, a sweep file's grid); default `--param`. */
  paramFlags?: Readonly<Record<string, string>>;
  /**
   * Called with each file loaded through this one (the module a `kind: module` file names)
   * and its sha256, before that file is imported or parsed; throws to refuse it. Replay
   * checks them against the log header (see recorded-scenario.ts).
   */
  verifyCode?: (path: string, sha256: string) => void;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export async function loadScenario(path: string, options: LoadScenarioOptions = {}): Promise<Scenario<any>> {
  const absolute = resolve(path);
  const shown = displayPath(absolute);
  if (!existsSync(absolute)) throw new ScenarioLoadError(`Scenario file not found: ${shown}${shown === path ? '' : ` (resolved from '${path}')`}.`, shown);
  if (statSync(absolute).isDirectory()) throw new ScenarioLoadError(`${shown} is a directory; give a scenario file (.ts, .js, .yaml, .yml or .json).`, shown);
  return withinLoadingChain(realpathSync(absolute), options.verifyCode, () => loadScenarioFile(absolute, shown, options));
}

/** Checks the bytes of a file loaded through another one (see loading-chain.ts), before they are used. */
function verifyNested(absolute: string, sha256: string): void {
  if (isNestedLoad()) currentLoadingChain().verifyCode?.(absolute, sha256);
}

async function loadScenarioFile(absolute: string, shown: string, options: LoadScenarioOptions): Promise<Scenario<any>> {
  const ext = extname(absolute).toLowerCase();
  if (MODULE_EXTENSIONS.has(ext)) {
    // A module has no sizes to bound: only the file limits' names are meaningful (and unused).
    refuseLimitNames(options.limits, FILE_LIMITS, shown);
    return loadModule(absolute, shown);
  }
  if (DOCUMENT_EXTENSIONS.has(ext)) return loadExperiment(absolute, shown, options.limits ?? {}, options.params ?? {}, options.paramFlags);
  throw new ScenarioLoadError(`${shown}: unknown scenario file type '${ext || '(none)'}'. Use a .ts/.js module that default-exports defineScenario(...), or a .yaml/.yml/.json experiment file.`, shown);
}

/** How a module's source can give it a default export (ESM, or CommonJS's module.exports). */
const DEFAULT_EXPORT = /\bexport\s+default\b|\bas\s+default\b|\bmodule\.exports\b|\bexports\.default\b/;

async function loadModule(absolute: string, shown: string): Promise<Scenario<any>> {
  // Read just before the import: the bytes a replay will compare with (the modules it imports are not covered).
  const bytes = readFileSync(absolute);
  const sha256 = sha256Of(bytes);
  verifyNested(absolute, sha256);
  // Importing runs the module: a script that is no scenario (a benchmark, a tool) is refused before it runs.
  if (!DEFAULT_EXPORT.test(bytes.toString('utf8'))) {
    throw new ScenarioLoadError(
      `${shown} has no default export, so it is not a scenario module (it was not imported: importing would run it). ` +
        'A scenario module default-exports defineScenario({ name, run, checks }) or a function (sim, ctx) => result.',
      shown,
    );
  }
  let exports: Record<string, unknown>;
  try {
    await prepareUserModuleImport();
    exports = await import(pathToFileURL(absolute).href);
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const hint = /Unknown file extension ".ts"/.test(detail)
      ? ' (TypeScript scenarios need tsx: run through `fedsim` or `node --import tsx`)'
      : /require\(\) ES Module|Cannot use import statement/.test(detail)
        ? ' (it was loaded as CommonJS: name it .mts, or keep it under a package.json with "type": "module")'
        : '';
    throw new ScenarioLoadError(`${shown}: the scenario module failed to load${hint}: ${detail}`, shown);
  }
  const scenario = exports.default;
  if (typeof scenario === 'function') {
    // A bare `export default async function (sim, ctx) {…}` is a scenario named after its file, without checks.
    const run = scenario as (sim: Parameters<Scenario['run']>[0], ctx: Parameters<Scenario['run']>[1]) => unknown;
    return withOverrides(defineScenario({ name: basename(absolute, extname(absolute)), path: absolute, run: (sim, ctx) => run(sim, ctx) }), { sha256 });
  }
  if (!isScenario(scenario)) {
    const names = Object.keys(exports);
    const found = scenario === undefined ? `no default export (exports: ${names.length ? names.join(', ') : 'none'})` : `a default export of type ${typeof scenario}`;
    throw new ScenarioLoadError(`${shown}: expected a default export made with defineScenario({ name, run, checks }) (or a function (sim, ctx) => result), found ${found}.`, shown);
  }
  return withOverrides(scenario, { path: absolute, sha256 });
}

function refuseLimitNames(limits: Record<string, number> | undefined, specs: Record<string, LimitSpec>, shown: string): void {
  try {
    checkLimitNames(limits, specs, `--limit for ${shown}`);
  } catch (error) {
    throw new ScenarioLoadError((error as Error).message, shown);
  }
}

/** Refuses a file above the size limit before reading it (a multi-GB file must not be read whole to be refused). */
function refuseOversized(absolute: string, shown: string, limits: Record<string, number>): void {
  const max = limits.fileBytes ?? FILE_LIMITS.fileBytes.default;
  const size = statSync(absolute).size;
  if (size > max) {
    throw new ScenarioLoadError(
      `${shown} is ${size.toLocaleString('en-US')} bytes; scenario and experiment files are limited to ${max.toLocaleString('en-US')} bytes (limit fileBytes). ` +
        `If the file is meant to be this large, ${raiseHint('fileBytes', false)}.`,
      shown,
    );
  }
}

/** The file's data, with YAML aliases expanded at most `yamlAliases` times (an alias bomb is refused, not expanded). */
function documentData(doc: ReturnType<typeof parseDocument>, shown: string, limits: Record<string, number>): unknown {
  const maxAliasCount = limits.yamlAliases ?? FILE_LIMITS.yamlAliases.default;
  try {
    return doc.toJS({ maxAliasCount });
  } catch (error) {
    // Aliases inside aliases can nest deeper than the text does.
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new ScenarioLoadError(`${shown}: its YAML aliases (*name) nest too deeply to be expanded; write the values out.`, shown);
    }
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ScenarioLoadError(
        `${shown}: its YAML aliases (*name) expand to more than ${maxAliasCount} copies (limit yamlAliases), the shape of an "alias bomb" that would exhaust memory. ` +
          `Write the values out, or if the file is trusted, ${raiseHint('yamlAliases', false)}.`,
        shown,
      );
    }
    throw error;
  }
}

/** Refuses a file nested deeper than the limit, before anything recursive reads it (see nesting-depth.ts). */
function refuseDeepNesting(text: string, shown: string, limits: Record<string, number>): void {
  const max = limits.nestingDepth ?? FILE_LIMITS.nestingDepth.default;
  const at = firstTooDeep(text, max);
  if (at === undefined) return;
  throw new ScenarioLoadError(
    `${shown}:${at.line}:${at.col}: nested more than ${max} levels deep (limit nestingDepth); experiment files need a few levels. ` +
      `If the file really nests this deep, ${raiseHint('nestingDepth', false)}.`,
    shown,
  );
}

/** The step budget a file may set (`maxSteps: N`, any kind): taken out before the kind's schema sees the file. */
function maxStepsField(value: unknown, context: DocumentContext, shown: string): number | undefined {
  if (value === undefined) return undefined;
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number;
  const [line] = describeProblems([{ path: ['maxSteps'], expected: 'a positive integer (the step budget of one await or settle)' }], { maxSteps: value }, context);
  throw new ScenarioLoadError(`${shown}: invalid \`maxSteps\`:`, shown, [line]);
}

async function loadExperiment(absolute: string, shown: string, cliLimits: Record<string, number>, params: Record<string, unknown>, paramFlags?: Readonly<Record<string, string>>): Promise<Scenario<any>> {
  refuseOversized(absolute, shown, cliLimits);
  const bytes = readFileSync(absolute);
  const sha256 = sha256Of(bytes);
  verifyNested(absolute, sha256);
  const text = bytes.toString('utf8');
  refuseDeepNesting(text, shown, cliLimits);
  const lines = new LineCounter();
  // YAML would accept some broken JSON (`"a": }` as null), so JSON files must first pass JSON.parse.
  if (extname(absolute).toLowerCase() === '.json') {
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const at = /position (\d+)/.exec(message);
      const pos = at ? lineCol(text, Number(at[1])) : undefined;
      const where = pos ? `:${pos.line}:${pos.col}` : '';
      throw new ScenarioLoadError(`${shown} is not valid JSON:`, shown, [`${shown}${where}: ${message}`]);
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.slice(0, 5).map((e) => {
      const pos = lines.linePos(e.pos[0]);
      // The library's words ("please use YAML.parseAllDocuments()") address a programmer, not the file's author.
      const message =
        e.code === 'MULTIPLE_DOCS'
          ? `a second YAML document starts here (\`---\`); an experiment file holds one document: put each experiment in a file of its own`
          : e.message.split('\n')[0];
      return `${shown}:${pos.line}:${pos.col}: ${message}`;
    });
    throw new ScenarioLoadError(`${shown} is not valid ${extname(absolute) === '.json' ? 'JSON' : 'YAML'}:`, shown, problems);
  }
  const data = documentData(doc, shown, cliLimits);
  registerModuleExperimentKind(); // built in, idempotent; registered on use because the two modules import each other
  const known = experimentKinds();
  const knownList = known.length ? known.join(', ') : '(none registered)';
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioLoadError(`${shown}: an experiment file is a mapping with a \`kind\` field (one of: ${knownList}); found ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}.`, shown);
  }
  const fileKind = (data as Record<string, unknown>).kind;
  if (typeof fileKind !== 'string') {
    throw new ScenarioLoadError(`${shown}: missing \`kind\`: an experiment file names its kind, one of: ${knownList}.`, shown);
  }
  const definition = experimentKind(fileKind);
  // A sweep is many runs, not a scenario (sweep-file.ts): its own command runs it.
  if (!definition && fileKind === 'sweep') throw new ScenarioLoadError(`${shown} is a sweep file (kind: sweep), not one experiment: run it with \`fedsim sweep ${shown}\`.`, shown);
  if (!definition) throw new ScenarioLoadError(`${shown}: unknown experiment kind '${fileKind}'. Known kinds: ${knownList}.`, shown);
  // Parameters of a kind that does not read ctx.params set the file's fields (see param-overrides.ts).
  let withParams: { data: Record<string, unknown>; overrides: ParamOverride[] } = { data: data as Record<string, unknown>, overrides: [] };
  if (!definition.readsParams && Object.keys(params).length) {
    try {
      withParams = applyParamOverrides(data as Record<string, unknown>, params, shown, paramFlags);
    } catch (error) {
      if (error instanceof ParamOverrideError) throw new ScenarioLoadError(error.message, shown);
      throw error;
    }
  }
  const { kind, limits: limitsBlock, maxSteps: maxStepsValue, ...config } = withParams.data;
  const context: DocumentContext = { file: shown, doc, lines, overrides: withParams.overrides };
  const maxSteps = maxStepsField(maxStepsValue, context, shown);
  const limits = kindLimits(definition, kind as string, limitsBlock, cliLimits, context, shown);
  const parsed = definition.schema.safeParse(config);
  if (!parsed.success) {
    throw new ScenarioLoadError(`${shown} is not a valid '${kind}' experiment:`, shown, describeIssues(parsed.error, config, { ...context, schema: definition.schema }));
  }
  const problems = definition.preflight?.(parsed.data, { limits, dir: dirname(absolute) }) ?? [];
  if (problems.length) throw new ScenarioLoadError(`${shown}: this '${kind}' experiment cannot run as written:`, shown, describeProblems(problems, config, context));
  let scenario: Scenario<any>;
  try {
    scenario = await definition.toScenario(parsed.data, { path: absolute, dir: dirname(absolute) });
  } catch (error) {
    // A nested file's own load error, or replay refusing it (recorded-scenario.ts), is said as it is.
    if (error instanceof ScenarioLoadError || error instanceof RecordedScenarioError) throw error;
    throw new ScenarioLoadError(`${shown}: the '${kind}' experiment could not be built: ${error instanceof Error ? error.message : String(error)}`, shown);
  }
  if (!isScenario(scenario)) throw new ScenarioLoadError(`${shown}: experiment kind '${kind}' did not return a scenario from toScenario().`, shown);
  refuseUnknownFaultActors(scenario, config.faults, context);
  // The experiment file, not the module it may wrap, is what reproduces the run.
  return withOverrides(scenario, { path: absolute, sha256, maxSteps, settings: structuredClone({ kind, ...config }) });
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

/** The limits a file of this kind is held to: defaults, then its `limits:` block, then the CLI's. */
function kindLimits(definition: ExperimentKind, kind: string, block: unknown, cliLimits: Record<string, number>, context: DocumentContext, shown: string) {
  const specs = definition.limits ?? {};
  refuseLimitNames(cliLimits, { ...FILE_LIMITS, ...specs }, shown);
  if (block === undefined) return effectiveLimits({ ...FILE_LIMITS, ...specs }, cliLimits);
  const parsed = limitsBlockSchema(specs).safeParse(block);
  if (!parsed.success) {
    const known = Object.keys(specs);
    throw new ScenarioLoadError(
      `${shown}: invalid \`limits:\` block (a '${kind}' file may raise ${known.length ? known.join(', ') : 'no limit'}; fileBytes and yamlAliases only with --limit):`,
      shown,
      describeIssues(parsed.error, block, { ...context, basePath: ['limits'] }),
    );
  }
  return effectiveLimits({ ...FILE_LIMITS, ...specs }, parsed.data as Record<string, number>, cliLimits);
}

/**
 * A scenario that knows its actors refuses a fault plan naming others. An inline plan's
 * problems point at the file's lines; a plan read from a file names that file.
 */
function refuseUnknownFaultActors(scenario: Scenario<any>, faultsField: unknown, context: DocumentContext): void {
  if (!scenario.actors || !scenario.faults) return;
  const problems = faultPlanProblems(scenario.faults, scenario.actors);
  if (problems.length === 0) return;
  const inline = typeof faultsField !== 'string';
  const lines = inline
    ? describeProblems(problems.map((p) => ({ path: ['faults', ...p.path], expected: p.expected })), { faults: faultsField }, context)
    : describeProblems(problems.map((p) => ({ path: p.path, expected: p.expected })), scenario.faults, { file: `${context.file} → faults: ${faultsField}` });
  throw new ScenarioLoadError(`${context.file}: the fault plan names actors this run does not have:`, context.file, lines);
}
