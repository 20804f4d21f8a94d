/**
 * Counts over a run's events, for summaries and results.json.
 */
export interface EventLike {
  ev: string;
  t: number;
  type?: string;
  reason?: string;
  actor?: string | null;
  from?: string;
  to?: string;
}

export interface RunStats {
  events: number;
  /** Virtual time of the last event (ms). */
  virtualTime: number;
  actors: number;
  sent: number;
  delivered: number;
  /** Dropped messages by reason (fault, crashed, partition, unknown-actor, stopped). */
  dropped: Record<string, number>;
  /** Faults injected by the plan: delayed, reordered, duplicated, dropped, crashed, partitions. */
  faults: { delayed: number; reordered: number; duplicated: number; dropped: number; crashed: number; partitions: number };
  handlerErrors: number;
  timers: number;
  /** Messages sent, by type. */
  messageTypes: Record<string, number>;
}

export function runStats(events: readonly EventLike[]): RunStats {
  const stats: RunStats = {
    events: events.length,
    virtualTime: events.length ? events[events.length - 1].t : 0,
    actors: 0,
    sent: 0,
    delivered: 0,
    dropped: {},
    faults: { delayed: 0, reordered: 0, duplicated: 0, dropped: 0, crashed: 0, partitions: 0 },
    handlerErrors: 0,
    timers: 0,
    messageTypes: {},
  };
  for (const e of events) {
    switch (e.ev) {
      case 'spawned':
        stats.actors++;
        break;
      case 'sent':
        stats.sent++;
        stats.messageTypes[e.type ?? '?'] = (stats.messageTypes[e.type ?? '?'] ?? 0) + 1;
        break;
      case 'delivered':
        stats.delivered++;
        break;
      case 'dropped':
        stats.dropped[e.reason ?? '?'] = (stats.dropped[e.reason ?? '?'] ?? 0) + 1;
        if (e.reason === 'fault') stats.faults.dropped++;
        break;
      case 'delayed':
        stats.faults.delayed++;
        break;
      case 'reordered':
        stats.faults.reordered++;
        break;
      case 'duplicated':
        stats.faults.duplicated++;
        break;
      case 'crashed':
        stats.faults.crashed++;
        break;
      case 'partition-start':
        stats.faults.partitions++;
        break;
      case 'error':
        stats.handlerErrors++;
        break;
      case 'timer':
        stats.timers++;
        break;
    }
  }
  return stats;
}

export function totalFaults(stats: RunStats): number {
  const f = stats.faults;
  return f.delayed + f.reordered + f.duplicated + f.dropped + f.crashed + f.partitions;
}
