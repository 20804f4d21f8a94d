/**
 * Messages in flight, organised by channel (sender→receiver).
 *
 * Channels are kept in the order they first carried a message, and messages in a
 * channel in send order, so every scan below visits them in an order fixed by the
 * run itself — never by hash order or object identity.
 */
import { clearArray, removeItem } from '../arrays.js';
import type { PostedEnvelope } from '../envelope.js';

class Channel {
  /** Envelopes from `head` on are pending; slots before it are already taken (null, so they hold nothing alive). */
  readonly queue: Array<PostedEnvelope | null> = [];
  head = 0;
  active = false;
  constructor(readonly from: string, readonly to: string) {}

  get length(): number {
    return this.queue.length - this.head;
  }

  /** Empties a drained queue. */
  clear(): void {
    clearArray(this.queue);
    this.head = 0;
  }

  shift(): PostedEnvelope {
    const envelope = this.queue[this.head]!;
    this.queue[this.head++] = null;
    // Once more than half the array is taken slots, drop them. (An in-place copyWithin + length cut was tried:
    // it made the scheduler's rate bimodal in later workloads of `npm run bench -- runtime`; splice does not.)
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return envelope;
  }
}

/** When can this envelope's receiver take it (its busy-until time); the scheduler supplies it. */
export type ReadyAt = (envelope: PostedEnvelope) => number;

export class PendingMessages {
  /** sender → receiver → channel (nested maps: no key string is built per message). */
  private readonly channels = new Map<string, Map<string, Channel>>();
  /** Channels with at least one queued message, in activation order. */
  private readonly active: Channel[] = [];
  /** Reordered messages: they are exempt from their channel's FIFO. */
  private readonly unordered: PostedEnvelope[] = [];
  private lastChannel: Channel | null = null;
  /** Filled by `collect`; entries past its return value are stale. Reused to spare the allocator. */
  readonly found: PostedEnvelope[] = [];
  /** `foundIn[i]`: the channel of `found[i]` (null for a reordered one), so `take` needs no lookup. */
  private readonly foundIn: Array<Channel | null> = [];
  /** Set by `collect`: when the earliest envelope it could not deliver becomes deliverable. */
  nextReady = Infinity;
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(envelope: PostedEnvelope): void {
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
   * Collects the envelopes deliverable at `now` — due, receiver not busy (`readyAt`,
   * null when no receiver can be busy), and (when `fifo`) at the head of their
   * channel — into `found[0 .. n)`, and returns n. The same scan sets `nextReady`: the earliest time at which one of the envelopes it
   * passed over becomes deliverable (Infinity when none), so a scheduler that finds
   * nothing deliverable now knows where to jump without scanning again.
   */
  collect(now: number, fifo: boolean, readyAt: ReadyAt | null): number {
    const out = this.found;
    let n = 0;
    let next = Infinity;
    const active = this.active;
    for (let c = 0; c < active.length; c++) {
      const channel = active[c];
      const end = fifo ? channel.head + 1 : channel.queue.length;
      for (let i = channel.head; i < end; i++) {
        const envelope = channel.queue[i]!; // from head on, every slot holds a pending envelope
        const t = readyAt === null ? envelope.deliverAt : Math.max(envelope.deliverAt, readyAt(envelope));
        if (t <= now) {
          this.foundIn[n] = channel;
          out[n++] = envelope;
        } else if (t < next) next = t;
      }
    }
    for (const envelope of this.unordered) {
      const t = readyAt === null ? envelope.deliverAt : Math.max(envelope.deliverAt, readyAt(envelope));
      if (t <= now) {
        this.foundIn[n] = null;
        out[n++] = envelope;
      } else if (t < next) next = t;
    }
    this.nextReady = next;
    return n;
  }

  /** Removes and returns `found[index]` from the last `collect`. */
  take(index: number): PostedEnvelope {
    const envelope = this.found[index];
    this.removeFrom(envelope, this.foundIn[index]);
    return envelope;
  }

  /** Removes a pending envelope. */
  remove(envelope: PostedEnvelope): void {
    this.removeFrom(envelope, envelope.reordered ? null : this.channelOf(envelope));
  }

  /** Removes an envelope from its channel (null: from the reordered ones). */
  private removeFrom(envelope: PostedEnvelope, channel: Channel | null): void {
    this.total--;
    if (channel === null) {
      this.unordered.splice(this.unordered.indexOf(envelope), 1);
      return;
    }
    if (channel.queue[channel.head] === envelope) channel.shift();
    else channel.queue.splice(channel.queue.indexOf(envelope, channel.head), 1);
    if (channel.length === 0) {
      channel.active = false;
      channel.clear();
      removeItem(this.active, channel);
    }
  }

  private channelOf(envelope: PostedEnvelope): Channel {
    // Consecutive adds and removes mostly hit one channel: two string compares instead of two hash probes.
    const last = this.lastChannel;
    if (last !== null && last.from === envelope.from && last.to === envelope.to) return last;
    this.lastChannel = this.lookUpChannel(envelope);
    return this.lastChannel;
  }

  private lookUpChannel(envelope: PostedEnvelope): Channel {
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
  removeAllTo(actor: string): PostedEnvelope[] {
    const removed: PostedEnvelope[] = [];
    for (const envelope of this.all()) if (envelope.to === actor) removed.push(envelope);
    for (const envelope of removed) this.remove(envelope);
    return removed;
  }

  /** Every pending envelope, ordered by send sequence (for inspection and crash handling). */
  all(): PostedEnvelope[] {
    const out: PostedEnvelope[] = [];
    for (const channel of this.active) for (let i = channel.head; i < channel.queue.length; i++) out.push(channel.queue[i]!);
    out.push(...this.unordered);
    return out.sort((a, b) => a.seq - b.seq);
  }
}
