/**
 * A round's book of plaintext reports (FitRes by client), as the server keeps it under
 * 'plain' aggregation and the secure worker keeps it under 'secure-worker'.
 *
 * Filing is idempotent and never mixes: an exact repeat of a filed report is ignored; a
 * DIFFERENT report from a client already filed for the round marks the book inconsistent
 * (the round is then aborted with that reason, never committed with either); a report for
 * another round, from a client not selected, with the wrong layout or an impossible sample
 * count is refused with the reason.
 */
import { type Held, hold } from '../fedavg/held.js';
import { type FitRes, FitResSchema, type ReportLayout, reportMatches, sameFitRes } from '../rounds/fit.js';
import { FL, type RejectionReason, parseMessage } from '../rounds/protocol.js';
import { assertSameLayout } from '../models/weights.js';
import { compareIds } from '../strategies/strategy.js';

export interface ReportBook {
  round: number;
  reports: Readonly<Record<string, Held<FitRes>>>;
  /** Why the round cannot be committed (two different reports from one client), if so. */
  inconsistent: string | null;
  /** Reports refused this round. */
  rejected: number;
}

export const emptyBook = (round: number): ReportBook => ({ round, reports: {}, inconsistent: null, rejected: 0 });

export interface FilingRules {
  selected: readonly string[];
  layout: readonly Float32Array[];
  reports: ReportLayout;
  maxSamplesPerClient: number;
  /** Who files (for error texts), e.g. "server 'server' (round 3)". */
  who: string;
}

export type Filing = { book: ReportBook; refused?: RejectionReason; detail?: string };

/** Files `payload` from `from`; throws MalformedMessageError when it is not a FitRes. */
export function fileReport(book: ReportBook, from: string, payload: unknown, rules: FilingRules): Filing {
  const res = parseMessage(FitResSchema, payload, FL.fitResult, from, rules.who) as FitRes;
  const refuse = (refused: RejectionReason, detail: string): Filing => ({ book: { ...book, rejected: book.rejected + 1 }, refused, detail });
  if (res.round < book.round) return refuse('stale-round', `a report for round ${res.round}`);
  if (res.round > book.round) return refuse('future-round', `a report for round ${res.round}`);
  if (!rules.selected.includes(from)) return refuse('not-selected', `'${from}' was not selected`);
  const filed = book.reports[from];
  if (filed) {
    if (sameFitRes(filed.value, res)) return { book };
    const reason = `client '${from}' sent two different reports for round ${book.round}`;
    return { book: { ...book, rejected: book.rejected + 1, inconsistent: book.inconsistent ?? reason }, refused: 'inconsistent', detail: reason };
  }
  try {
    assertSameLayout(rules.layout, res.weights, `${rules.who}: the report of '${from}'`);
    for (const [name, extra] of Object.entries(res.extras)) assertSameLayout(rules.layout, extra, `${rules.who}: extra '${name}' of '${from}'`);
  } catch (error) {
    return refuse('bad-layout', (error as Error).message);
  }
  const mismatch = reportMatches(res, rules.reports);
  if (mismatch) return refuse('bad-layout', `'${from}' reported ${mismatch}`);
  if (res.numSamples > rules.maxSamplesPerClient) return refuse('out-of-range', `'${from}' claims ${res.numSamples} samples, more than any client holds (${rules.maxSamplesPerClient})`);
  return { book: { ...book, reports: { ...book.reports, [from]: hold(res) } } };
}

/** The filed reports, sorted by client id. */
export function filedReports(book: ReportBook): { clientId: string; res: FitRes }[] {
  return Object.keys(book.reports)
    .sort(compareIds)
    .map((clientId) => ({ clientId, res: book.reports[clientId].value }));
}
