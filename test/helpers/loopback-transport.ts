/**
 * A second live transport, in one file, to show the seam holds: two SimulationCores in
 * one process, on real time, exchanging encoded envelopes through the event loop. The
 * driver's core places its workers on the peer core, which hosts them as `fedsim worker`
 * would. Nothing in the runtime or the pointer layer knows this transport exists.
 */
import { NO_SEQ, PostedEnvelope } from '../../src/runtime/envelope.js';
import { type ActorId, SimulationCore } from '../../src/runtime/index.js';
import type { PlacedActorSpec, TrafficCount, Transport, TransportSink } from '../../src/runtime/transport/transport.js';
import { wireCodec } from '../../src/messages/index.js';
import { buildPlacedActor } from '../../src/pointers/placed-workers.js';

export class LoopbackTransport implements Transport {
  readonly name = 'loopback';
  sink!: TransportSink;
  peer!: LoopbackTransport;
  readonly local: Set<ActorId>;
  private readonly published: Record<string, number> = {};
  private readonly received: Record<string, number> = {};

  constructor(local: ActorId[], private readonly origin: number) {
    this.local = new Set(local);
  }

  now(): number {
    return performance.now() - this.origin;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
  }

  isRemote(id: ActorId): boolean {
    return this.peer.local.has(id);
  }

  /** The peer core hosts the actor (set by the test). */
  peerCore!: SimulationCore;

  place(id: ActorId, spec: PlacedActorSpec): void {
    const { logic, input } = buildPlacedActor(spec.kind, JSON.parse(JSON.stringify(spec.input)), { has: (a) => this.peerCore.hasActor(a), isWorker: (a) => this.peer.local.has(a) });
    this.peer.local.add(id);
    this.peerCore.spawn(logic, id, { input });
  }

  publish(envelope: PostedEnvelope): void {
    const bytes = wireCodec.encode(envelope.type, envelope.payload);
    wireCodec.release(envelope.payload);
    const { from, serial, to, type, cause, inReplyTo, digest, bytes: size } = envelope;
    this.published[from] = (this.published[from] ?? 0) + 1;
    setImmediate(() => {
      this.peer.received[from] = (this.peer.received[from] ?? 0) + 1;
      const { payload } = wireCodec.decode(bytes);
      this.peer.sink.accept(new PostedEnvelope(from, serial, to, type, payload, cause, NO_SEQ, inReplyTo, NO_SEQ, digest, size));
    });
  }

  traffic(): TrafficCount {
    return { published: { ...this.published }, received: { ...this.received } };
  }

  async quiesce(): Promise<void> {
    for (let quiet = 0; quiet < 2; ) {
      await new Promise((resolve) => setImmediate(resolve));
      const sent = (t: LoopbackTransport) => Object.values(t.published).reduce((a, b) => a + b, 0);
      const got = (t: LoopbackTransport) => Object.values(t.received).reduce((a, b) => a + b, 0);
      const still = this.sink.idle && this.peer.sink.idle && sent(this) + sent(this.peer) === got(this) + got(this.peer);
      quiet = still ? quiet + 1 : 0;
    }
  }
}

/**
 * The driver's transport, wired to a peer core that hosts the placed workers. The peer's clock
 * runs `peerClockAheadMs` ahead of the driver's (processes' clocks disagree a little).
 */
export function loopbackPair(peerClockAheadMs = 0): { driver: LoopbackTransport; peerCore: SimulationCore } {
  const origin = performance.now();
  const driver = new LoopbackTransport(['me'], origin);
  const peer = new LoopbackTransport([], origin - peerClockAheadMs);
  driver.peer = peer;
  peer.peer = driver;
  const peerCore = new SimulationCore({ transport: peer, driverId: '~peer', keepLog: true });
  driver.peerCore = peerCore;
  return { driver, peerCore };
}
