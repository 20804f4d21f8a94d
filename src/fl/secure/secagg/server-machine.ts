/**
 * The SecAgg+ server as an xstate v5 machine (Flower's `SecAggPlusWorkflow`).
 *
 *   idle ──start──▶ setup ─▶ share-keys ─▶ collect-masked-input ─▶ consistency-check ─▶ unmask ──▶ idle (reply result)
 *                     │           │                 │                      │               │
 *                     └───────────┴─────────────────┴──────────────────────┴───────────────┴──▶ idle (reply aborted)
 *
 * Each stage sends one message to every client still in the round and waits until all have
 * answered or `timeout` virtual ms have passed (`after`); clients that have not answered by
 * then have dropped out. Closing a stage checks that every secret still needed can be rebuilt
 * from at least `threshold` shares, and aborts the round otherwise.
 *
 * A parent (the driver, or a FedAvg server actor) sends `secagg/start {round, participants}`
 * and receives a reply `secagg/result` (ResultPayload) or `secagg/aborted` (AbortedPayload).
 * A start while a round runs, or with parameters that cannot work, gets an error reply.
 *
 * The round's state (ServerRound) is mutable and its handlers validate before they change
 * anything, so the runtime's snapshot rollback is never needed for them (as in VirtualWorker).
 */
import { assign, setup } from 'xstate';
import { type ActorIO, type ActorMessage, allowsUnsafe, type Envelope, type ErrorPayload } from '../../../runtime/index.js';
import type { SecAggStage } from './errors.js';
import { SecAggConfigError } from './errors.js';
import { payloadBytes } from './message-size.js';
import { buildNeighbourGraph } from './neighbours.js';
import { type SecAggPlusParams, type SecAggPlusParamsInput, parseSecAggParams, resolveRoundConfig } from './params.js';
import { ANSWER_OF, type ResultPayload, SECAGG, StartSchema, describeIssues } from './protocol.js';
import { ServerRound } from './server-round.js';
import { reconstructSum } from './unmask.js';

export interface SecAggServerInput {
  io: ActorIO;
  /** Default parameters; a start message may override them for its round. */
  params: SecAggPlusParamsInput;
}

export interface SecAggServerContext {
  io: ActorIO;
  params: SecAggPlusParams;
  round: ServerRound | null;
  /** The start request to answer. */
  request: Envelope | null;
  /** Which start the running round answers (round and participants), to recognise a repeat of it. */
  running: string | null;
  /** The answer of the last round that ran, to answer a repeated start of it from what was done. */
  last: { start: string; type: string; payload: unknown } | null;
}

/** What identifies a start: its round and participants (a retry or a duplicate delivery has the same). */
function startKey(payload: unknown): string | null {
  const parsed = StartSchema.safeParse(payload);
  if (!parsed.success) return null;
  return JSON.stringify([parsed.data.round, [...parsed.data.participants].sort()]);
}

/** Name of the server's random stream for the neighbour graph (under `actor/<id>/`). */
export const SERVER_GRAPH_STREAM = 'secagg/graph';

type Context = SecAggServerContext;

function send(io: ActorIO, to: string, type: string, payload: unknown): string {
  return io.send(to, type, payload, { bytes: payloadBytes(type, payload) });
}

/** Validates a start message and builds the round (throws SecAggConfigError saying what to change). */
function beginRound(context: Context, event: ActorMessage): ServerRound {
  const parsed = StartSchema.safeParse(event.payload);
  if (!parsed.success) throw new SecAggConfigError(`SecAgg+ server '${context.io.id}': malformed '${SECAGG.start}': ${describeIssues(parsed.error)}`);
  const start = parsed.data;
  const participants = [...new Set(start.participants)].sort();
  if (participants.length !== start.participants.length) {
    throw new SecAggConfigError(`SecAgg+ server '${context.io.id}': participants repeat ids [${start.participants.join(', ')}]`);
  }
  if (participants.includes(context.io.id)) throw new SecAggConfigError(`SecAgg+ server '${context.io.id}' cannot be its own participant`);
  const params = start.params === undefined ? context.params : parseSecAggParams({ ...context.params, ...(start.params as object) }, `SecAgg+ round ${start.round} parameters`);
  const config = resolveRoundConfig(params, start.round, participants.length, allowsUnsafe(context.io.policies, 'secagg-threshold'));
  const graph = buildNeighbourGraph(participants, config.numShares, context.io.rng(SERVER_GRAPH_STREAM));
  return new ServerRound(config, participants, graph, start.vectorLength);
}

function openStage(context: Context, stage: SecAggStage): void {
  const round = context.round!;
  for (const message of round.open(stage, context.io.now())) {
    round.sent(message.to, send(context.io, message.to, message.type, message.payload));
  }
}

