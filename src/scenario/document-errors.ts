/**
 * Error messages for experiment files: the file, the line, the field path, what was
 * expected and what was found — so a typo in a YAML file is fixed in one look.
 */
import { isMap, isPair, isScalar, LineCounter, type Document } from 'yaml';
import { z } from 'zod';
import { branchesWithField, closestName, fieldPathsNamed, knownFieldsAt } from './field-suggestions.js';

type Path = readonly PropertyKey[];

/** `clients[1].lr` */
export function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}

function valueAt(data: unknown, path: Path): { found: boolean; value: unknown } {
  let current: unknown = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in (current as object))) return { found: false, value: undefined };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

/** A short description of a value: `"fast" (a string)`, `an object with keys a, b`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)} (a string)`;
    case 'number':
      return `${value} (a number)`;
    case 'boolean':
      return `${value} (a boolean)`;
    case 'object': {
      const keys = Object.keys(value as object);
      return keys.length ? `an object with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}` : 'an empty object';
    }
    default:
      return typeof value;
  }
}

type Issue = z.core.$ZodIssue;

/** zod's type names in the words of a YAML file. */
const TYPE_WORDS: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping (key: value)',
  array: 'a list',
  null: 'null',
};
const typeWord = (expected: string) => TYPE_WORDS[expected] ?? expected;

/**
 * What was expected, in words, for one zod issue (`known`: the fields allowed where an
 * unknown one was found; `elsewhere`: for an unknown field, the union branches that do
 * take it, e.g. `name: fedprox` for `mu`; `value`: the value found).
 */
