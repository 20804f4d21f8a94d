/**
 * The faults a run actually suffered, read back from its event log.
 *
 * A random fault plan says what *may* happen; the log says what did. Turned into
 * a scripted plan (faults aimed at message ids, which are deterministic `sender:n`)
 * plus the plan's crashes and partitions, it reproduces the same run with no
 * randomness in the fault stream — and unlike rates, a script can be shrunk one
 * fault at a time.
 */
import type { CrashSpec, FaultPlanInput, PartitionSpec, ScriptedFault } from '../runtime/faults/fault-plan.js';

/** The fields of a log event this needs (in-memory SimEvents and recorded events both have them). */
export interface FaultEventLike {
  ev: string;
  msg?: string | null;
  reason?: string;
  by?: number;
  deliverAt?: number;
  /** On `duplicated`: the copy's delay after the original, as drawn. */
  after?: number;
  actor?: string | null;
}

/** One item a failing plan can be shrunk over. */
export type FaultItem = { kind: 'script'; fault: ScriptedFault } | { kind: 'crash'; crash: CrashSpec } | { kind: 'partition'; partition: PartitionSpec };

/** Scripted faults for every message the run delayed, reordered, dropped (as a fault) or duplicated, in log order. */
export function injectedScript(events: Iterable<FaultEventLike>): ScriptedFault[] {
  const byMsg = new Map<string, ScriptedFault>();
  const sentDeliverAt = new Map<string, number>();
  const entry = (msg: string) => {
    let fault = byMsg.get(msg);
    if (!fault) byMsg.set(msg, (fault = { msg }));
    return fault;
  };
  for (const e of events) {
    if (!e.msg) continue;
    switch (e.ev) {
      case 'sent':
        if (e.deliverAt !== undefined) sentDeliverAt.set(e.msg, e.deliverAt);
        break;
      case 'delayed':
        entry(e.msg).delay = e.by;
        break;
      case 'reordered':
        entry(e.msg).reorder = true;
        break;
      case 'dropped':
        if (e.reason === 'fault') entry(e.msg).drop = true;
        break;
      case 'duplicated': {
        // The log records the drawn delay exactly; older logs only have the arrival times.
        const original = sentDeliverAt.get(e.msg);
        if (e.after !== undefined) entry(e.msg).duplicateAfter = e.after;
        else if (original !== undefined && e.deliverAt !== undefined) entry(e.msg).duplicateAfter = e.deliverAt - original;
        break;
      }
    }
  }
  return [...byMsg.values()];
}

/** The items of a shrinkable plan: the injected script, then the plan's crashes and partitions. */
export function faultItems(script: ScriptedFault[], plan: { crashes?: CrashSpec[]; partitions?: PartitionSpec[] }): FaultItem[] {
  return [
    ...script.map((fault) => ({ kind: 'script' as const, fault })),
    ...(plan.crashes ?? []).map((crash) => ({ kind: 'crash' as const, crash })),
    ...(plan.partitions ?? []).map((partition) => ({ kind: 'partition' as const, partition })),
  ];
}

/** The fault plan made of exactly these items (no random rates). */
export function planOf(items: readonly FaultItem[]): FaultPlanInput {
  const plan: FaultPlanInput = {};
  const script = items.flatMap((i) => (i.kind === 'script' ? [i.fault] : []));
  const crashes = items.flatMap((i) => (i.kind === 'crash' ? [i.crash] : []));
  const partitions = items.flatMap((i) => (i.kind === 'partition' ? [i.partition] : []));
  if (script.length) plan.script = script;
  if (crashes.length) plan.crashes = crashes;
  if (partitions.length) plan.partitions = partitions;
  return plan;
}

/** The ways one scripted fault can be made smaller: each with one of its effects removed. */
export function simplerFaults(fault: ScriptedFault): ScriptedFault[] {
  const effects = (['drop', 'delay', 'reorder', 'duplicateAfter'] as const).filter((k) => fault[k] !== undefined);
  if (effects.length < 2) return [];
  return effects.map((removed) => {
    const copy: ScriptedFault = { ...fault };
    delete copy[removed];
    return copy;
  });
}
