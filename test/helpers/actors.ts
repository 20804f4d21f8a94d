/**
 * Small actor logics used by the runtime tests.
 */
import { assign, fromTransition, setup } from 'xstate';
import type { ActorIO, ActorMessage } from '../../src/runtime/index.js';

type WithIo = { io: ActorIO };

/** Replies 'pong' with n + 1 to every 'ping'; counts pings in its context; 'boom' throws after sending. */
export const echoMachine = setup({
  types: {} as { context: WithIo & { pings: number }; input: WithIo; events: ActorMessage },
}).createMachine({
  id: 'echo',
  context: ({ input }) => ({ io: input.io, pings: 0 }),
  on: {
    ping: {
      actions: [
        assign({ pings: ({ context }) => context.pings + 1 }),
        ({ context, event }) => context.io.reply(event.envelope, 'pong', { n: event.payload.n + 1 }),
      ],
    },
    count: { actions: ({ context, event }) => context.io.reply(event.envelope, 'count', { pings: context.pings }) },
    boom: {
      actions: [
        assign({ pings: () => 1_000_000 }),
        ({ context }) => context.io.send('me', 'leak', { shouldNotArrive: true }),
        () => {
          throw new Error('kaboom');
        },
      ],
    },
  },
});

/** On 'go' {to, count}: sends `count` numbered 'item' messages to `to`. */
export const senderLogic = fromTransition(
  (state: WithIo, event: ActorMessage) => {
    if (event.type === 'go') {
      const { to, count } = event.payload as { to: string; count: number };
      for (let i = 0; i < count; i++) state.io.send(to, 'item', { from: state.io.id, i });
    }
    return state;
  },
  ({ input }: { input: WithIo }) => ({ io: input.io }),
);

/** Records every 'item' it receives ({from, i}) and answers 'report' with the list. */
export const sinkLogic = fromTransition(
  (state: WithIo & { received: Array<{ from: string; i: number }> }, event: ActorMessage) => {
    if (event.type === 'item') return { ...state, received: [...state.received, event.payload as { from: string; i: number }] };
    if (event.type === 'report') state.io.reply(event.envelope, 'report', state.received);
    return state;
  },
  ({ input }: { input: WithIo }) => ({ io: input.io, received: [] as Array<{ from: string; i: number }> }),
);

/** Ticks every `period` virtual ms, `ticks` times, then stops; answers 'ticks'. */
export const tickerMachine = setup({
  types: {} as { context: WithIo & { count: number; max: number }; input: WithIo & { max: number; period: number }; events: ActorMessage },
  delays: { period: ({ context }) => (context as any).period },
}).createMachine({
  id: 'ticker',
  context: ({ input }) => ({ io: input.io, count: 0, max: input.max, period: input.period }) as any,
  initial: 'running',
  states: {
    running: {
      after: {
        period: [
          { guard: ({ context }) => context.count + 1 >= context.max, target: 'done', actions: assign({ count: ({ context }) => context.count + 1 }) },
          { target: 'running', reenter: true, actions: assign({ count: ({ context }) => context.count + 1 }) },
        ],
      },
    },
    done: {},
  },
  on: { ticks: { actions: ({ context, event }) => context.io.reply(event.envelope, 'ticks', { count: context.count }) } },
});

/** A sink with a bug: it uses Math.random in its reply (what checkDeterminism must catch). */
export const nondeterministicMachine = setup({
  types: {} as { context: WithIo; input: WithIo; events: ActorMessage },
}).createMachine({
  context: ({ input }) => ({ io: input.io }),
  on: {
    ping: { actions: ({ context, event }) => context.io.reply(event.envelope, 'pong', { noise: Math.random() }) },
  },
});
