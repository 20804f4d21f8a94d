/**
 * An experiment's per-client rows (results.json `result.perClient`, see
 * src/fl/metrics/client-rounds.ts) as one flat table for `fedsim export --clients-csv`:
 * all of its columns, always, in a fixed order that reads left to right — who and when, what happened,
 * what it trained, what it cost — followed by any column a later fedsim adds.
 */
import { type MetricsTable, metricsTable, withColumns } from './metrics-table.js';

export const CLIENT_COLUMNS = ['round', 'client', 'status', 'drop', 'reason', 'samples', 'trainLoss', 'trainMs', 'bytesDown', 'bytesUp', 'dispatch', 'staleness'] as const;

/** Every column of CLIENT_COLUMNS is there even when no row has it (no drops, a sync run): the same header for every run. */
export function clientTable(rows: readonly unknown[]): MetricsTable {
  return withColumns(metricsTable(rows, CLIENT_COLUMNS), CLIENT_COLUMNS);
}
