/**
 * What each client did for each round it was sent a fit for, measured from the deliveries
 * the simulation makes (`sim.delivered$`), as the ByteMeter measures rounds: bytes down and
 * up, the virtual time from the fit's first delivery to the client's first update leaving
 * it, and — from the plain mode's fl/fit-result, which the server reads in the clear anyway —
 * the samples and training loss it reported. Under the secure modes a client's update goes
 * out in shares, so its samples and loss are not read (they stay its own); bytes and times
 * are still measured.
 *
 * Keyed by (client, the `round` in the payload): a sync round, or an async dispatch number.
 * A plain subscriber: it changes nothing in the run.
 */
import type { Subscription } from 'rxjs';
import type { SimulationCore } from '../../runtime/simulation.js';
import { FL } from '../rounds/protocol.js';
import type { ByteKinds } from './byte-meter.js';

export interface ClientRoundFigures {
  bytesDown: number;
  bytesUp: number;
  /** Samples the client reported training on (plain mode). */
  samples?: number;
  /** Its reported mean training loss (plain mode). */
  trainLoss?: number;
  /** Virtual ms from the fit's first delivery to the client's first update for it leaving the client (its training time). */
  trainMs?: number;
}

export class ClientMeter {
  private readonly figures = new Map<string, ClientRoundFigures & { fitAt?: number }>();
  private subscription: Subscription | undefined;

  constructor(private readonly kinds: ByteKinds) {}

  /** Starts measuring deliveries between clients (`isClient`) and anyone else. */
  attach(sim: SimulationCore, isClient: (id: string) => boolean): this {
    this.subscription = sim.delivered$.subscribe((event) => {
      const kind = this.kinds[event.type];
      if (kind !== 'bytesDown' && kind !== 'bytesUp') return;
      const client = kind === 'bytesDown' ? event.to : event.from;
      if (!isClient(client)) return;
      const payload = event.envelope.payload as { round?: unknown; numSamples?: unknown; loss?: unknown } | undefined;
      const round = payload?.round;
      if (typeof round !== 'number') return;
      const entry = this.entry(client, round);
      entry[kind] += event.envelope.bytes ?? 0;
      if (kind === 'bytesDown') {
        if (event.type === FL.fit) entry.fitAt ??= event.t;
        return;
      }
      if (entry.trainMs === undefined && entry.fitAt !== undefined) entry.trainMs = event.envelope.sentAt - entry.fitAt;
      if (event.type === FL.fitResult && entry.samples === undefined && typeof payload!.numSamples === 'number' && typeof payload!.loss === 'number') {
        entry.samples = payload!.numSamples;
        entry.trainLoss = payload!.loss;
      }
    });
    return this;
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** The figures of `client` for `round` (zeros when it was sent nothing that arrived). */
  of(client: string, round: number): ClientRoundFigures {
    const entry = this.figures.get(key(client, round));
    if (!entry) return { bytesDown: 0, bytesUp: 0 };
    const { fitAt: _fitAt, ...figures } = entry;
    return figures;
  }

  private entry(client: string, round: number): ClientRoundFigures & { fitAt?: number } {
    const k = key(client, round);
    let entry = this.figures.get(k);
    if (!entry) {
      entry = { bytesDown: 0, bytesUp: 0 };
      this.figures.set(k, entry);
    }
    return entry;
  }
}

const key = (client: string, round: number) => `${client}\u0000${round}`;
