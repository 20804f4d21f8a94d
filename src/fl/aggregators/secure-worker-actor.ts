/**
 * The trusted secure worker of PySyft's tutorial (seed 002, §1.3 "Average gradients"):
 * clients send their trained models to it instead of to the server; it averages them
 * (sample-weighted, in sorted client order) and forwards only the average, so the server
 * never holds one client's update.
 *
 *   server ──fl/secure-round {round, clients}──▶ secure worker   (which clients to expect)
 *   client ──fl/fit-result──▶ secure worker
 *   server ──fl/secure-close {round}──▶ secure worker             (the deadline: average what is in)
 *   secure worker ──fl/secure-aggregate──▶ server                 (the average, or why none)
 *
 * Idempotent: a repeated secure-round for the round it collects changes nothing (a second
 * one naming OTHER clients is refused); reports are filed in a ReportBook (a repeat is
 * ignored, two different reports from one client abort the round); the aggregate is sent
 * once all expected clients reported or on close, then kept, and every later close or
 * secure-round for that round gets the same aggregate again. Reports that arrive before
 * their round's secure-round are held until it comes. Individual updates are forgotten
 * as soon as the aggregate is made.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { ActorIO, ActorMessage } from '../../runtime/actor-cell.js';
import { FlRefusal } from '../errors.js';
import { type Held, hold } from '../fedavg/held.js';
import { FitResSchema, type ReportLayout } from '../rounds/fit.js';
import { FL, parseMessage, wireBytes } from '../rounds/protocol.js';
import { meanOfReports } from '../rounds/round-aggregate.js';
import { compareIds } from '../strategies/strategy.js';
import { type ReportBook, emptyBook, fileReport, filedReports } from './report-book.js';

export const SECURE_WORKER = {
  round: 'fl/secure-round',
  close: 'fl/secure-close',
  aggregate: 'fl/secure-aggregate',
} as const;

const round = z.number().int().min(1);
export const SecureRoundSchema = z.object({ round, clients: z.array(z.string().min(1)).min(1).max(100_000) }).strict();
export const SecureCloseSchema = z.object({ round }).strict();

const Float64ArraySchema = z.custom<Float64Array>((v) => v instanceof Float64Array, { message: 'expected a Float64Array' });
const Means = z.array(Float64ArraySchema);
export const SecureAggregateSchema = z
  .object({
    round,
    /** The weighted means; null when too few contributed to hide each one (or the round was inconsistent). */
    mean: z
      .object({ weights: Means, extras: z.record(z.string(), Means), metrics: z.record(z.string(), z.number()), loss: z.number(), numSamples: z.number().min(0) })
      .strict()
      .nullable(),
    contributors: z.array(z.string()),
    /** Reports the secure worker refused this round. */
    rejected: z.number().int().min(0),
    /** Why `mean` is null. */
    withheld: z.string().optional(),
  })
  .strict();
export type SecureAggregate = z.infer<typeof SecureAggregateSchema>;

export interface SecureWorkerInput {
  io: ActorIO;
  /** The only actor allowed to open and close rounds. */
  server: string;
  /** Fewest updates whose average may leave (default 2). */
  minContributors?: number;
  layout: readonly Float32Array[];
  reports: ReportLayout;
  maxSamplesPerClient: number;
}

interface SecureWorkerContext extends SecureWorkerInput {
  round: number;
  expected: readonly string[];
  book: ReportBook;
  /** The aggregate of `round` once made (then the book is empty). */
  sent: Held<SecureAggregate> | null;
  /** Reports for rounds whose secure-round has not arrived yet: the latest per client. */
  early: Held<Readonly<Record<string, { from: string; payload: unknown }>>>;
}

type Context = SecureWorkerContext;
const who = (ctx: Context) => `secure worker '${ctx.io.id}' (round ${ctx.round})`;

function fromServer(ctx: Context, event: ActorMessage): boolean {
  if (event.envelope.from === ctx.server) return true;
  ctx.io.replyError(event.envelope, new FlRefusal(`${who(ctx)}: only the server '${ctx.server}' may send '${event.type}', not '${event.envelope.from}'`, { actor: ctx.io.id, op: event.type }));
  return false;
}

/** Makes (and sends) the round's aggregate from the book; forgets the individual updates. */
function makeAggregate(ctx: Context): Partial<Context> {
  const reports = filedReports(ctx.book);
  const enough = reports.length >= (ctx.minContributors ?? 2);
  let aggregate: SecureAggregate;
  if (ctx.book.inconsistent) {
    aggregate = { round: ctx.round, mean: null, contributors: [], rejected: ctx.book.rejected, withheld: `the round's inputs are inconsistent: ${ctx.book.inconsistent}` };
  } else if (!enough) {
    aggregate = {
      round: ctx.round,
      mean: null,
      contributors: reports.map((r) => r.clientId),
      rejected: ctx.book.rejected,
      withheld: `the secure worker withheld the average of ${reports.length} update(s): fewer than ${ctx.minContributors ?? 2} cannot hide each one`,
    };
  } else {
    const mean = meanOfReports(ctx.round, reports, ctx.reports, { individual: false });
    aggregate = {
      round: ctx.round,
      mean: { weights: mean.weights, extras: mean.extras, metrics: mean.metrics, loss: mean.loss, numSamples: mean.numSamples },
      contributors: mean.contributors,
      rejected: ctx.book.rejected,
    };
  }
  sendAggregate(ctx, aggregate);
  return { sent: hold(aggregate), book: emptyBook(ctx.round) };
}

