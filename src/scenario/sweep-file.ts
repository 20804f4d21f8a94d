/**
 * A sweep file: one experiment run over a grid of settings × seeds (`fedsim sweep FILE`).
 *
 *   kind: sweep
 *   experiment: experiments/synthetic-fedavg.yaml   # relative to this file
 *   set: { rounds: 20 }                             # every run (as --set)
 *   grid: { lr: [0.01, 0.05], algorithm.mu: [0, 0.1] }
 *   seeds: [0, 1, 2]
 *
 * gives 2 × 2 × 3 = 12 runs, each named after its settings (`lr=0.01,algorithm.mu=0,seed=1`),
 * in a fixed order: the grid's keys as written, the last varying fastest, seeds innermost.
 * Grid keys are the experiment's fields as --set takes them (dotted paths); each run's
 * experiment is validated like `fedsim run --set` validates it, before any run starts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { type DocumentContext, describeIssues, describeProblems, type DocumentProblem } from './document-errors.js';
import { SeedSchema } from './experiment-fields.js';
import { FILE_LIMITS, type LimitSpec, checkLimitNames, effectiveLimits, raiseHint } from './limits.js';
import { displayPath } from './scenario-path.js';

/** Limits of a sweep file (raised in its `limits:` block or with --limit). */
export const SWEEP_LIMITS = {
  runs: { default: 100, what: 'runs of a sweep (grid size × seeds)' },
} as const satisfies Record<string, LimitSpec>;

