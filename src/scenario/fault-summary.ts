/**
 * A fault plan in one line, for run summaries and explore's banner — every kind of
 * fault it holds (rates, link rules, scripted faults, crashes, partitions), so a
 * reader sees what the run was exposed to — and the scripted faults a run never
 * applied, because no message with their id was sent.
 */
import { type DelayDistribution, type FaultPlan, type FaultPlanInput, parseFaultPlan } from '../runtime/index.js';

const LISTED = 3;

function delay(d: { rate: number; dist: DelayDistribution }): string {
  const dist = d.dist;
  const shape =
    dist.kind === 'fixed' ? `${dist.ms} ms` : dist.kind === 'uniform' ? `uniform ${dist.min}–${dist.max} ms` : dist.kind === 'exponential' ? `exponential, mean ${dist.mean} ms` : `normal ${dist.mean} ± ${dist.std} ms`;
  return `delay ${d.rate} (${shape})`;
}

/** `drop 0.1, delay 0.2 (exponential, mean 5 ms)` for the rates that are set. */
function rates(r: { drop?: number; duplicate?: number; reorder?: number; delay?: { rate: number; dist: DelayDistribution } }): string[] {
  const out: string[] = [];
  if (r.drop) out.push(`drop ${r.drop}`);
  if (r.duplicate) out.push(`duplicate ${r.duplicate}`);
  if (r.reorder) out.push(`reorder ${r.reorder}`);
  if (r.delay && r.delay.rate > 0) out.push(delay(r.delay));
  return out;
}

/** The first few items, then how many more. */
function listed<T>(items: readonly T[], describe: (item: T) => string): string {
  const shown = items.slice(0, LISTED).map(describe).join('; ');
  return items.length > LISTED ? `${shown}; +${items.length - LISTED} more` : shown;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `drop 0.05; 2 link rules (me→client-*: drop 0.1; …); 1 crash (server at 500 ms, restarts after 100 ms); …`,
 * or `no faults` for a plan that can inject nothing.
 */
export function describeFaultPlan(input: FaultPlanInput | FaultPlan | undefined): string {
  const plan = parseFaultPlan(input ?? {});
  const parts: string[] = [];
  const global = rates(plan);
  if (global.length) parts.push(global.join(', '));
  if (plan.links.length) {
    parts.push(`${plural(plan.links.length, 'link rule')} (${listed(plan.links, (l) => `${l.from}→${l.to}: ${rates(l).join(', ') || 'no fault'}`)})`);
  }
  if (plan.script.length) parts.push(`${plural(plan.script.length, 'scripted fault')} (${listed(plan.script, (f) => `${f.msg}: ${scriptedKinds(f).join(', ') || 'nothing'}`)})`);
  if (plan.crashes.length) {
    parts.push(
      `${plural(plan.crashes.length, 'crash')} (${listed(plan.crashes, (c) => {
        const when = c.at !== undefined ? `at ${c.at} ms` : `after ${c.afterMessages} messages`;
        const restart = c.restartAfter !== undefined ? `, restarts after ${c.restartAfter} ms${c.loseState ? ' from its initial state' : ''}` : ', stays down';
        return `${c.actor} ${when}${restart}`;
      })})`,
    );
  }
  if (plan.partitions.length) {
    parts.push(`${plural(plan.partitions.length, 'partition')} (${listed(plan.partitions, (p) => `${p.groups.map((g) => g.join(',')).join(' | ')} from ${p.from} to ${p.until} ms`)})`);
  }
  return parts.length ? parts.join('; ') : 'no faults';
}

function scriptedKinds(f: FaultPlan['script'][number]): string[] {
  const out: string[] = [];
  if (f.drop) out.push('drop');
  if (f.delay) out.push(`delay ${f.delay} ms`);
  if (f.reorder) out.push('reorder');
  if (f.duplicateAfter !== undefined) out.push(`duplicate after ${f.duplicateAfter} ms`);
  return out;
}

/**
 * Message ids of the plan's scripted faults that no `sent` event of the run carries: they
 * were aimed at messages the run never sent, so they did nothing (a typo, or a script
 * shrunk from another version of the scenario).
 */
export function unmatchedScriptedFaults(input: FaultPlanInput | FaultPlan | undefined, events: Iterable<{ ev: string; msg?: string | null }>): string[] {
  const plan = parseFaultPlan(input ?? {});
  if (plan.script.length === 0) return [];
  const waiting = new Set(plan.script.map((f) => f.msg));
  for (const event of events) {
    if (event.ev === 'sent' && typeof event.msg === 'string' && waiting.delete(event.msg) && waiting.size === 0) break;
  }
  return plan.script.map((f) => f.msg).filter((msg) => waiting.has(msg));
}
