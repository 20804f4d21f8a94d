/**
 * The client under 'secagg+' aggregation: a round-engine client and a SecAgg+ client in
 * one actor, as Flower's `secaggplus_mod` wraps the client app on the same device.
 *
 *   fl/fit ─▶ train (or answer from storage), answer fl/fit-done (no weights)
 *   secagg/setup ─▶ share-keys ─▶ collect-masked-input ─▶ consistency-check ─▶ unmask   (the SecAgg+ client role)
 *
 * The update it masks is its stored answer for the round, packed and weighted by
 * c = n_k / maxWeight (round-aggregate.ts), so the server learns Σ c_k but no client's n_k
 * (c = 1 under uniform weighting: the sum then carries no n_k at all).
 * A client masks one round's update at most ONCE: two masked copies of the same update
 * under different masks would let a server subtract them; the round it masked is kept in
 * durable storage and a second collect for it is refused (the SecAgg+ server then counts
 * this client as a dropout).
 *
 * Under distributed DP the fit's report carries `dp: { rotationSeed, plan }`: the client keeps
 * its clipped update Δ = w_trained − w_global from the fit, and at SecAgg+'s collect stage
 * encodes it — its share of the noise drawn for the round's participant count — into the ring
 * SecAgg+ masks (src/dp/distributed/encode.ts), from its derived streams `dp/…/round-<r>`.
 * The server is not trusted there: the client encodes with ITS OWN plan, built from the run's
 * configuration it was created with (input `distributedDp`), refuses at the fit a plan that
 * differs from it (or a fit without one), and at collect a round whose participant count it
 * cannot reconcile with what it sees (src/dp/distributed/client-checks.ts). Only the rotation
 * seed comes from the fit.
 */
import { type AnyActorLogic, assign, setup } from 'xstate';
import { z } from 'zod';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { type SecAggClientState, secAggClientChart, secAggClientImplementations } from '../secure/secagg/client-role.js';
import { SecAggProtocolError } from '../secure/secagg/errors.js';
import { FlRefusal } from '../errors.js';
import { type Answer, handleFit, storedAnswer } from '../rounds/client-fit.js';
import type { LocalTrainer } from '../rounds/local-update.js';
import { FL, MESSAGE_HEADER_BYTES } from '../rounds/protocol.js';
import { packReport, reportWeight } from '../rounds/round-aggregate.js';
import { encodeStreams, encodeUpdate } from '../../dp/distributed/encode.js';
import { DistributedFitSchema, flatDelta } from '../../dp/distributed/fedavg.js';
import { type ClientDistributedDpConfig, ownDistributedPlan, participantProblem, planMismatch } from '../../dp/distributed/client-checks.js';
import type { DistributedDpPlan } from '../../dp/distributed/plan.js';
import type { UpdateContext } from '../secure/secagg/client-steps.js';

export const FIT_DONE = 'fl/fit-done';
export const FitDoneSchema = z.object({ round: z.number().int().min(1) }).strict();

export const SecAggReportSchema = z
  .object({
    protocol: z.literal('secagg+'),
    /** The update is scaled by numSamples / maxWeight (Flower's max_weight). */
    maxWeight: z.number().positive(),
    /** Distributed DP: the round's rotation seed and the run's plan (src/dp/distributed/fedavg.ts). */
    dp: DistributedFitSchema.optional(),
  })
  .strict();

/** Durable: the last round whose update this client masked. */
export const MASKED_ROUND_KEY = 'secagg/masked-round';

/** What the client is created with: a trainer, and under distributed DP its own copy of the run's dp configuration. */
export type SecAggPlusClientInput = LocalTrainer & { distributedDp?: ClientDistributedDpConfig };

type Context = LocalTrainer &
  SecAggClientState & {
    distributedDp?: ClientDistributedDpConfig;
    /** The plan this client encodes with, from its own configuration (null: the run is not under distributed DP). */
    ownPlan: DistributedDpPlan | null;
  };

function report(ctx: Context, answer: Answer): Partial<Context> {
  const at = `secagg+ client '${ctx.io.id}' (round ${answer.ins.round})`;
  const parsed = SecAggReportSchema.safeParse(answer.ins.report);
  if (!parsed.success) {
    ctx.io.replyError(answer.envelope, new FlRefusal(`${at}: under secagg+ aggregation a fit must carry report: {protocol: 'secagg+', maxWeight}; got ${JSON.stringify(answer.ins.report)}`, { actor: ctx.io.id, round: answer.ins.round }));
    return {};
  }
  const dpProblem = distributedDpProblem(ctx, parsed.data.dp?.plan);
  if (dpProblem) {
    ctx.io.replyError(answer.envelope, new FlRefusal(`${at}: ${dpProblem}; it sits this round out.`, { actor: ctx.io.id, round: answer.ins.round }));
    return {};
  }
  if (reportWeight(answer.res, ctx.algorithm.reports, parsed.data.maxWeight) > 1) {
    ctx.io.replyError(
      answer.envelope,
      new FlRefusal(
        `${at}: its ${answer.res.numSamples} training samples exceed secagg.maxWeight ${parsed.data.maxWeight}; the weighted update could leave the clipping range. Raise secagg.maxWeight to at least the largest client's sample count.`,
        { actor: ctx.io.id, round: answer.ins.round },
      ),
    );
    return {};
  }
  ctx.io.reply(answer.envelope, FIT_DONE, { round: answer.ins.round }, { bytes: MESSAGE_HEADER_BYTES });
  return {};
}

