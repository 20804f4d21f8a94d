/**
 * Rounds that left the global model unchanged, and why — read from a federated
 * result's `perRound` rows (`skipped: reason`, as the fedavg experiment returns them).
 * A run whose every round was skipped "passes" with the initial model; the user must
 * see that, and the reason, in the terminal, results.json and report.html alike.
 */

export interface SkippedRound {
  round: number;
  reason: string;
}

/** The skipped rounds of a scenario result, in round order (none when the result has no `perRound`). */
export function skippedRoundsOf(result: unknown): SkippedRound[] {
  const rows = (result as { perRound?: unknown } | undefined)?.perRound;
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((row): row is { round: number; skipped: string } => typeof row?.round === 'number' && typeof row?.skipped === 'string')
    .map((row) => ({ round: row.round, reason: row.skipped }))
    .sort((a, b) => a.round - b.round);
}

/** `1–3, 7`: round numbers as ranges. */
export function roundRanges(rounds: readonly number[]): string {
  const parts: string[] = [];
  let start = rounds[0];
  let end = start;
  for (const r of rounds.slice(1).concat(NaN)) {
    if (r === end + 1) {
      end = r;
      continue;
    }
    parts.push(start === end ? String(start) : `${start}–${end}`);
    start = end = r;
  }
  return parts.join(', ');
}

/** Skipped rounds grouped by reason (first occurrence order): one line per distinct reason. */
export function skippedByReason(skipped: readonly SkippedRound[]): Array<{ rounds: string; count: number; reason: string }> {
  const groups = new Map<string, number[]>();
  for (const { round, reason } of skipped) {
    const list = groups.get(reason);
    if (list) list.push(round);
    else groups.set(reason, [round]);
  }
  return [...groups].map(([reason, rounds]) => ({ rounds: roundRanges(rounds), count: rounds.length, reason }));
}
