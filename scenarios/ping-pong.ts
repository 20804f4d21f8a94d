/**
 * Ping-pong: two pairs of actors rally concurrently, round after round.
 *
 * `alice` serves to `bob` and `carol` to `dave`; a server sends `ping n`, the
 * receiver answers `pong n` after thinking for a seeded 0–3 virtual ms, and after
 * the last pong the server answers the driver's `serve` request. The pairs
 * interleave differently under each seed. The checks hold on a clean network;
 * duplicate or drop faults break them (a duplicated pong answers no current ping,
 * a dropped ping stalls a rally).
 *
 *   fedsim run scenarios/ping-pong.ts --seed 7
 */
import { assign, setup } from 'xstate';
import type { ActorIO, ActorMessage, Envelope } from 'fedsim';
import { defineScenario, noHandlerErrors } from 'fedsim/scenario';

interface PingerContext {
  io: ActorIO;
  peer: string;
  rallies: number;
  /** Number of the ping last sent (pongs must echo it). */
  sent: number;
  returned: number;
  /** Pongs that answered no outstanding ping. */
  mismatches: number;
  request: Envelope | null;
  servedAt: number;
}

interface DoneReport {
  rallies: number;
  mismatches: number;
  /** Virtual ms from the serve to the last pong. */
  elapsed: number;
}

const pinger = setup({
  types: {} as { context: PingerContext; input: { io: ActorIO }; events: ActorMessage },
  guards: {
    answersLastPing: ({ context, event }) => event.payload.n === context.sent,
    rallyOver: ({ context }) => context.sent >= context.rallies,
  },
  actions: {
    ping: ({ context }) => void context.io.send(context.peer, 'ping', { n: context.sent }),
    countMismatch: assign({ mismatches: ({ context }) => context.mismatches + 1 }),
    finish: ({ context }) => {
      const report: DoneReport = { rallies: context.returned, mismatches: context.mismatches, elapsed: context.io.now() - context.servedAt };
      context.io.reply(context.request!, 'done', report);
    },
  },
}).createMachine({
  id: 'pinger',
  initial: 'idle',
  context: ({ input }) => ({ io: input.io, peer: '', rallies: 0, sent: 0, returned: 0, mismatches: 0, request: null, servedAt: 0 }),
  states: {
    idle: {
      on: {
        serve: {
          target: 'rallying',
          actions: [
            assign(({ context, event }) => ({
              peer: event.payload.peer,
              rallies: event.payload.rallies,
              sent: 1,
              returned: 0,
              request: event.envelope,
              servedAt: context.io.now(),
            })),
            'ping',
          ],
        },
        // Nothing is outstanding between serves, so any pong now is spurious.
        pong: { actions: 'countMismatch' },
      },
    },
    rallying: {
      on: {
        pong: [
          { guard: 'answersLastPing', target: 'returned' },
          { actions: 'countMismatch' },
        ],
      },
    },
    returned: {
      entry: assign({ returned: ({ context }) => context.returned + 1 }),
      always: [
        { guard: 'rallyOver', target: 'idle', actions: 'finish' },
        { target: 'rallying', actions: [assign({ sent: ({ context }) => context.sent + 1 }), 'ping'] },
      ],
    },
  },
});

const ponger = setup({
  types: {} as { context: { io: ActorIO; answered: number }; input: { io: ActorIO }; events: ActorMessage },
}).createMachine({
  id: 'ponger',
  context: ({ input }) => ({ io: input.io, answered: 0 }),
  on: {
    ping: {
      actions: [
        ({ context, event }) => {
          context.io.busy(context.io.rng('think').int(4));
          context.io.reply(event.envelope, 'pong', { n: event.payload.n });
        },
        assign({ answered: ({ context }) => context.answered + 1 }),
      ],
    },
  },
});

const PAIRS = [
  ['alice', 'bob'],
  ['carol', 'dave'],
] as const;

export interface PingPongResult {
  rounds: number;
  rallies: number;
  reports: Array<DoneReport & { server: string; round: number }>;
  metrics: Array<{ name: string; chart: string; x: string; y: string; points: Array<[number, number]> }>;
}

export default defineScenario<PingPongResult>({
  name: 'ping-pong',
  description: 'Two pairs of actors rally ping/pong concurrently for a few rounds; every pong must answer the latest ping.',
  path: import.meta.url,
  seed: 1,
  params: { rounds: 4, rallies: 5 },
  // Known before the run, so a fault plan naming another actor is refused before it starts.
  actors: PAIRS.flat(),
  async run(sim, ctx) {
    const rounds = Number(ctx.params.rounds);
    const rallies = Number(ctx.params.rallies);
    for (const [server, receiver] of PAIRS) {
      sim.spawn(pinger, server);
      sim.spawn(ponger, receiver);
    }
    const reports: PingPongResult['reports'] = [];
    for (let round = 1; round <= rounds; round++) {
      const done = await Promise.all(PAIRS.map(([server, receiver]) => sim.request<DoneReport>(server, 'serve', { peer: receiver, rallies })));
      done.forEach((report, i) => reports.push({ ...report, server: PAIRS[i][0], round }));
      sim.mark(`round ${round} done`);
      ctx.progress(`round ${round}/${rounds}`, round / rounds);
    }
    const metrics = PAIRS.map(([server]) => ({
      name: `${server}'s rallies`,
      chart: 'rally time per round',
      x: 'round',
      y: 'virtual ms',
      points: reports.filter((r) => r.server === server).map((r): [number, number] => [r.round, r.elapsed]),
    }));
    return { rounds, rallies, reports, metrics };
  },
  checks: {
    'every pong answers the latest ping': (_result, sim) => {
      for (const [server] of PAIRS) {
        const { mismatches } = sim.actor(server).snapshot().context as PingerContext;
        if (mismatches > 0) return `${server} received ${mismatches} pong(s) that answered no outstanding ping`;
      }
    },
    'every serve completes all its rallies': (result) => {
      const short = result.reports.find((r) => r.rallies !== result.rallies);
      return short === undefined || `${short.server} finished round ${short.round} after ${short.rallies} of ${result.rallies} rallies`;
    },
    'no handler errors': noHandlerErrors,
  },
});
