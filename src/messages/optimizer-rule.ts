/**
 * The update rule of a remote optimiser, as plain data (what `optimizer` messages
 * carry). The conventions are PyTorch's, since the tutorials are PyTorch code:
 *
 *  - SGD:      g ← ∇ + λw;  with momentum μ: b ← g (first step), b ← μb + (1−τ)g after;
 *              g ← g + μb (Nesterov) or g ← b;  w ← w − ηg
 *  - Adam:     g ← ∇ + λw;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²  (per-parameter step t);
 *              w ← w − η · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
 *
 * with learning rate η, weight decay λ, dampening τ. A parameter without a gradient is
 * skipped and its state left alone (PyTorch's `if p.grad is None: continue`).
 */
import { z } from 'zod';

const finite = z.number().finite();

export const SgdRuleSchema = z.strictObject({
  name: z.literal('sgd'),
  lr: finite.positive(),
  momentum: finite.nonnegative(),
  dampening: finite.min(0).max(1),
  nesterov: z.boolean(),
  weightDecay: finite.nonnegative(),
});

export const AdamRuleSchema = z.strictObject({
  name: z.literal('adam'),
  lr: finite.positive(),
  beta1: finite.min(0).lt(1),
  beta2: finite.min(0).lt(1),
  eps: finite.positive(),
  weightDecay: finite.nonnegative(),
});

export const OptimizerRuleSchema = z.discriminatedUnion('name', [SgdRuleSchema, AdamRuleSchema]);
export type SgdRule = z.infer<typeof SgdRuleSchema>;
export type AdamRule = z.infer<typeof AdamRuleSchema>;
export type OptimizerRule = z.infer<typeof OptimizerRuleSchema>;

/** Names of the per-parameter state tensors a rule keeps, in a fixed order. */
export function ruleStateNames(rule: OptimizerRule): readonly string[] {
  if (rule.name === 'adam') return ['m', 'v'];
  return rule.momentum > 0 ? ['momentum'] : [];
}

/** Why a rule cannot be used (combinations the schema cannot express), or undefined. */
export function optimizerRuleProblem(rule: OptimizerRule): string | undefined {
  if (rule.name === 'sgd' && rule.nesterov && (rule.momentum <= 0 || rule.dampening !== 0)) {
    return `Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ${rule.momentum}, dampening ${rule.dampening}), as in PyTorch`;
  }
  return undefined;
}
