/**
 * Fault plans: what can go wrong in a run, declared as data.
 *
 * A plan is plain JSON (so it can live in a scenario file, a `--faults plan.json`
 * and a log header) and is validated with zod, so a typo gets an error naming the
 * field instead of a silently fault-free run.
 */
import { z } from 'zod';
import { FedsimError } from '../errors.js';

const rate = z.number().min(0, 'a rate is a probability in [0, 1]').max(1, 'a rate is a probability in [0, 1]');
const ms = z.number().min(0, 'virtual time is in milliseconds and cannot be negative');

export const DelayDistributionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), ms }).strict(),
  z
    .object({ kind: z.literal('uniform'), min: ms, max: ms })
    .strict()
    .refine((d) => d.max >= d.min, { message: 'uniform delay: max must be ≥ min' }),
  z.object({ kind: z.literal('exponential'), mean: ms }).strict(),
  z.object({ kind: z.literal('normal'), mean: ms, std: ms }).strict(),
]);
export type DelayDistribution = z.infer<typeof DelayDistributionSchema>;

const linkFaultFields = {
  /** Probability that a message is lost. */
  drop: rate.optional(),
  /** Probability that a message is delivered twice. */
  duplicate: rate.optional(),
  /** Probability that a message may overtake earlier ones on its channel (breaks FIFO for it). */
  reorder: rate.optional(),
  /** Extra latency for a fraction of messages. */
  delay: z.object({ rate, dist: DelayDistributionSchema }).strict().optional(),
};

/** A rule for the messages from `from` to `to` (exact ids or globs with `*`). Later rules win, field by field. */
export const LinkRuleSchema = z
  .object({ from: z.string().default('*'), to: z.string().default('*'), ...linkFaultFields })
  .strict();

export const CrashSchema = z
  .object({
    actor: z.string().min(1),
    /** Crash at this virtual time… */
    at: ms.optional(),
    /** …or right after the actor has handled this many messages. */
    afterMessages: z.number().int().positive().optional(),
    /** Restart this many virtual ms after the crash; omitted = stays down. */
    restartAfter: ms.optional(),
    /** On restart, start from the initial state (true) or from the state at the crash (false). */
    loseState: z.boolean().default(false),
    /** On restart, also lose the actor's durable storage (its disk); by default a crash loses memory only. */
    loseStorage: z.boolean().default(false),
  })
  .strict()
  .refine((c) => (c.at === undefined) !== (c.afterMessages === undefined), {
    message: 'a crash needs exactly one of `at` (virtual ms) or `afterMessages` (count)',
  });

export const PartitionSchema = z
  .object({
    /** Groups of actor ids; messages between different groups are lost while the partition lasts. */
    groups: z.array(z.array(z.string().min(1)).min(1)).min(2, 'a partition needs at least two groups'),
    from: ms,
    until: ms,
  })
  .strict()
  .refine((p) => p.until > p.from, { message: 'a partition must end (`until`) after it starts (`from`)' });

/**
 * A fault aimed at one message by id. Message ids are deterministic (`sender:n`), so a
 * script replays exactly; `fedsim explore` shrinks failing runs down to such scripts.
 */
export const ScriptedFaultSchema = z
  .object({
    msg: z.string().min(1),
    drop: z.boolean().optional(),
    /** Extra virtual ms. */
    delay: ms.optional(),
    reorder: z.boolean().optional(),
    /** Deliver a copy this many virtual ms after the original. */
    duplicateAfter: ms.optional(),
  })
  .strict();

export const FaultPlanSchema = z
  .object({
    ...linkFaultFields,
    links: z.array(LinkRuleSchema).default([]),
    script: z.array(ScriptedFaultSchema).default([]),
    crashes: z.array(CrashSchema).default([]),
    partitions: z.array(PartitionSchema).default([]),
  })
  .strict();

export type FaultPlan = z.infer<typeof FaultPlanSchema>;
export type FaultPlanInput = z.input<typeof FaultPlanSchema>;
export type CrashSpec = z.infer<typeof CrashSchema>;
export type PartitionSpec = z.infer<typeof PartitionSchema>;
export type LinkRule = z.infer<typeof LinkRuleSchema>;
export type ScriptedFault = z.infer<typeof ScriptedFaultSchema>;

/** The effective faults on one channel after merging the global rates and the matching link rules. */
export interface LinkFaults {
  drop: number;
  duplicate: number;
  reorder: number;
  delay?: { rate: number; dist: DelayDistribution };
}

export class FaultPlanError extends FedsimError {
  override name = 'FaultPlanError';
}

/** Validates a plan, naming the field path of the first problems found and where the plan came from. */
export function parseFaultPlan(input: unknown, source = 'fault plan'): FaultPlan {
  const result = FaultPlanSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => {
      const found = issue.code === 'unrecognized_keys' ? '' : `, found ${describeFound(valueAtPath(input, issue.path))}`;
      return `  - at ${planFieldPath(issue.path)}: ${issue.message}${found}`;
    })
    .join('\n');
  throw new FaultPlanError(
    `${source} is not a valid fault plan:\n${problems}\n` +
      'Expected fields: drop, duplicate, reorder, delay {rate, dist}, links [{from, to, …}], script [{msg, drop?, delay?, reorder?, duplicateAfter?}], crashes [{actor, at | afterMessages, restartAfter?, loseState?, loseStorage?}], partitions [{groups, from, until}].',
  );
}

/** `crashes[0].afterMessages`: the path format of every fault-plan message (files and inline plans alike). */
export function planFieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function valueAtPath(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in current)) return { found: false, value: undefined };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

function describeFound({ found, value }: { found: boolean; value: unknown }): string {
  if (!found) return 'nothing (the field is missing)';
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${value} (a ${typeof value})`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return value === null ? 'null' : typeof value === 'object' ? 'a mapping' : typeof value;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** True when the plan can inject no fault at all (so it draws nothing from the `faults` stream). */
export function isEmptyPlan(plan: FaultPlan): boolean {
  const quiet = (r: { drop?: number; duplicate?: number; reorder?: number; delay?: { rate: number } }) =>
    !r.drop && !r.duplicate && !r.reorder && !(r.delay && r.delay.rate > 0);
  return quiet(plan) && plan.links.every(quiet) && plan.script.length === 0 && plan.crashes.length === 0 && plan.partitions.length === 0;
}

/** Resolves the faults of the channel from → to: global values, overridden field by field by matching link rules in order. */
export function linkFaultsFor(plan: FaultPlan, from: string, to: string): LinkFaults {
  const effective: LinkFaults = { drop: plan.drop ?? 0, duplicate: plan.duplicate ?? 0, reorder: plan.reorder ?? 0, delay: plan.delay };
  for (const rule of plan.links) {
    if (!globToRegExp(rule.from).test(from) || !globToRegExp(rule.to).test(to)) continue;
    if (rule.drop !== undefined) effective.drop = rule.drop;
    if (rule.duplicate !== undefined) effective.duplicate = rule.duplicate;
    if (rule.reorder !== undefined) effective.reorder = rule.reorder;
    if (rule.delay !== undefined) effective.delay = rule.delay;
  }
  return effective;
}
