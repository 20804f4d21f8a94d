/**
 * Fault decisions for each message sent, drawn from the `faults` stream.
 *
 * Draw discipline (it is what makes plans reproducible and composable): a rate
 * of 0 draws nothing, and the draws for one message happen in a fixed order —
 * drop, duplicate, delay (rate, then amount), reorder — so the same plan and
 * seed inject the same faults on the same messages.
 */
import type { RandomStream } from '../rng.js';
import { type DelayDistribution, type FaultPlan, type LinkFaults, type ScriptedFault, isEmptyPlan, linkFaultsFor } from './fault-plan.js';

export interface SendDecision {
  drop: boolean;
  /** Extra virtual ms on top of the link latency (0 = none). */
  delayBy: number;
  reorder: boolean;
  /** If the message is duplicated: the copy's extra delay after the original; otherwise null. */
  duplicateAfter: number | null;
  /** Exact arrival times, when known from a recording (replay must not recompute them in floating point). */
  deliverAt?: number;
  duplicateDeliverAt?: number;
}

/** What a fault decision looks at. (An envelope; its id is read only when a decision needs it.) */
export interface MessageRef {
  readonly id: string;
  readonly from: string;
  readonly to: string;
}

export const NO_FAULT: SendDecision = Object.freeze({ drop: false, delayBy: 0, reorder: false, duplicateAfter: null });

/** Anything that decides the fate of a message at send time: the seeded injector, or a recorded log in schedule replay. */
export interface FaultDecider {
  /** `baseDeliverAt`: when the message would arrive without faults; `seq`: the seq its `sent` event will get. */
  decide(message: MessageRef, baseDeliverAt: number, seq: number): SendDecision;
}

/** Sampled delays are rounded to whole microseconds: logs stay readable and times stay comparable. */
const roundToMicros = (ms: number) => Math.round(ms * 1000) / 1000;

export function sampleDelay(dist: DelayDistribution, rng: RandomStream): number {
  switch (dist.kind) {
    case 'fixed':
      return dist.ms;
    case 'uniform':
      return roundToMicros(rng.uniform(dist.min, dist.max));
    case 'exponential':
      return roundToMicros(rng.exponential(dist.mean));
    case 'normal':
      return roundToMicros(Math.max(0, rng.normal(dist.mean, dist.std)));
  }
}

export class SeededFaultInjector implements FaultDecider {
  private readonly perChannel = new Map<string, LinkFaults | null>();
  private readonly quiet: boolean;
  private readonly script = new Map<string, ScriptedFault>();

  constructor(private readonly plan: FaultPlan, private readonly rng: RandomStream) {
    this.quiet = isEmptyPlan(plan);
    for (const fault of plan.script) this.script.set(fault.msg, fault);
  }

  decide(message: MessageRef): SendDecision {
    if (this.quiet) return NO_FAULT;
    // A scripted fault replaces the random rules for its message and draws nothing.
    const scripted = this.script.size > 0 ? this.script.get(message.id) : undefined;
    if (scripted) {
      return {
        drop: scripted.drop ?? false,
        delayBy: scripted.delay ?? 0,
        reorder: scripted.reorder ?? false,
        duplicateAfter: scripted.duplicateAfter ?? null,
      };
    }
    const faults = this.faultsFor(message.from, message.to);
    if (!faults) return NO_FAULT;
    const rng = this.rng;
    if (rng.bernoulli(faults.drop)) return { drop: true, delayBy: 0, reorder: false, duplicateAfter: null };
    const duplicated = rng.bernoulli(faults.duplicate);
    let delayBy = 0;
    if (faults.delay && rng.bernoulli(faults.delay.rate)) delayBy = sampleDelay(faults.delay.dist, rng);
    const reorder = rng.bernoulli(faults.reorder);
    // A duplicate trails its original by a delay from the same distribution (or arrives together without one).
    const duplicateAfter = duplicated ? (faults.delay ? sampleDelay(faults.delay.dist, rng) : 0) : null;
    return { drop: false, delayBy, reorder, duplicateAfter };
  }

  private faultsFor(from: string, to: string): LinkFaults | null {
    const key = `${from}\u2192${to}`;
    let faults = this.perChannel.get(key);
    if (faults === undefined) {
      const resolved = linkFaultsFor(this.plan, from, to);
      const any = resolved.drop || resolved.duplicate || resolved.reorder || (resolved.delay && resolved.delay.rate > 0);
      faults = any ? resolved : null;
      this.perChannel.set(key, faults);
    }
    return faults;
  }
}
