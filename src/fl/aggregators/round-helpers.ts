/** Small steps every aggregator's server side shares. */
import type { ActorMessage } from '../../runtime/actor-cell.js';
import type { RoundView } from '../rounds/aggregator.js';
import { FL, type RejectionReason } from '../rounds/protocol.js';
import type { RoundFailure } from '../strategies/strategy.js';

/** Answers an input the round cannot take with fl/update-rejected (a reply, so its sender learns why). */
export function answerRejection(view: RoundView, message: ActorMessage, reason: RejectionReason): void {
  const claimed = (message.payload as { round?: unknown } | null)?.round;
  const round = typeof claimed === 'number' && Number.isInteger(claimed) ? claimed : view.round;
  view.io.reply(message.envelope, FL.updateRejected, { round, currentRound: view.round, reason });
}

/** The selected clients for which `has` is false: refused ones with their refusal, the others with `reason`. */
export function missingFrom(view: RoundView, has: (client: string) => boolean, reason: string): RoundFailure[] {
  return view.selected
    .filter((c) => !has(c))
    .map((clientId) => view.refused[clientId] ?? { clientId, kind: 'fault' as const, reason });
}
