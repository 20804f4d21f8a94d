/**
 * The scheduled part of a fault plan: crashes, restarts and partitions.
 *
 * Unlike message faults these are not random: they happen at the virtual times,
 * or after the message counts, the plan names. They are armed as runtime timers so
 * that they interleave with deliveries by virtual time like everything else.
 */
import type { ActorId } from '../envelope.js';
import { type CrashSpec, type FaultPlan, FaultPlanError, type PartitionSpec } from './fault-plan.js';

export interface FaultTarget {
  now(): number;
  /** Arms a runtime timer. */
  at(time: number, fn: () => void): void;
  crash(actor: ActorId, reason: 'fault-plan'): void;
  restart(actor: ActorId, loseState: boolean, loseStorage: boolean): void;
  recordPartition(kind: 'partition-start' | 'partition-end', groups: ActorId[][]): void;
  /** Whether `id` is an actor of the run (spawned, the driver, or registered to be spawned on demand). */
  hasActor(id: ActorId): boolean;
  /** The run's spawned actors now (the driver included), named when a plan names another. */
  actorIds(): ActorId[];
}

/** How many actor ids a refusal lists. */
const ACTORS_NAMED = 20;

/** Crash specs keep their index in the plan, so an error can name the field. */
type IndexedCrash = CrashSpec & { index: number };

export class FaultSchedule {
  private readonly countdowns = new Map<ActorId, IndexedCrash[]>();

  constructor(private readonly plan: FaultPlan, private readonly target: FaultTarget) {
    for (const [index, spec] of plan.crashes.entries()) {
      const crash = { ...spec, index };
      if (crash.at !== undefined) target.at(crash.at, () => this.crashNow(crash));
      else {
        const list = this.countdowns.get(crash.actor) ?? [];
        list.push(crash);
        this.countdowns.set(crash.actor, list);
      }
    }
    for (const [index, partition] of plan.partitions.entries()) {
      target.at(partition.from, () => {
        this.refuseUnknown(`partitions[${index}].groups`, partition.groups.flat(), `exists at virtual time ${target.now()} ms, when this partition starts`);
        target.recordPartition('partition-start', partition.groups);
      });
      target.at(partition.until, () => target.recordPartition('partition-end', partition.groups));
    }
  }

  /** Called after `actor` has handled its `handled`-th message. */
  afterDelivery(actor: ActorId, handled: number): void {
    const pending = this.countdowns.get(actor);
    if (!pending) return;
    for (const crash of pending) if (crash.afterMessages === handled) this.crashNow(crash);
  }

  /** True when a partition separates `from` and `to` at virtual time `t`. */
  separated(from: ActorId, to: ActorId, t: number): boolean {
    for (const partition of this.plan.partitions) {
      if (t < partition.from || t >= partition.until) continue;
      if (groupOf(partition, from) !== groupOf(partition, to) && groupOf(partition, from) >= 0 && groupOf(partition, to) >= 0) return true;
    }
    return false;
  }

  /** True when some crash waits for a message count (so deliveries must be counted). */
  get countsDeliveries(): boolean {
    return this.countdowns.size > 0;
  }

  get hasPartitions(): boolean {
    return this.plan.partitions.length > 0;
  }

  /**
   * Call when the run has ended: a crash counted in messages whose actor never existed
   * never happened — the plan has a typo, and the run was not tested as the plan says.
   */
  checkNamedActorsExisted(): void {
    for (const [actor, crashes] of this.countdowns) this.refuseUnknown(`crashes[${crashes[0].index}].actor`, [actor], 'was ever spawned in this run, so this crash never happened');
  }

  /** `what`: how the missing actor is missing, e.g. "exists at virtual time 5 ms, when this crash is due". */
  private refuseUnknown(field: string, ids: readonly ActorId[], what: string): void {
    const unknown = ids.filter((id) => !this.target.hasActor(id));
    if (unknown.length === 0) return;
    // A run may have a million actors: name the first few.
    const actors = this.target.actorIds();
    const listed = actors.length > ACTORS_NAMED ? `${actors.slice(0, ACTORS_NAMED).join(', ')}, … (${actors.length} in all)` : actors.join(', ');
    throw new FaultPlanError(`fault plan ${field}: no actor ${unknown.map((id) => `'${id}'`).join(', ')} ${what}. ` + `Actors of this run: ${listed}. Fix the id in the fault plan (a typo?).`);
  }

  private crashNow(crash: IndexedCrash): void {
    this.refuseUnknown(`crashes[${crash.index}].actor`, [crash.actor], `exists at virtual time ${this.target.now()} ms, when this crash is due`);
    this.target.crash(crash.actor, 'fault-plan');
    if (crash.restartAfter !== undefined) {
      this.target.at(this.target.now() + crash.restartAfter, () => this.target.restart(crash.actor, crash.loseState, crash.loseStorage));
    }
  }
}

/** Index of the group holding `actor`, or −1 when the partition does not name it (then it is unaffected). */
function groupOf(partition: PartitionSpec, actor: ActorId): number {
  return partition.groups.findIndex((group) => group.includes(actor));
}
