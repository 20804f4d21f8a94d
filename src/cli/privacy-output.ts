/**
 * What a differentially private run says in the terminal: ε so far after each round, then
 * the run's privacy statement on one line — read from a federated result's `perRound`
 * rows (`epsilon`) and its `privacy` (as the fedavg experiment returns them).
 */
import { type PrivacyStatement, privacyLine } from '../dp/fedavg/privacy-report.js';

/** The lines to print for `result` (none when it has no privacy statement). */
export function privacyLinesOf(result: unknown): string[] {
  const privacy = (result as { privacy?: PrivacyStatement } | undefined)?.privacy;
  if (typeof privacy?.epsilon !== 'number') return [];
  const rows = (result as { perRound?: unknown }).perRound;
  const perRound = Array.isArray(rows) ? rows.filter((row): row is { round: number; epsilon: number } => typeof row?.round === 'number' && typeof row?.epsilon === 'number') : [];
  const width = String(perRound.at(-1)?.round ?? 0).length;
  return [
    ...perRound.map((row) => `  round ${String(row.round).padStart(width)}  ε = ${Number(row.epsilon.toPrecision(4))}${typeof (row as { skipped?: unknown }).skipped === 'string' ? ' (skipped round, accounted)' : ''}`),
    privacyLine(privacy),
    ...(privacy.stopReason ? [`stopped: ${privacy.stopReason}`] : []),
  ];
}
