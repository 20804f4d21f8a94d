/**
 * Per-client rows of a run (results.json `result.perClient`, `fedsim export --clients-csv`):
 * one row per client and round it took part in or was dropped from.
 *
 *   sync   one row per client a round selected: `participant` (its input made the
 *          aggregate) or `dropped` with the drop's kind and reason (drop-reasons.ts), plus
 *          what the ClientMeter measured for that (client, round).
 *   async  one row per update a server update applied (`round` = the model version it made;
 *          `dispatch` and `staleness` from the update's note), plus one `dropped` row per
 *          dispatch given up since the previous server update.
 *
 * A round whose report was lost (recovered from the final answer) has its rows all the
 * same: selection and drops come from the server's summary. Rows are sorted by round, then
 * by client id, so the table is a function of the run alone.
 */
import type { AsyncUpdateNote } from '../async/async-updates.js';
import type { ClientMeter, ClientRoundFigures } from './client-meter.js';
import type { RoundMetrics } from './round-metrics.js';
import { dropOf } from '../rounds/drop-reasons.js';

export interface ClientRoundRow extends ClientRoundFigures {
  round: number;
  client: string;
  status: 'participant' | 'dropped';
  /** Why a dropped client is not in the aggregate: the drop's kind (offline, deadline, over-selected, refused, fault, bug; rounds/drop-reasons.ts) … */
  drop?: string;
  /** … and the server's reason. */
  reason?: string;
  /** Async: the dispatch the update answered, and its staleness (model versions between dispatch and application). */
  dispatch?: number;
  staleness?: number;
}

const byClient = (a: ClientRoundRow, b: ClientRoundRow) => (a.client < b.client ? -1 : a.client > b.client ? 1 : (a.dispatch ?? 0) - (b.dispatch ?? 0));

/** The rows of a synchronous run. */
export function syncClientRows(rounds: readonly RoundMetrics[], meter: ClientMeter): ClientRoundRow[] {
  const rows: ClientRoundRow[] = [];
  for (const m of rounds) {
    const failures = new Map(m.failures.map((f) => [f.clientId, f]));
    const participants = new Set(m.participants);
    const round: ClientRoundRow[] = m.selected.map((client) => {
      const figures = meter.of(client, m.round);
      if (participants.has(client)) return { round: m.round, client, status: 'participant', ...figures };
      const failure = failures.get(client);
      return { round: m.round, client, status: 'dropped', ...(failure ? { drop: dropOf(failure), reason: failure.reason } : {}), ...figures };
    });
    rows.push(...round.sort(byClient));
  }
  return rows;
}

/** The rows of an asynchronous run (its rounds are server updates; see the file comment). */
export function asyncClientRows(rounds: readonly RoundMetrics[], meter: ClientMeter): ClientRoundRow[] {
  const rows: ClientRoundRow[] = [];
  for (const m of rounds) {
    const note = m.notes?.async as AsyncUpdateNote | undefined;
    const round: ClientRoundRow[] = [];
    note?.clients.forEach((client, i) => {
      const dispatch = note.dispatches[i];
      round.push({ round: m.round, client, status: 'participant', dispatch, staleness: note.staleness[i], ...meter.of(client, dispatch) });
    });
    for (const f of m.failures) round.push({ round: m.round, client: f.clientId, status: 'dropped', drop: dropOf(f), reason: f.reason, bytesDown: 0, bytesUp: 0 });
    rows.push(...round.sort(byClient));
  }
  return rows;
}
