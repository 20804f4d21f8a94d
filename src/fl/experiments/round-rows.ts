/**
 * An FL experiment's per-round rows (results.json `result.perRound`; `fedsim export --csv`
 * writes them as metrics.csv): what one sync round or one async server update did, with
 * each count saying what it counts.
 *
 *   column         sync round                                   async server update (round = model version)
 *   selected       clients the round asked to train             fits dispatched since the previous server update
 *   updates        client updates aggregated (one a participant) client updates applied (FedBuff: bufferSize; FedAsync: 1)
 *   participants   distinct clients whose update is in it       distinct clients among the applied updates
 *   finished       selected clients whose input reached the     as participants
 *                  aggregation (also in a skipped round)
 *   dropped        selected clients not in the aggregate        dispatches given up since the previous server update
 *   drops.<why>    `dropped` by why, each client once: offline, deadline, over-selected, refused, fault, bug
 *                  (rounds/drop-reasons.ts), so the six add up to `dropped`
 *
 * A FedBuff update may carry two updates of one client, so `updates` can exceed
 * `participants`; async dispatches and updates overlap server updates, so `selected` and
 * `updates` of one row need not match.
 *
 * ROUND_COLUMNS is the CSV's header for every FL experiment, sync or async, with or
 * without dp or a test set: a column that does not apply to a run is empty, a count of
 * nothing is 0, so metrics.csv files of any runs concatenate and compare column by column.
 */
import { DROP_REASONS, type DropCounts } from '../rounds/drop-reasons.js';
import type { RoundFailure } from '../strategies/strategy.js';
import type { RoundMetrics } from '../metrics/round-metrics.js';
import type { AsyncUpdateNote } from '../async/async-updates.js';
import { dpNoteOf } from '../../dp/fedavg/privacy-report.js';

/** How many failures of a skipped round a row lists (drops counts them all). */
const LISTED_FAILURES = 10;

const MS_PER_HOUR = 3_600_000;
export const virtualHours = (ms: number) => ms / MS_PER_HOUR;

export interface ExperimentRoundRow {
  round: number;
  testAccuracy?: number;
  testLoss?: number;
  trainLoss: number;
  /** The counts of the table in the file comment. */
  selected: number;
  updates: number;
  participants: number;
  finished: number;
  dropped: number;
  drops: DropCounts;
  /** Virtual ms from the first update's arrival to the round's end (rounds/protocol.ts RoundEnd.stragglerWaitMs). */
  stragglerWaitMs?: number;
  /** The round's virtual duration, ms. */
  durationMs: number;
  bytesUp: number;
  bytesDown: number;
  endedAt: number;
  /** endedAt in virtual hours (the x axis of the accuracy-against-time chart). */
  virtualHours: number;
  /** ε spent so far, after this round (runs with `dp`). */
  epsilon?: number;
  /** Why the round left the model unchanged. */
  skipped?: string;
  /** A skipped round's failures (the first LISTED_FAILURES), with each client's reason. */
  failures?: RoundFailure[];
}

/** The CSV's columns, in order (nested fields dotted, as metricsTable flattens them). */
export const ROUND_COLUMNS: readonly string[] = [
  'round',
  'testAccuracy',
  'testLoss',
  'trainLoss',
  'selected',
  'updates',
  'participants',
  'finished',
  'dropped',
  ...DROP_REASONS.map((why) => `drops.${why}`),
  'stragglerWaitMs',
  'durationMs',
  'bytesUp',
  'bytesDown',
  'endedAt',
  'virtualHours',
  'epsilon',
  'skipped',
  'failures',
];

/** One round's (or async server update's) row. */
export function experimentRoundRow(r: RoundMetrics): ExperimentRoundRow {
  const asyncNote = r.notes?.async as AsyncUpdateNote | undefined;
  const epsilon = dpNoteOf(r)?.epsilon;
  return {
    round: r.round,
    testAccuracy: r.testAccuracy,
    testLoss: r.testLoss,
    trainLoss: r.trainLoss,
    selected: asyncNote ? asyncNote.dispatched : r.selected.length,
    updates: asyncNote ? asyncNote.clients.length : r.participants.length,
    participants: r.participants.length,
    finished: r.finished,
    dropped: r.dropped.length,
    drops: r.drops,
    ...(r.stragglerWaitMs !== undefined ? { stragglerWaitMs: r.stragglerWaitMs } : {}),
    durationMs: r.durationMs,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    endedAt: r.endedAt,
    virtualHours: virtualHours(r.endedAt),
    ...(epsilon !== undefined ? { epsilon } : {}),
    ...(r.skipped ? { skipped: r.skipped } : {}),
    ...(r.skipped && r.failures.length > 0 ? { failures: r.failures.slice(0, LISTED_FAILURES) } : {}),
  };
}
