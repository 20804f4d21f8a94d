/**
 * A planted bug for `fedsim explore`: an aggregator that folds stale updates into
 * the current round.
 *
 * The driver runs rounds. For each, the `server` (xstate: idle → collecting →
 * aggregating) sends `train {round, model}` to every client and collects `update
 * {round, delta}` replies until all are in or the round's deadline passes on
 * virtual time (`after`). Clients train for a seeded 5–35 virtual ms, well inside
 * the 60 ms deadline, so on a clean network every update belongs to its round.
 *
 * The bug: `collecting` accepts an update whatever round it was computed for. When
 * the network delays an update past its round's deadline it arrives during the
 * next round and is aggregated there as if it were fresh. Only delay faults
 * expose it:
 *
 *   fedsim explore scenarios/stale-update-bug.ts --seeds 1..50 --faults scenarios/faults/stale-update.json
 *
 * `--set fixed=true` runs the fixed aggregator (updates of other rounds are refused), for
 * comparing a failing run with its fix (`fedsim view RUN --diff FIXED_RUN`).
 */
import { assign, setup } from 'xstate';
import type { ActorIO, ActorMessage, Envelope } from 'fedsim';
import { defineScenario, noHandlerErrors } from 'fedsim/scenario';

const ROUND_DEADLINE_MS = 60;
const TRAIN_MS = { min: 5, max: 35 };
const LEARNING_RATE = 0.5;
const CLIENTS = ['client-1', 'client-2', 'client-3', 'client-4'];
/** Each client's local optimum; the federation's is their mean. */
const OPTIMA: Record<string, number> = { 'client-1': 1, 'client-2': 2, 'client-3': 3, 'client-4': 4 };
const GLOBAL_OPTIMUM = 2.5;

interface Update {
  from: string;
  /** The round the client trained for. */
  round: number;
  delta: number;
}

export interface RoundRecord {
  round: number;
  /** Updates folded into this round, in aggregation order (sorted client ids). */
  aggregated: Array<{ from: string; round: number }>;
  model: number;
  closedBy: 'all-updates' | 'deadline';
  closedAt: number;
}

interface ServerContext {
  io: ActorIO;
  clients: string[];
  round: number;
  model: number;
  received: Update[];
  history: RoundRecord[];
  request: Envelope | null;
  /** Updates that arrived between rounds (ignored). */
  late: number;
  /** The fix is on: updates of other rounds are refused. */
  fixed: boolean;
}

const server = setup({
  types: {} as { context: ServerContext; input: { io: ActorIO; clients: string[]; fixed: boolean }; events: ActorMessage },
  delays: { roundDeadline: ROUND_DEADLINE_MS },
  guards: {
    allUpdatesIn: ({ context }) => context.received.length >= context.clients.length,
    acceptedUpdate: ({ context, event }) => context.clients.includes(event.envelope.from) && (!context.fixed || event.payload.round === context.round),
  },
  actions: {
    startRound: assign(({ context, event }) => ({ round: context.round + 1, received: [], request: event.envelope })),
    broadcastTrain: ({ context }) => {
      for (const client of context.clients) context.io.send(client, 'train', { round: context.round, model: context.model });
    },
    accept: assign({
      received: ({ context, event }) => [...context.received, { from: event.envelope.from, round: event.payload.round, delta: event.payload.delta }],
    }),
    aggregate: assign(({ context }) => {
      // Fixed order (sorted client ids) so the floating-point sum is the same in every run.
      const updates = [...context.received].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.round - b.round));
      const model = updates.length ? context.model + updates.reduce((sum, u) => sum + u.delta, 0) / updates.length : context.model;
      const record: RoundRecord = {
        round: context.round,
        aggregated: updates.map((u) => ({ from: u.from, round: u.round })),
        model,
        closedBy: context.received.length >= context.clients.length ? 'all-updates' : 'deadline',
        closedAt: context.io.now(),
      };
      return { model, history: [...context.history, record] };
    }),
    report: ({ context }) => void context.io.reply(context.request!, 'round-done', context.history[context.history.length - 1]),
  },
}).createMachine({
  id: 'aggregator',
  initial: 'idle',
  context: ({ input }) => ({ io: input.io, clients: input.clients, round: 0, model: 0, received: [], history: [], request: null, late: 0, fixed: input.fixed }),
  states: {
    idle: {
      on: {
        'run-round': { target: 'collecting', actions: ['startRound', 'broadcastTrain'] },
        update: { actions: assign({ late: ({ context }) => context.late + 1 }) },
      },
    },
    collecting: {
      after: { roundDeadline: 'aggregating' },
      always: { guard: 'allUpdatesIn', target: 'aggregating' },
      on: {
        // PLANTED BUG: no check that the update was computed for *this* round (unless the
        // scenario runs with `--set fixed=true`, which adds that check: the fix).
        update: { guard: 'acceptedUpdate', actions: 'accept' },
      },
    },
    aggregating: {
      entry: ['aggregate', 'report'],
      always: 'idle',
    },
  },
});