/** Answers the start request with the round's result (or abort); returns the answer, kept for repeats of the start. */
function finish(context: Context): Context['last'] {
  const round = context.round!;
  const request = context.request!;
  const answer = (type: string, payload: unknown): Context['last'] => {
    context.io.reply(request, type, payload, { bytes: payloadBytes(type, payload) });
    return { start: context.running!, type, payload };
  };
  if (round.abort) return answer(SECAGG.aborted, round.abort);
  const inputs = round.unmaskInputs();
  let unmasked;
  try {
    unmasked = reconstructSum(inputs);
  } catch (error) {
    round.stop((error as Error).message, round.stages.at(-1)?.answered ?? []);
    return answer(SECAGG.aborted, round.abort!);
  }
  const survivors = inputs.survivors;
  const result: ResultPayload = {
    round: round.round,
    sum: Float32Array.from(unmasked.sum),
    quantizedSum: unmasked.quantizedSum,
    survivors,
    dropped: round.participants.filter((id) => !survivors.includes(id)),
    config: round.config,
    stages: round.stages,
    failures: round.failures,
    publicKeys: round.publicKeysHex(),
  };
  return answer(SECAGG.result, result);
}

/** One waiting stage: answers and error replies are recorded; all answered or the timeout closes it. */
function stageState(stage: SecAggStage, closing: string) {
  return {
    entry: { type: 'openStage' as const, params: { stage } },
    on: {
      [ANSWER_OF[stage]]: { actions: 'accept' as const },
      error: { actions: 'acceptError' as const },
    },
    always: { guard: 'stageComplete' as const, target: closing, actions: { type: 'closeStage' as const, params: { timedOut: false } } },
    after: { stageTimeout: { target: closing, actions: { type: 'closeStage' as const, params: { timedOut: true } } } },
  };
}

/** After a stage: abort, or go on to `next`. */
function checkState(next: string) {
  return { always: [{ guard: 'aborted' as const, target: 'idle', actions: 'finish' as const }, { target: next }] };
}

export const secAggServerMachine = setup({
  types: {} as { context: Context; input: SecAggServerInput; events: ActorMessage },
  delays: {
    stageTimeout: ({ context }) => context.round?.config.timeout ?? 0,
  },
  guards: {
    repeatOfRunning: ({ context, event }) => context.running !== null && startKey(event.payload) === context.running,
    repeatOfLast: ({ context, event }) => context.last !== null && startKey(event.payload) === context.last.start,
    stageComplete: ({ context }) => context.round?.complete ?? false,
    aborted: ({ context }) => context.round?.abort != null,
  },
  actions: {
    start: assign(({ context, event }) => ({ round: beginRound(context, event), request: event.envelope, running: startKey(event.payload) })),
    // A repeated start of the round that last ran (its answer was lost, or its parent restarted): the same answer, not a second run.
    answerAgain: ({ context, event }) => {
      const last = context.last!;
      context.io.reply(event.envelope, last.type, last.payload, { bytes: payloadBytes(last.type, last.payload) });
    },
    rejectBusy: ({ context, event }) => {
      context.io.replyError(
        event.envelope,
        new SecAggConfigError(`SecAgg+ server '${context.io.id}' is still running round ${context.round?.round}; send the next start after its result or abort.`),
      );
    },
    openStage: ({ context }, params: { stage: SecAggStage }) => openStage(context, params.stage),
    accept: ({ context, event }) => context.round!.accept(event.envelope.from, event.type, event.payload),
    acceptError: ({ context, event }) => context.round!.acceptError(event.envelope.from, event.envelope.inReplyTo, event.payload as ErrorPayload),
    closeStage: ({ context }, params: { timedOut: boolean }) => context.round!.close(context.io.now(), params.timedOut),
    finish: assign(({ context }) => ({ last: finish(context) })),
    clear: assign({ round: null, request: null, running: null }),
  },
}).createMachine({
  id: 'secAggServer',
  context: ({ input }) => ({ io: input.io, params: parseSecAggParams(input.params), round: null, request: null, running: null, last: null }),
  initial: 'idle',
  // While a round runs, a repeat of its start is ignored (its answer will come); any other start is refused.
  on: { [SECAGG.start]: [{ guard: 'repeatOfRunning' }, { actions: 'rejectBusy' }] },
  states: {
    idle: {
      entry: 'clear',
      on: { [SECAGG.start]: [{ guard: 'repeatOfLast', actions: 'answerAgain' }, { target: 'setup', actions: 'start' }] },
    },
    setup: stageState('setup', 'afterSetup'),
    afterSetup: checkState('shareKeys'),
    shareKeys: stageState('share-keys', 'afterShareKeys'),
    afterShareKeys: checkState('collectMaskedInput'),
    collectMaskedInput: stageState('collect-masked-input', 'afterCollect'),
    afterCollect: checkState('consistencyCheck'),
    consistencyCheck: stageState('consistency-check', 'afterConsistency'),
    afterConsistency: checkState('unmask'),
    unmask: stageState('unmask', 'afterUnmask'),
    afterUnmask: { always: { target: 'idle', actions: 'finish' } },
  },
});
