/**
 * 'plain' aggregation: clients report their FitRes to the server, which sees each update
 * (so every strategy works, robust rules included) and averages them in the clear.
 */
import type { AnyActorLogic } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { simpleClientLogic } from '../rounds/client-logic.js';
import type { Aggregator, AggregatorSetup, RoundView } from '../rounds/aggregator.js';
import { fitResBytes } from '../rounds/fit.js';
import { FL } from '../rounds/protocol.js';
import { meanOfReports } from '../rounds/round-aggregate.js';
import type { RoundFailure } from '../strategies/strategy.js';
import { type ReportBook, emptyBook, fileReport, filedReports } from './report-book.js';
import { answerRejection, missingFrom } from './round-helpers.js';

/** The plain client: its answer is the reply to the fit. */
export const plainClient: AnyActorLogic = simpleClientLogic('fl-plain-client', (ctx, { res, envelope }) => {
  ctx.io.reply(envelope, FL.fitResult, res, { bytes: fitResBytes(res) });
  return {};
});

export function plainAggregator(setup: AggregatorSetup): Aggregator<ReportBook> {
  const who = (view: RoundView) => `server '${view.io.id}' (round ${view.round})`;
  return {
    name: 'plain',
    reveals: 'individual',
    serverMessages: [FL.fitResult],
    byteKinds: {},
    helpers: () => [],
    clientLogic: () => plainClient,
    open: (view) => ({ session: emptyBook(view.round) }),
    receive(book, message: ActorMessage, view) {
      if (message.type !== FL.fitResult) return book;
      const filing = fileReport(book, message.envelope.from, message.payload, { selected: view.selected, layout: setup.layout, reports: setup.reports, maxSamplesPerClient: setup.maxSamplesPerClient, who: who(view) });
      if (filing.refused) answerRejection(view, message, filing.refused);
      return filing.book;
    },
    complete: (book, view) => book.inconsistent !== null || view.selected.every((c) => book.reports[c] !== undefined || view.refused[c] !== undefined),
    retry: (book, view) => ({ session: book, refit: view.selected.filter((c) => !book.reports[c] && !view.refused[c]) }),
    close: (book) => ({ session: book, waitMs: 0 }),
    aggregate(round, book) {
      if (book.inconsistent) return { skip: `the round's inputs are inconsistent: ${book.inconsistent}` };
      const reports = filedReports(book);
      if (reports.length === 0) return { skip: 'no client update arrived before the deadline' };
      return { aggregate: meanOfReports(round, reports, setup.reports, { individual: true }) };
    },
    rejected: (book) => book.rejected,
    received: (book) => Object.keys(book.reports).length,
    missing: (book, view): RoundFailure[] => missingFrom(view, (c) => book.reports[c] !== undefined, 'no update reached the server before the deadline'),
  };
}
