/**
 * The registry of experiment kinds: how a YAML/JSON experiment file becomes a scenario.
 *
 * A file names its `kind`; the kind's zod schema validates the rest of the file and
 * `toScenario` builds the scenario from the validated config. Higher layers register
 * their kinds (the FL layer: `kind: fedavg`) before files are loaded — the CLI does
 * it in src/cli/experiment-kinds.ts.
 */
import type { z } from 'zod';
import type { Scenario } from './define-scenario.js';
import type { DocumentProblem } from './document-errors.js';
import type { LimitSpec, Limits } from './limits.js';

export interface ExperimentSource {
  /** Absolute path of the experiment file. */
  path: string;
  /** Its directory: relative paths inside the file (modules, fault plans, data) resolve against it. */
  dir: string;
}

export interface ExperimentKind<C = any> {
  /** Validates the file's content without its `kind` field. */
  schema: z.ZodType<C>;
  toScenario(config: C, source: ExperimentSource): Scenario<any> | Promise<Scenario<any>>;
  /**
   * True when the kind hands the run's parameters to its scenario as `ctx.params` (the
   * `module` kind). Otherwise `--param key=value` sets the file's field `key` instead
   * (see param-overrides.ts): a parameter is never silently ignored.
   */
  readsParams?: boolean;
  /** One line for listings (`fedsim --help`, unknown-kind errors). */
  description?: string;
  /**
   * Bounds on the sizes a file of this kind may ask for (rounds, clients, …), each with a
   * default; a file raises them in its `limits:` block, the CLI with --limit (see limits.ts).
   */
  limits?: Record<string, LimitSpec>;
  /**
   * Problems the schema cannot see, found before the run: fields that contradict each
   * other (a threshold above the neighbourhood size) or exceed `limits`. Each names its
   * field, so the loader can point at the file's line.
   */
  preflight?(config: C, context: { limits: Limits; /** The file's folder (relative paths inside it start there). */ dir?: string }): DocumentProblem[];
}

const kinds = new Map<string, ExperimentKind>();

export class ExperimentKindError extends Error {
  override name = 'ExperimentKindError';
}

/** Registers a kind; registering a different definition under a taken name needs `{ replace: true }`. */
export function registerExperimentKind<C>(kind: string, definition: ExperimentKind<C>, options: { replace?: boolean } = {}): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new ExperimentKindError(`Experiment kind names are lower-case words with dashes, got ${JSON.stringify(kind)}.`);
  const existing = kinds.get(kind);
  if (existing && existing !== definition && !options.replace) {
    throw new ExperimentKindError(`Experiment kind '${kind}' is already registered; pass { replace: true } to replace it.`);
  }
  kinds.set(kind, definition as ExperimentKind);
}

export function unregisterExperimentKind(kind: string): boolean {
  return kinds.delete(kind);
}

export function experimentKind(kind: string): ExperimentKind | undefined {
  return kinds.get(kind);
}

/** Registered kind names, sorted. */
export function experimentKinds(): string[] {
  return [...kinds.keys()].sort();
}

/** `name — description` lines for help texts. */
export function describeExperimentKinds(): string[] {
  return experimentKinds().map((k) => (kinds.get(k)!.description ? `${k} — ${kinds.get(k)!.description}` : k));
}
