/**
 * The run's view of DP-SGD's privacy: every client's ε, rebuilt from the `dp-sgd` marks the
 * clients left in the event log (client-privacy.ts), and the worst client's ε — the figure a
 * run states, since sample-level DP protects each client's examples and the least protected
 * client bounds the guarantee.
 *
 *   const ledger = new DpSgdPrivacyLedger();
 *   sim.eventsOf('mark').subscribe((e) => ledger.observe(e));   // or feed a recorded log's events
 *   … run …
 *   ledger.summary();   // { epsilon: max over clients, delta, client, clients, perRound, … }
 *
 * The ledger recomputes each client's ε from the marks' mechanisms (q, σ, T per round), with
 * its own accountant, instead of trusting the ε a mark carries: it counts each (client, round)
 * once, so a client that lost its storage in a crash and so forgot earlier rounds is still
 * charged for them.
 */
import type { SimEvent } from '../../../runtime/events.js';
import { DP_SGD_MARK, type DpSgdMarkData, dpSgdStepEvent, newAccountant } from './client-privacy.js';

export interface SampleLevelPrivacy {
  /** Which guarantee this is: each client's examples, by DP-SGD in local training. */
  level: 'sample';
  mechanism: 'dp-sgd';
  accountant: 'rdp';
  /** The worst client's ε at δ (Infinity when some client trained with σ = 0). */
  epsilon: number;
  delta: number;
  /** The client with that ε (the first in id order among equals). */
  client: string;
  /** Clients that trained with DP-SGD at least once. */
  clients: number;
  /** After each round any client trained in: the worst client's ε so far. */
  perRound: Array<{ round: number; epsilon: number }>;
}

interface ClientRounds {
  delta: number;
  /** Round → its mechanism, each round once. */
  rounds: Map<number, Pick<DpSgdMarkData, 'samplingRate' | 'noiseMultiplier' | 'steps'>>;
}

export class DpSgdPrivacyLedger {
  private readonly clients = new Map<string, ClientRounds>();

  /** Takes a run's event; only `dp-sgd` marks count. */
  observe(event: SimEvent): void {
    if (event.ev !== 'mark' || event.label !== DP_SGD_MARK) return;
    const data = event.data as DpSgdMarkData & { actor?: string };
    const actor = String(data.actor);
    let client = this.clients.get(actor);
    if (!client) {
      client = { delta: data.delta, rounds: new Map() };
      this.clients.set(actor, client);
    }
    if (!client.rounds.has(data.round)) client.rounds.set(data.round, { samplingRate: data.samplingRate, noiseMultiplier: data.noiseMultiplier, steps: data.steps });
  }

  /** Each client's ε after every round it trained, by client id. */
  perClient(): Map<string, { epsilon: number; delta: number; rounds: number[] }> {
    const out = new Map<string, { epsilon: number; delta: number; rounds: number[] }>();
    for (const id of [...this.clients.keys()].sort()) {
      const client = this.clients.get(id)!;
      const timeline = epsilonTimeline(client);
      out.set(id, { epsilon: timeline[timeline.length - 1].epsilon, delta: client.delta, rounds: timeline.map((t) => t.round) });
    }
    return out;
  }

  /** The worst client's ε (and its history over rounds), or undefined when no client trained with DP-SGD. */
  summary(): SampleLevelPrivacy | undefined {
    const ids = [...this.clients.keys()].sort();
    if (ids.length === 0) return undefined;
    const timelines = ids.map((id) => epsilonTimeline(this.clients.get(id)!));
    const allRounds = [...new Set(timelines.flatMap((t) => t.map((e) => e.round)))].sort((a, b) => a - b);
    // Walk every client's timeline along the rounds: its ε after its last round ≤ r.
    const cursor = ids.map(() => -1);
    const perRound = allRounds.map((round) => {
      let max = 0;
      timelines.forEach((timeline, c) => {
        while (cursor[c] + 1 < timeline.length && timeline[cursor[c] + 1].round <= round) cursor[c]++;
        if (cursor[c] >= 0) max = Math.max(max, timeline[cursor[c]].epsilon);
      });
      return { round, epsilon: max };
    });
    let worst = 0;
    timelines.forEach((timeline, c) => {
      if (timeline[timeline.length - 1].epsilon > timelines[worst][timelines[worst].length - 1].epsilon) worst = c;
    });
    const client = ids[worst];
    const epsilon = timelines[worst][timelines[worst].length - 1].epsilon;
    return { level: 'sample', mechanism: 'dp-sgd', accountant: 'rdp', epsilon, delta: this.clients.get(client)!.delta, client, clients: ids.length, perRound };
  }
}

/** A client's ε at its δ after each round it trained, in round order (Infinity from its first σ = 0 round on). */
function epsilonTimeline(client: ClientRounds): Array<{ round: number; epsilon: number }> {
  const accountant = newAccountant();
  let unbounded = false;
  return [...client.rounds.keys()]
    .sort((a, b) => a - b)
    .map((round) => {
      const m = client.rounds.get(round)!;
      if (m.noiseMultiplier === 0) unbounded = true;
      else accountant.compose(dpSgdStepEvent(m), m.steps);
      return { round, epsilon: unbounded ? Infinity : accountant.epsilon(client.delta).epsilon };
    });
}
