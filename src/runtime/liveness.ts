/**
 * The liveness report: who waits for what when a run cannot make progress.
 *
 * "Deadlock" alone says nothing a user can act on. The report says what the driver
 * awaits, what state every actor is in (and which ones crashed and never came back),
 * which messages are still in flight and which timers are set, and the last messages
 * the run lost — usually the one somebody is still waiting for. The simulation builds
 * it (SimulationCore.livenessReport) and every DeadlockError and LivelockError carries
 * it, so every caller — the CLI, explore, a test — gets the same picture.
 */
import type { ActorCell } from './actor-cell.js';
import type { VirtualClock } from './clock.js';
import type { PostedEnvelope } from './envelope.js';

export interface ActorLiveness {
  id: string;
  /** The xstate state value, compact (e.g. `{"running":"collecting"}`), or the snapshot status when it is not active. */
  state: string;
  crashed: boolean;
  /** Virtual time of the crash (crashed actors only). */
  crashedAt?: number;
  /** Messages the actor has handled. */
  handled: number;
  /** Timers the actor has set and that have not fired. */
  timers: number;
  /** Virtual time until which the actor is busy working, when later than now. */
  busyUntil?: number;
}

export interface MessageSummary {
  msg: string;
  type: string;
  from: string;
  to: string;
  /** In flight: when it is due. Lost: when it was lost. */
  t: number;
  /** Lost messages only: why (fault, crashed, partition, unknown-actor). */
  reason?: string;
}

export interface LivenessReport {
  /** Virtual time of the report. */
  time: number;
  driver: { id: string; awaiting: string[] };
  actors: ActorLiveness[];
  inFlight: { count: number; first: MessageSummary[] };
  timers: { count: number; nextDueAt?: number };
  /** The most recent messages the run lost, oldest first. */
  lost: MessageSummary[];
}

/** How many of the latest lost messages a simulation remembers for its reports. */
export const LOST_MESSAGES_KEPT = 8;
/** In-flight messages listed by name (the rest are counted). */
export const IN_FLIGHT_LISTED = 8;
const STATE_CHARS = 80;

/** An xstate snapshot's state in one short line. */
export function describeState(snapshot: { status?: string; value?: unknown } | undefined): string {
  if (!snapshot) return '(not started)';
  if (snapshot.status && snapshot.status !== 'active') return snapshot.status;
  // A machine without named states (or a transition actor) is simply running.
  if (snapshot.value === undefined || (typeof snapshot.value === 'object' && snapshot.value !== null && Object.keys(snapshot.value).length === 0)) return 'active';
  const text = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value) ?? 'undefined';
  return text.length > STATE_CHARS ? `${text.slice(0, STATE_CHARS)}…` : text;
}

/** What a simulation knows at one moment, as the report needs it. */
export interface LivenessSources {
  clock: VirtualClock;
  cells: Iterable<ActorCell>;
  inFlight: readonly PostedEnvelope[];
  driverId: string;
  awaiting: string[];
  lost: readonly MessageSummary[];
}

export function buildLivenessReport(from: LivenessSources): LivenessReport {
  const now = from.clock.now();
  const actors = [...from.cells].map((cell): ActorLiveness => {
    const entry: ActorLiveness = { id: cell.id, state: cell.crashed ? cell.stateAtCrash : describeState(cell.snapshot()), crashed: cell.crashed, handled: cell.handled, timers: from.clock.timersOf(cell.id).length };
    if (cell.crashed) entry.crashedAt = cell.crashedAt;
    if (!cell.crashed && cell.busyUntil > now) entry.busyUntil = cell.busyUntil;
    return entry;
  });
  const first = from.inFlight.slice(0, IN_FLIGHT_LISTED).map((e) => ({ msg: e.id, type: e.type, from: e.from, to: e.to, t: e.deliverAt }));
  const nextDueAt = from.clock.nextDueAt();
  return {
    time: now,
    driver: { id: from.driverId, awaiting: from.awaiting },
    actors,
    inFlight: { count: from.inFlight.length, first },
    timers: { count: from.clock.pendingTimers(), ...(nextDueAt === undefined ? {} : { nextDueAt }) },
    lost: [...from.lost],
  };
}

const ms = (t: number) => `${Number(t.toFixed(3))} ms`;
const message = (m: MessageSummary) => `${m.msg} '${m.type}' ${m.from}→${m.to}`;

/** Names of a group of actors: all of them when few, else the first and last. */
function names(ids: string[]): string {
  return ids.length <= 4 ? ids.join(', ') : `${ids.slice(0, 2).join(', ')}, … ${ids[ids.length - 1]} (${ids.length} actors)`;
}

/**
 * The report as indented lines. Actors in the same situation are grouped, so a run
 * with a hundred idle clients takes one line for them, not a hundred.
 */
export function formatLivenessReport(report: LivenessReport): string {
  const lines = [`Liveness report at virtual time ${ms(report.time)}:`];
  const { driver } = report;
  const asked = driver.awaiting;
  lines.push(
    asked.length
      ? `  ${driver.id} (scenario code) has ${asked.length} unanswered request${asked.length === 1 ? '' : 's'}: ${asked.slice(0, 3).join('; ')}${asked.length > 3 ? '; …' : ''}`
      : `  ${driver.id} (scenario code) has no unanswered request`,
  );
  const crashed = report.actors.filter((a) => a.crashed);
  for (const a of crashed) {
    lines.push(`  ${a.id}: CRASHED at ${ms(a.crashedAt ?? 0)} and no restart is scheduled; it was in state ${a.state} (handled ${a.handled} messages)`);
  }
  const groups = new Map<string, string[]>();
  for (const a of report.actors) {
    if (a.crashed) continue;
    const busy = a.busyUntil !== undefined ? `, busy until ${ms(a.busyUntil)}` : '';
    const timers = a.timers ? `, ${a.timers} timer${a.timers === 1 ? '' : 's'} set` : ', no timer set';
    const key = `in state ${a.state}${timers}${busy}`;
    const group = groups.get(key);
    if (group) group.push(a.id);
    else groups.set(key, [a.id]);
  }
  for (const [situation, ids] of groups) lines.push(`  ${names(ids)}: ${situation}`);
  if (report.actors.length === 0) lines.push('  (no actors were spawned)');
  const { inFlight, timers } = report;
  if (inFlight.count === 0) lines.push('  messages in flight: none');
  else {
    lines.push(`  messages in flight: ${inFlight.count}`);
    for (const m of inFlight.first) lines.push(`    ${message(m)}, due at ${ms(m.t)}`);
    if (inFlight.count > inFlight.first.length) lines.push(`    … and ${inFlight.count - inFlight.first.length} more`);
  }
  lines.push(timers.count === 0 ? '  timers set: none' : `  timers set: ${timers.count}, the next due at ${ms(timers.nextDueAt ?? report.time)}`);
  if (report.lost.length) {
    lines.push(`  last messages lost (newest last):`);
    for (const m of report.lost) lines.push(`    ${message(m)} at ${ms(m.t)}: ${m.reason}`);
  }
  return lines.join('\n');
}