export class SweepFileError extends Error {
  override name = 'SweepFileError';
  constructor(message: string, readonly problems: string[] = []) {
    super(problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
  }
}

export const SweepFileSchema = z
  .object({
    kind: z.literal('sweep'),
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    /** The experiment file every run runs, relative to the sweep file. */
    experiment: z.string().min(1),
    /** Fields set in every run (as `--set key=value`). */
    set: z.record(z.string().min(1), z.unknown()).optional(),
    /** Each key (a field, dotted like --set) with the values to try. */
    grid: z.record(z.string().min(1), z.array(z.unknown()).min(1)).optional(),
    /** Seeds each grid point runs under (default: the experiment's own seed, one run per point). */
    seeds: z.array(SeedSchema).min(1).optional(),
    limits: z.object({ runs: z.number().int().positive().optional() }).strict().optional(),
  })
  .strict();

export interface SweepRun {
  /** The run's directory name, from its settings: `lr=0.01,algorithm.mu=0,seed=1`. */
  name: string;
  /** `set` and this grid point, as --set would give them. */
  params: Record<string, unknown>;
  seed?: string | number;
}

export interface Sweep {
  /** As shown to the user. */
  file: string;
  name: string;
  /** The experiment file, absolute. */
  experiment: string;
  runs: SweepRun[];
  /** Where each parameter came from, for messages when an experiment refuses it (`sweep.yaml:5 grid`). */
  paramFlags: Record<string, string>;
}

/** Characters a run's directory name keeps; others become `_` (a value like "a/b" must not make a subfolder). */
const NAME_UNSAFE = /[^A-Za-z0-9._=,+-]/g;

const valueText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

export function loadSweepFile(path: string, cliLimits: Record<string, number> = {}): Sweep {
  const absolute = resolve(path);
  const shown = displayPath(absolute);
  if (!existsSync(absolute)) throw new SweepFileError(`Sweep file not found: ${shown}.`);
  if (statSync(absolute).isDirectory()) throw new SweepFileError(`${shown} is a directory; give a sweep file (.yaml, .yml or .json with \`kind: sweep\`).`);
  const maxBytes = cliLimits.fileBytes ?? FILE_LIMITS.fileBytes.default;
  const size = statSync(absolute).size;
  if (size > maxBytes) throw new SweepFileError(`${shown} is ${size.toLocaleString('en-US')} bytes; sweep files are limited to ${maxBytes.toLocaleString('en-US')} bytes (limit fileBytes); ${raiseHint('fileBytes', false)}.`);
  const text = readFileSync(absolute, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new SweepFileError(
      `${shown} is not valid YAML:`,
      doc.errors.slice(0, 5).map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `${shown}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: cliLimits.yamlAliases ?? FILE_LIMITS.yamlAliases.default });
  } catch (error) {
    throw new SweepFileError(`${shown}: its YAML aliases (*name) expand too far (${(error as Error).message}); write the values out.`);
  }
  const context: DocumentContext = { file: shown, doc, lines, schema: SweepFileSchema };
  if (data === null || typeof data !== 'object' || Array.isArray(data) || (data as { kind?: unknown }).kind !== 'sweep') {
    throw new SweepFileError(`${shown}: a sweep file is a mapping with \`kind: sweep\`, \`experiment: FILE\` and a \`grid:\` and/or \`seeds:\` (see README "Comparing runs and sweeps").`);
  }
  const parsed = SweepFileSchema.safeParse(data);
  if (!parsed.success) throw new SweepFileError(`${shown} is not a valid sweep file:`, describeIssues(parsed.error, data, context));
  const sweep = parsed.data;

  try {
    checkLimitNames(cliLimits, { ...FILE_LIMITS, ...SWEEP_LIMITS }, `--limit for ${shown}`);
  } catch (error) {
    throw new SweepFileError((error as Error).message);
  }
  const limits = effectiveLimits({ ...FILE_LIMITS, ...SWEEP_LIMITS }, sweep.limits, cliLimits);
  const grid = Object.entries(sweep.grid ?? {});
  const seeds = sweep.seeds;
  const problems: DocumentProblem[] = [];
  for (const [key, values] of grid) {
    if (key === 'seed') problems.push({ path: ['grid', key], expected: 'no `seed` key: list the seeds under `seeds:`' });
    if (sweep.set && Object.hasOwn(sweep.set, key)) problems.push({ path: ['grid', key], expected: `a key not also under \`set:\` (${key} is set there for every run)`, found: key });
    const texts = values.map(valueText);
    const repeated = texts.find((t, i) => texts.indexOf(t) !== i);
    if (repeated !== undefined) problems.push({ path: ['grid', key], expected: 'each value once (a repeated value would run the same settings twice)', found: `${repeated} twice` });
  }
  if (seeds) {
    const texts = seeds.map(String);
    const repeated = texts.find((t, i) => texts.indexOf(t) !== i);
    if (repeated !== undefined) problems.push({ path: ['seeds'], expected: 'each seed once', found: `${repeated} twice` });
  }
  const count = grid.reduce((n, [, values]) => n * values.length, 1) * (seeds?.length ?? 1);
  if (count > limits.runs) {
    problems.push({ path: ['grid'], expected: `at most ${limits.runs} runs (limit runs; ${raiseHint('runs')})`, found: `${grid.map(([k, v]) => `${v.length} ${k}`).join(' × ')}${seeds ? `${grid.length ? ' × ' : ''}${seeds.length} seeds` : ''} = ${count} runs` });
  }
  if (problems.length) throw new SweepFileError(`${shown}: this sweep cannot run as written:`, describeProblems(problems, data, context));

  const runs = expand(grid, seeds, sweep.set ?? {});
  const byName = new Map<string, SweepRun>();
  for (const run of runs) {
    const earlier = byName.get(run.name);
    if (earlier) {
      throw new SweepFileError(
        `${shown}: two runs would share the directory name '${run.name}' (characters other than letters, digits and . _ = , + - become _): ` +
          `${JSON.stringify(earlier.params)} and ${JSON.stringify(run.params)}; change one of the grid values.`,
      );
    }
    byName.set(run.name, run);
  }
  const experiment = resolve(dirname(absolute), sweep.experiment);
  const where = (path: string[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? `${shown}:${lines.linePos(node.range[0]).line}` : shown;
  };
  const paramFlags: Record<string, string> = {};
  for (const key of Object.keys(sweep.set ?? {})) paramFlags[key] = `${where(['set', key])} set:`;
  for (const [key] of grid) paramFlags[key] = `${where(['grid', key])} grid:`;
  return { file: shown, name: sweep.name ?? displayName(absolute), experiment, runs, paramFlags };
}

/** The grid points in order (the last key varying fastest), each under every seed. */
function expand(grid: Array<[string, unknown[]]>, seeds: Array<string | number> | undefined, set: Record<string, unknown>): SweepRun[] {
  let points: Array<Array<[string, unknown]>> = [[]];
  for (const [key, values] of grid) points = points.flatMap((point) => values.map((value) => [...point, [key, value] as [string, unknown]]));
  return points.flatMap((point) =>
    (seeds ?? [undefined]).map((seed) => {
      // In a name, a mapping or list loses JSON's quotes and brackets: algorithm={"name":"fedprox"} → algorithm=name_fedprox.
      const parts = point.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value).replace(/["{}[\]]/g, '')}`);
      if (seed !== undefined) parts.push(`seed=${seed}`);
      const name = parts.length ? parts.join(',').replace(NAME_UNSAFE, '_') : 'run';
      return { name, params: { ...set, ...Object.fromEntries(point) }, seed };
    }),
  );
}

const displayName = (absolute: string) => absolute.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '');

