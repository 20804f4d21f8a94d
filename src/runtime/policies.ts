/**
 * Run policies: the decisions about privacy that a run is made under, fixed when the
 * simulation is created and written into its log header, so that a log says what its
 * run was allowed to reveal.
 *
 *  - `release`: when a value computed from private data may be revealed to someone its
 *    label does not name (see src/actors/privacy/release.ts). Without it, never.
 *  - `unsafe`: settings a protocol refuses unless the run declares them here, because
 *    they weaken a guarantee (e.g. `secagg-threshold`: a SecAgg+ reconstruction
 *    threshold t ≤ k/2, which lets a lying server rebuild one client's update).
 *
 * Actors read them through `io.policies`; this layer only carries and records them.
 */
import { z } from 'zod';

/** Settings that weaken a protocol's guarantee and must be declared by the run. */
export const UNSAFE_SETTINGS = ['secagg-threshold'] as const;
export type UnsafeSetting = (typeof UNSAFE_SETTINGS)[number];

export const ReleasePolicySchema = z
  .object({
    /**
     * A value computed from private data may be revealed when it is a sum in which at
     * least `minContributors` different contributors each take part with the same
     * weight (the aggregate of a secure aggregation).
     */
    aggregate: z.object({ minContributors: z.number().int().min(2) }).strict(),
  })
  .strict();
export type ReleasePolicy = z.infer<typeof ReleasePolicySchema>;

export const RunPoliciesSchema = z
  .object({
    release: ReleasePolicySchema.optional(),
    unsafe: z.array(z.enum(UNSAFE_SETTINGS)).optional(),
  })
  .strict();
export type RunPolicies = z.infer<typeof RunPoliciesSchema>;

/** Checked policies in a canonical form (unsafe settings sorted, repeats removed); undefined when there are none. */
export function parseRunPolicies(input: unknown, source = 'policies'): RunPolicies | undefined {
  if (input === undefined) return undefined;
  const parsed = RunPoliciesSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
    throw new RangeError(
      `${source} are invalid: ${problems}. Expected { release?: { aggregate: { minContributors: k ≥ 2 } }, unsafe?: [${UNSAFE_SETTINGS.map((s) => `'${s}'`).join(', ')}] }.`,
    );
  }
  const out: RunPolicies = {};
  if (parsed.data.release) out.release = parsed.data.release;
  if (parsed.data.unsafe?.length) out.unsafe = [...new Set(parsed.data.unsafe)].sort();
  return out.release || out.unsafe ? out : undefined;
}

/** Whether the run declared the unsafe setting `name`. */
export function allowsUnsafe(policies: RunPolicies | undefined, name: UnsafeSetting): boolean {
  return policies?.unsafe?.includes(name) ?? false;
}
