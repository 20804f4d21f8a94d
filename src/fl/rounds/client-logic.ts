/**
 * The client actor of a mode without stages of its own: the generic fit handling
 * (client-fit.ts) plus the mode's `report` and any message handlers it adds
 * (additive shares, for instance). Modes with a state chart of their own (SecAgg+)
 * build their machine from `handleFit` directly.
 */
import { type AnyActorLogic, assign, setup } from 'xstate';
import type { ActorMessage } from '../../runtime/actor-cell.js';
import { type ReportAnswer, handleFit } from './client-fit.js';
import type { LocalTrainer } from './local-update.js';
import { FL } from './protocol.js';

export type MessageHandler<C> = (ctx: C, event: ActorMessage) => Partial<C>;

export function simpleClientLogic<C extends LocalTrainer>(
  id: string,
  report: ReportAnswer<C>,
  options: { context?: (input: LocalTrainer) => Omit<C, keyof LocalTrainer>; on?: Record<string, MessageHandler<C>> } = {},
): AnyActorLogic {
  const on: Record<string, { actions: any }> = {
    [FL.fit]: { actions: assign(({ context, event }: { context: C; event: ActorMessage }) => handleFit(context, event, report)) as any },
    // An fl/update-rejected tells the client its answer came too late or twice: nothing to do.
    [FL.updateRejected]: { actions: [] },
  };
  for (const [type, handler] of Object.entries(options.on ?? {})) {
    on[type] = { actions: assign(({ context, event }: { context: C; event: ActorMessage }) => handler(context, event)) as any };
  }
  return setup({ types: {} as { context: C; input: LocalTrainer; events: ActorMessage } }).createMachine({
    id,
    context: ({ input }) => ({ ...input, ...(options.context?.(input) ?? {}) }) as C,
    on,
  });
}
