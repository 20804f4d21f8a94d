/**
 * Messages in flight, organised by channel (sender→receiver).
 *
 * Channels are kept in the order they first carried a message, and messages in a
 * channel in send order, so every scan below visits them in an order fixed by the
 * run itself — never by hash order or object identity.
 */
import type { Envelope } from '../envelope.js';

class Channel {
  readonly queue: Envelope[] = [];
  head = 0;
  active = false;
  constructor(readonly from: string, readonly to: string) {}

  get length(): number {
    return this.queue.length - this.head;
  }

  shift(): Envelope {
    const envelope = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return envelope;
  }
}

/** When can this envelope's receiver take it (its busy-until time); the scheduler supplies it. */
export type ReadyAt = (envelope: Envelope) => number;

export class PendingMessages {
  /** sender → receiver → channel (nested maps: no key string is built per message). */
  private readonly channels = new Map<string, Map<string, Channel>>();
  /** Channels with at least one queued message, in activation order. */
  private readonly active: Channel[] = [];
  /** Reordered messages: they are exempt from their channel's FIFO. */
  private readonly unordered: Envelope[] = [];
  /** Filled by `collect`; entries past its return value are stale. Reused to spare the allocator. */
  readonly found: Envelope[] = [];
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(envelope: Envelope): void {
    this.total++;
    if (envelope.reordered) {
      this.unordered.push(envelope);
      return;
    }
    const channel = this.channelOf(envelope);
    channel.queue.push(envelope);
    if (!channel.active) {
      channel.active = true;
      this.active.push(channel);
    }
  }

  /**
   * Collects the envelopes deliverable at `now` — due, receiver not busy, and (when
   * `fifo`) at the head of their channel — into `found[0 .. n)`, and returns n.
   */
  collect(now: number, fifo: boolean, readyAt: ReadyAt): number {
    const out = this.found;
    let n = 0;
    for (const channel of this.active) {
      const end = fifo ? channel.head + 1 : channel.queue.length;
      for (let i = channel.head; i < end; i++) {
        const envelope = channel.queue[i];
        if (envelope.deliverAt <= now && readyAt(envelope) <= now) out[n++] = envelope;
      }
    }
    for (const envelope of this.unordered) {
      if (envelope.deliverAt <= now && readyAt(envelope) <= now) out[n++] = envelope;
    }
    return n;
  }

  /** The earliest virtual time at which some envelope becomes deliverable, or undefined when none is pending. */
  nextReadyTime(fifo: boolean, readyAt: ReadyAt): number | undefined {
    let best = Infinity;
    for (const channel of this.active) {
      const end = fifo ? channel.head + 1 : channel.queue.length;
      for (let i = channel.head; i < end; i++) {
        const envelope = channel.queue[i];
        const t = Math.max(envelope.deliverAt, readyAt(envelope));
        if (t < best) best = t;
      }
    }
    for (const envelope of this.unordered) {
      const t = Math.max(envelope.deliverAt, readyAt(envelope));
      if (t < best) best = t;
    }
    return best === Infinity ? undefined : best;
  }

  /** Removes an envelope that `candidates` returned. */
  remove(envelope: Envelope): void {
    this.total--;
    if (envelope.reordered) {
      this.unordered.splice(this.unordered.indexOf(envelope), 1);
      return;
    }
    const channel = this.channelOf(envelope);
    if (channel.queue[channel.head] === envelope) channel.shift();
    else channel.queue.splice(channel.queue.indexOf(envelope, channel.head), 1);
    if (channel.length === 0) {
      channel.active = false;
      if (channel.head > 0) channel.queue.splice(0, channel.head);
      channel.head = 0;
      this.active.splice(this.active.indexOf(channel), 1);
    }
  }

  private channelOf(envelope: Envelope): Channel {
    let byReceiver = this.channels.get(envelope.from);
    if (!byReceiver) {
      byReceiver = new Map();
      this.channels.set(envelope.from, byReceiver);
    }
    let channel = byReceiver.get(envelope.to);
    if (!channel) {
      channel = new Channel(envelope.from, envelope.to);
      byReceiver.set(envelope.to, channel);
    }
    return channel;
  }

  /** Removes and returns every pending envelope addressed to `actor` (e.g. when it crashes), in send order. */
  removeAllTo(actor: string): Envelope[] {
    const removed: Envelope[] = [];
    for (const envelope of this.all()) if (envelope.to === actor) removed.push(envelope);
    for (const envelope of removed) this.remove(envelope);
    return removed;
  }

  /** Every pending envelope, ordered by send sequence (for inspection and crash handling). */
  all(): Envelope[] {
    const out: Envelope[] = [];
    for (const channel of this.active) for (let i = channel.head; i < channel.queue.length; i++) out.push(channel.queue[i]);
    out.push(...this.unordered);
    return out.sort((a, b) => a.seq - b.seq);
  }
}