const client = setup({
  types: {} as { context: { io: ActorIO; optimum: number; trained: number }; input: { io: ActorIO; optimum: number }; events: ActorMessage },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({ io: input.io, optimum: input.optimum, trained: 0 }),
  on: {
    train: {
      actions: [
        ({ context, event }) => {
          const { io } = context;
          // Local training costs virtual time, never wall time.
          io.busy(io.rng('train').uniform(TRAIN_MS.min, TRAIN_MS.max));
          io.send(event.envelope.from, 'update', { round: event.payload.round, delta: LEARNING_RATE * (context.optimum - event.payload.model) });
        },
        assign({ trained: ({ context }) => context.trained + 1 }),
      ],
    },
  },
});

export interface StaleUpdateResult {
  rounds: RoundRecord[];
  finalModel: number;
  finalLoss: number;
  metrics: Array<{ name: string; chart?: string; x: string; y: string; points: Array<[number, number]> }>;
}

export default defineScenario<StaleUpdateResult>({
  name: 'stale-update-bug',
  description: 'An aggregator with a round deadline that wrongly aggregates updates from earlier rounds when messages are delayed (planted bug).',
  path: import.meta.url,
  seed: 1,
  params: { rounds: 8, fixed: false },
  async run(sim, ctx) {
    const rounds = Number(ctx.params.rounds);
    sim.spawn(server, 'server', { input: { clients: CLIENTS, fixed: ctx.params.fixed === true } });
    for (const id of CLIENTS) sim.spawn(client, id, { input: { optimum: OPTIMA[id] } });
    const history: RoundRecord[] = [];
    for (let round = 1; round <= rounds; round++) {
      history.push(await sim.request<RoundRecord>('server', 'run-round', {}));
      ctx.progress(`round ${round}/${rounds}`, round / rounds);
    }
    const loss = (model: number) => (model - GLOBAL_OPTIMUM) ** 2;
    const per = (f: (r: RoundRecord) => number) => history.map((r): [number, number] => [r.round, f(r)]);
    const finalModel = history.length ? history[history.length - 1].model : 0;
    return {
      rounds: history,
      finalModel,
      finalLoss: loss(finalModel),
      metrics: [
        { name: 'loss', x: 'round', y: '(model − optimum)²', points: per((r) => loss(r.model)) },
        { name: 'updates aggregated', chart: 'updates per round', x: 'round', y: 'updates', points: per((r) => r.aggregated.length) },
        { name: 'stale updates', chart: 'updates per round', x: 'round', y: 'updates', points: per((r) => r.aggregated.filter((u) => u.round !== r.round).length) },
      ],
    };
  },
  checks: {
    'every aggregated update belongs to the current round': (result) => {
      for (const record of result.rounds) {
        const stale = record.aggregated.find((u) => u.round !== record.round);
        if (stale) return `round ${record.round} aggregated ${stale.from}'s update from round ${stale.round} (stale)`;
      }
    },
    'no handler errors': noHandlerErrors,
  },
});
