/**
 * Bytes and messages per link and per worker, from the event stream.
 *
 * Every message fedsim's layers send carries its would-be wire size (`bytes`), so
 * these counts say what a real deployment would put on the network — the number a
 * federated-learning protocol is judged by — even when tensors pass by reference.
 * Sent counts at send time; received counts only what was delivered (not dropped).
 */
import type { Observable, Subscription } from 'rxjs';
import type { SimEvent } from '../runtime/index.js';

export interface LinkStats {
  messages: number;
  bytes: number;
}

export interface LinkReport {
  from: string;
  to: string;
  sent: LinkStats;
  delivered: LinkStats;
}

export interface WorkerTraffic {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
}

interface Link {
  from: string;
  to: string;
  sent: LinkStats;
  delivered: LinkStats;
}

export class LinkMetrics {
  /** In first-use order, for reports. */
  private readonly links: Link[] = [];
  /** from → to → link: two lookups per message, no key strings built. */
  private readonly index = new Map<string, Map<string, Link>>();
  private readonly subscription: Subscription;

  constructor(events$: Observable<SimEvent>) {
    // Runs for every event of the run, so it filters inline rather than through an operator chain.
    this.subscription = events$.subscribe((event) => {
      if (event.ev !== 'sent' && event.ev !== 'delivered') return;
      const link = this.linkOf(event.from, event.to);
      const stats = event.ev === 'sent' ? link.sent : link.delivered;
      stats.messages++;
      stats.bytes += event.envelope.bytes ?? 0;
    });
  }

  private linkOf(from: string, to: string): Link {
    let targets = this.index.get(from);
    if (!targets) {
      targets = new Map();
      this.index.set(from, targets);
    }
    let link = targets.get(to);
    if (!link) {
      link = { from, to, sent: { messages: 0, bytes: 0 }, delivered: { messages: 0, bytes: 0 } };
      targets.set(to, link);
      this.links.push(link);
    }
    return link;
  }

  /** Counts for one directed link. */
  link(from: string, to: string): LinkReport {
    const link = this.index.get(from)?.get(to);
    return link ? structuredClone(link) : { from, to, sent: { messages: 0, bytes: 0 }, delivered: { messages: 0, bytes: 0 } };
  }

  /** Every link that carried a message, in the order each first did. */
  all(): LinkReport[] {
    return this.links.map((link) => structuredClone(link));
  }

  /** What one actor put on and took off the network. */
  worker(id: string): WorkerTraffic {
    const traffic: WorkerTraffic = { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 };
    for (const link of this.links) {
      if (link.from === id) {
        traffic.messagesSent += link.sent.messages;
        traffic.bytesSent += link.sent.bytes;
      }
      if (link.to === id) {
        traffic.messagesReceived += link.delivered.messages;
        traffic.bytesReceived += link.delivered.bytes;
      }
    }
    return traffic;
  }

  /** Totals over all links. */
  total(): { sent: LinkStats; delivered: LinkStats } {
    const total = { sent: { messages: 0, bytes: 0 }, delivered: { messages: 0, bytes: 0 } };
    for (const link of this.links) {
      total.sent.messages += link.sent.messages;
      total.sent.bytes += link.sent.bytes;
      total.delivered.messages += link.delivered.messages;
      total.delivered.bytes += link.delivered.bytes;
    }
    return total;
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}