function sendAggregate(ctx: Context, aggregate: SecureAggregate): void {
  const bytes = aggregate.mean ? wireBytes(aggregate.mean.weights, ...Object.values(aggregate.mean.extras)) : wireBytes();
  ctx.io.send(ctx.server, SECURE_WORKER.aggregate, aggregate, { bytes });
}

function file(ctx: Context, from: string, payload: unknown, envelope: ActorMessage['envelope'] | null): Partial<Context> {
  const filing = fileReport(ctx.book, from, payload, { selected: ctx.expected, layout: ctx.layout, reports: ctx.reports, maxSamplesPerClient: ctx.maxSamplesPerClient, who: who(ctx) });
  if (filing.refused && envelope) ctx.io.reply(envelope, FL.updateRejected, { round: (payload as { round: number }).round, currentRound: ctx.round, reason: filing.refused });
  const next = { ...ctx, book: filing.book };
  const complete = next.book.inconsistent !== null || next.expected.every((c) => next.book.reports[c] !== undefined);
  return complete ? { book: next.book, ...makeAggregate(next) } : { book: next.book };
}

function onSecureRound(ctx: Context, event: ActorMessage): Partial<Context> {
  if (!fromServer(ctx, event)) return {};
  const message = parseMessage(SecureRoundSchema, event.payload, event.type, event.envelope.from, who(ctx));
  const clients = [...message.clients].sort(compareIds);
  if (message.round < ctx.round) return {};
  if (message.round === ctx.round) {
    if (clients.join('\u0000') !== ctx.expected.join('\u0000')) {
      throw new FlRefusal(`${who(ctx)}: a second secure-round for round ${ctx.round} names other clients [${clients.join(', ')}] than the first [${ctx.expected.join(', ')}]`, { actor: ctx.io.id, round: ctx.round });
    }
    if (ctx.sent) sendAggregate(ctx, ctx.sent.value); // the server asks again: it has not got it
    return {};
  }
  let next: Context = { ...ctx, round: message.round, expected: clients, book: emptyBook(message.round), sent: null };
  const early = ctx.early.value;
  const kept: Record<string, { from: string; payload: unknown }> = {};
  for (const key of Object.keys(early).sort(compareIds)) {
    const held = early[key];
    const claimed = (held.payload as { round?: number }).round ?? 0;
    if (claimed === message.round && !next.sent) next = { ...next, ...file(next, held.from, held.payload, null) } as Context;
    else if (claimed > message.round) kept[key] = held;
  }
  return { round: next.round, expected: next.expected, book: next.book, sent: next.sent, early: hold(kept) };
}

function onReport(ctx: Context, event: ActorMessage): Partial<Context> {
  const { envelope } = event;
  const res = parseMessage(FitResSchema, event.payload, FL.fitResult, envelope.from, who(ctx));
  if (res.round > ctx.round) {
    return { early: hold({ ...ctx.early.value, [envelope.from]: { from: envelope.from, payload: event.payload } }) };
  }
  if (ctx.sent && res.round === ctx.round) {
    ctx.io.reply(envelope, FL.updateRejected, { round: res.round, currentRound: ctx.round, reason: 'stale-round' });
    return {};
  }
  return file(ctx, envelope.from, event.payload, envelope);
}

function onClose(ctx: Context, event: ActorMessage): Partial<Context> {
  if (!fromServer(ctx, event)) return {};
  const { round: closing } = parseMessage(SecureCloseSchema, event.payload, event.type, event.envelope.from, who(ctx));
  if (closing !== ctx.round) return {};
  if (ctx.sent) {
    sendAggregate(ctx, ctx.sent.value);
    return {};
  }
  return makeAggregate(ctx);
}

export const secureWorkerActor = setup({
  types: {} as { context: SecureWorkerContext; input: SecureWorkerInput; events: ActorMessage },
}).createMachine({
  id: 'secure-worker',
  context: ({ input }) => ({ ...input, round: 0, expected: [], book: emptyBook(0), sent: null, early: hold({}) }),
  on: {
    [SECURE_WORKER.round]: { actions: assign(({ context, event }) => onSecureRound(context, event)) },
    [FL.fitResult]: { actions: assign(({ context, event }) => onReport(context, event)) },
    [SECURE_WORKER.close]: { actions: assign(({ context, event }) => onClose(context, event)) },
  },
});