/** Why this client will not take part with the fit's distributed-DP plan (absent, unasked for, or not its own), or null. */
function distributedDpProblem(ctx: Context, fromFit: DistributedDpPlan | undefined): string | null {
  if (!ctx.ownPlan) return fromFit ? 'the fit asks for distributed DP, but this client was not configured for it (dp.mode distributed)' : null;
  if (!fromFit) return 'this client is configured for distributed DP (dp.mode distributed), but the fit carries no distributed-DP plan: it will not hand over an update without its noise';
  const mismatch = planMismatch(ctx.ownPlan, fromFit);
  return mismatch
    ? `the fit's distributed-DP plan is not this client's own (from its dp settings): ${mismatch}. Under distributed DP the server is not trusted to set the noise, clip or scale`
    : null;
}

/** The update SecAgg+ masks in round `round`: the stored answer of that round, once. */
function updateFor(ctx: Context) {
  return (round: number, at: UpdateContext): Float64Array | Uint32Array => {
    const stored = storedAnswer(ctx);
    const refuse = (why: string): never => {
      throw new SecAggProtocolError(`SecAgg+ client '${ctx.io.id}': asked to mask its update for round ${round}, but ${why}; it sits this round out.`, { actor: ctx.io.id, round, stage: 'collect-masked-input' });
    };
    if (!stored || stored.round !== round) return refuse(stored ? `its last fit was for round ${stored.round}` : 'it has not trained yet');
    const masked = ctx.io.storage.get<number>(MASKED_ROUND_KEY) ?? 0;
    if (masked >= round) return refuse(`it already masked its round-${round} update once (a second masking under other masks would reveal it)`);
    const kept = storedFit(ctx, round);
    const report = SecAggReportSchema.parse(kept?.report);
    if (report.dp && at.config.encoding !== 'ring') return refuse("the fit asked for distributed DP but the SecAgg+ round does not take ring inputs (its encoding is 'quantized')");
    if (!report.dp && at.config.encoding === 'ring') return refuse("the SecAgg+ round takes ring inputs but the fit carried no distributed-DP plan to encode with");
    if (ctx.ownPlan) {
      // The fit's plan was checked equal to the client's own at the fit; encode with the client's own all the same.
      const dpProblem = distributedDpProblem(ctx, report.dp?.plan);
      if (dpProblem) return refuse(dpProblem);
      const seen = { participants: at.config.sampleSize, numShares: at.config.numShares, neighbours: at.neighbours };
      const nProblem = participantProblem(ctx.ownPlan, ctx.distributedDp!, seen);
      if (nProblem) return refuse(`${nProblem}; its noise share V/n would be too small for the round it takes part in`);
      ctx.io.storage.set(MASKED_ROUND_KEY, round);
      const names = encodeStreams(round);
      const encoding = { rotationSeed: report.dp!.rotationSeed, participants: seen.participants };
      return encodeUpdate(kept!.delta!, ctx.ownPlan, encoding, { rounding: at.stream(names.rounding), noise: at.stream(names.noise) }).ring;
    }
    if (report.dp) return refuse('the fit asks for distributed DP, but this client was not configured for it (dp.mode distributed)');
    ctx.io.storage.set(MASKED_ROUND_KEY, round);
    return packReport(stored.res, reportWeight(stored.res, ctx.algorithm.reports, report.maxWeight), ctx.algorithm.reports);
  };
}

/** The `report` field of the fit a round was trained for (kept beside the answer), and under distributed DP the update Δ it encodes. */
const REPORT_KEY = 'secagg/fit-report';
interface KeptFit {
  round: number;
  report: unknown;
  delta?: Float64Array;
}
function storedFit(ctx: Context, round: number): KeptFit | undefined {
  const kept = ctx.io.storage.get<KeptFit>(REPORT_KEY);
  return kept?.round === round ? kept : undefined;
}

const role = secAggClientImplementations<Context>({ read: updateFor });

export const secAggPlusClient: AnyActorLogic = setup({
  types: {} as { context: Context; input: SecAggPlusClientInput; events: ActorMessage },
  guards: role.guards,
  actions: {
    fit: assign(({ context, event }) =>
      handleFit(context, event, (ctx, answer) => {
        // Distributed DP encodes Δ = w_trained − w_global; the global model is not kept past the fit, so Δ is.
        const dp = (answer.ins.report as { dp?: unknown } | undefined)?.dp !== undefined;
        const delta = dp ? flatDelta(answer.res.weights, answer.ins.weights, `secagg+ client '${ctx.io.id}'`) : undefined;
        ctx.io.storage.set(REPORT_KEY, { round: answer.ins.round, report: answer.ins.report, ...(delta ? { delta } : {}) } satisfies KeptFit);
        return report(ctx, answer);
      }),
    ),
    ...role.actions,
  },
}).createMachine({
  id: 'fl-secagg-client',
  // The plan is derived once, from the client's own configuration: the server's fits are only checked against it.
  context: ({ input }) => ({ ...input, ownPlan: input.distributedDp ? ownDistributedPlan(input.distributedDp) : null, session: null, handled: [] }),
  initial: 'idle',
  on: {
    [FL.fit]: { actions: 'fit' },
    [FL.updateRejected]: { actions: [] },
    ...secAggClientChart.on,
  },
  states: secAggClientChart.states,
});