function expectation(issue: Issue, known: readonly string[] = [], elsewhere: (key: string) => string[] = () => [], value?: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod's number type refuses Infinity and NaN (YAML's .inf, .nan): say that a finite number is wanted.
      if (issue.expected === 'number' && typeof value === 'number') return 'expected a finite number';
      return `expected ${typeWord(issue.expected)}`;
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}`;
    case 'unrecognized_keys': {
      const names = issue.keys.map((k) => `'${k}'`).join(', ');
      // A field of another branch (mu on fedavg): say which branch takes it, not "did you mean 'mu'".
      const owners = issue.keys.flatMap((k) => {
        const branches = elsewhere(k);
        return branches.length ? [`'${k}' is a field of ${branches.map((b) => `{ ${b} }`).join(', ')}`] : [];
      });
      if (owners.length) return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names} here: ${owners.join('; ')} (remove it, or change the settings to that one)`;
      const suggestions = issue.keys.flatMap((k) => {
        const close = closestName(k, known);
        return close === undefined ? [] : [issue.keys.length === 1 ? `'${close}'` : `'${close}' for '${k}'`];
      });
      if (suggestions.length) return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}: did you mean ${suggestions.join(', ')}?`;
      const fields = known.length && known.length <= 12 ? `; the fields here are ${known.join(', ')}` : '';
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names} (remove or rename ${issue.keys.length > 1 ? 'them' : 'it'}${fields})`;
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options?.length) return `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
      const expected = issue.errors.flatMap((branch) => branch.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected));
      return expected.length ? `expected ${[...new Set(expected)].map(typeWord).join(' or ')}` : issue.message;
    }
    default:
      return issue.message;
  }
}

/** A branch of a union that failed only because the value has another type: not the branch the author meant. */
const typeMismatchOnly = (branch: readonly Issue[]) => branch.every((i) => i.code === 'invalid_type' && i.path.length === 0);

/**
 * Issues with full paths. A union whose value matched one branch's type (e.g. a fault
 * plan object where a path string was also allowed) is replaced by that branch's own
 * issues, which name the real field; otherwise it stays one "expected A or B" issue.
 */
function flatten(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Array<{ issue: Issue; path: PropertyKey[] }> {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const meant = issue.errors.filter((branch) => !typeMismatchOnly(branch));
      if (meant.length === 1) return flatten(meant[0], path);
    }
    return [{ issue, path }];
  });
}

/** `line:col` of the node at `path` in a parsed YAML document (or of its nearest existing parent). */
function positionOf(doc: Document | undefined, lines: LineCounter | undefined, path: Path, key?: string): string {
  if (!doc || !lines) return '';
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    let range = node?.range;
    if (key !== undefined && n === path.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key) && pair.key.range) range = pair.key.range;
    }
    if (range) {
      const { line, col } = lines.linePos(range[0]);
      return `${line}:${col}`;
    }
  }
  return '';
}

export interface DocumentContext {
  /** As shown to the user. */
  file: string;
  doc?: Document;
  lines?: LineCounter;
  /** Prepended to every issue path (e.g. the fields stripped before validation). */
  basePath?: Path;
  /** The schema the data was checked against: unknown fields get a "did you mean" from its field names. */
  schema?: z.ZodType;
  /** Fields set from outside the file (--param): a problem at or under one names it instead of a line. */
  overrides?: ReadonlyArray<{ path: readonly string[]; source: string }>;
}

type Override = NonNullable<DocumentContext['overrides']>[number];

/**
 * The --param that set a field below `path` (`--set strategy.mu=0.1` for a problem at
 * `strategy`): the problem is the value it put there, though the schema reports it one
 * level up.
 */
function overrideBelow(context: DocumentContext, path: Path): Override | undefined {
  if (path.length === 0) return undefined;
  return context.overrides?.find((o) => o.path.length > path.length && path.every((segment, i) => o.path[i] === segment));
}

/** `file:line:col`, or the --param that set the field. */
function whereOf(context: DocumentContext, path: Path, key?: string): string {
  const full = key === undefined ? path : [...path, key];
  const override = context.overrides?.find((o) => o.path.every((segment, i) => full[i] === segment));
  if (override) return override.source;
  const position = positionOf(context.doc, context.lines, path, key);
  const below = overrideBelow(context, full);
  if (below) {
    // A field the file does not have was made by the --param alone: the file's lines are beside the point.
    return context.doc?.hasIn(full as unknown[]) ? `${context.file}${position ? `:${position}` : ''} (with ${below.source})` : below.source;
  }
  return `${context.file}${position ? `:${position}` : ''}`;
}

/**
 * For a problem at a field a --param reached into (`--set strategy.mu=0.1`, where `strategy`
 * is the scheduler's and has no `mu`): which field it set there, and where a field of that
 * name does exist (`algorithm.mu`).
 */
function overrideHint(context: DocumentContext, path: Path): string {
  const below = overrideBelow(context, path);
  if (!below) return '';
  const inner = below.path.slice(path.length).join('.');
  const key = below.path[below.path.length - 1];
  // Only when the field is not one of its place's own (data.devices is, strategy.mu is not).
  const misplaced = context.schema && !knownFieldsAt(context.schema, below.path.slice(0, -1)).includes(key);
  const elsewhere = misplaced ? fieldPathsNamed(context.schema!, key).filter((p) => p !== below.path.join('.')) : [];
  return ` (${below.source} sets '${inner}' inside ${formatPath(path)}${elsewhere.length ? `; did you mean ${elsewhere.join(' or ')}?` : ''})`;
}

/** zod's own English message for an issue (what it says when the schema gave none). */
const zodDefaultMessage = (() => {
  const locale = z.locales.en().localeError;
  return (issue: Issue, input: unknown): string | undefined => {
    const made = (locale as (i: unknown) => string | { message: string } | undefined)({ ...issue, input });
    return typeof made === 'string' ? made : made?.message;
  };
})();

/**
 * The schema's own message for an issue, when it gave one (e.g. why a literal is the only
 * choice), or undefined when the message is zod's default. The reworded "expected …, found …"
 * of the codes `expectation` rewrites would otherwise lose it.
 */
function customMessage(issue: Issue, value: unknown): string | undefined {
  if (issue.code !== 'invalid_type' && issue.code !== 'invalid_value' && issue.code !== 'invalid_union') return undefined;
  return issue.message && issue.message !== zodDefaultMessage(issue, value) ? issue.message : undefined;
}

/** One line per zod issue (at most `limit`): `file:line:col: at path: expected …, found ….` */
export function describeIssues(error: z.ZodError, data: unknown, context: DocumentContext, limit = 8): string[] {
  const base = context.basePath ?? [];
  const issues = flatten(error.issues);
  const out = issues.slice(0, limit).map(({ issue, path }) => {
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const where = whereOf(context, [...base, ...path], unknownKey);
    const at = valueAt(data, path);
    const schema = context.schema;
    const known = unknownKey !== undefined && schema ? knownFieldsAt(schema, path, at.value) : [];
    const elsewhere = (key: string) => (schema ? branchesWithField(schema, path, at.value, key) : []);
    const expected = expectation(issue, known, elsewhere, at.value);
    if (issue.code === 'unrecognized_keys') return `${where}: at ${formatPath([...base, ...path])}: ${expected}`;
    const found = at.found ? describeValue(at.value) : 'nothing (the field is missing)';
    const custom = customMessage(issue, at.value);
    return `${where}: at ${formatPath([...base, ...path])}: ${expected}, found ${found}${custom ? `: ${custom}` : ''}${overrideHint(context, [...base, ...path])}`;
  });
  if (issues.length > limit) out.push(`… and ${issues.length - limit} more problems`);
  return out;
}

/** A problem a schema cannot see (across fields, against a limit, against the run's actors), found before the run. */
export interface DocumentProblem {
  /** Field path in the file's data, e.g. ['secagg', 'reconstructionThreshold']. */
  path: readonly PropertyKey[];
  /** What was expected, in words: "at most 10 (the clients of a round)". */
  expected: string;
  /** What was found, when not simply the value at `path`. */
  found?: string;
}

/** One line per problem: `file:line:col: at path: expected …, found ….` */
export function describeProblems(problems: readonly DocumentProblem[], data: unknown, context: DocumentContext, limit = 8): string[] {
  const out = problems.slice(0, limit).map((problem) => {
    const where = whereOf(context, problem.path);
    const at = valueAt(data, problem.path);
    const found = problem.found ?? (at.found ? describeValue(at.value) : 'nothing (the field is missing)');
    return `${where}: at ${formatPath(problem.path)}: expected ${problem.expected}, found ${found}`;
  });
  if (problems.length > limit) out.push(`… and ${problems.length - limit} more problems`);
  return out;
}
