/**
 * Handlers of the SMPC messages (src/messages/smpc-schemas.ts): fixed precision and
 * additive shares on a worker. Commands become engine tasks (smpc/engine.ts), which run
 * as soon as the shares, triples and openings they need are here; every SMPC message
 * runs the waiting tasks again.
 */
import type { PayloadOf, SmpcMessageType } from '../../messages/index.js';
import { objectExists } from '../../messages/index.js';
import { toErrorPayload } from '../../runtime/index.js';
import { FailedResult } from '../object-store.js';
import { BeaverTask } from '../smpc/beaver-task.js';
import { deal } from '../smpc/dealer.js';
import { engineOf } from '../smpc/engine.js';
import { GetShareTask, commandTask } from '../smpc/local-tasks.js';
import { RingTensor } from '../smpc/ring-tensor.js';
import { labelFromSender, PUBLIC_LABEL } from '../privacy/label.js';
import { checkWorkerAllocation } from '../compute/budget.js';
import type { Turn } from '../worker-state.js';

const requesterOf = (turn: Turn) => ({ id: turn.envelope.id, from: turn.envelope.from });

function handleCommand(turn: Turn, cmd: PayloadOf<'smpc'>): void {
  if (cmd.op === 'deal') return deal(turn, cmd);
  const task = cmd.op === 'beaver' || cmd.op === 'truncate' ? new BeaverTask(cmd, requesterOf(turn)) : commandTask(cmd, requesterOf(turn), turn.worker.id);
  engineOf(turn.worker).add(turn, task);
}

/** One owner's share, from the holder that split the value (or the news that it could not). */
function handleShare(turn: Turn, payload: PayloadOf<'smpc/share'>): void {
  const { worker } = turn;
  if (worker.store.has(payload.id)) throw objectExists(worker.id, payload.id, 'share');
  let value: RingTensor | FailedResult;
  let invalid: unknown;
  if ('failed' in payload) {
    value = new FailedResult(payload.failed);
  } else {
    try {
      checkWorkerAllocation(worker, 'share', `received share ${payload.id}`, payload.share.values.length, payload.id);
      value = RingTensor.fromWire(payload.share, `share ${payload.id} from ${turn.envelope.from}`);
    } catch (error) {
      invalid = error;
      value = new FailedResult(toErrorPayload(error)); // its dependents fail with the cause
    }
  }
  // A share is as private as the value it is a share of: the holder that split it says how (only a worker of the federation is believed).
  const from = turn.envelope.from;
  const label = 'failed' in payload ? PUBLIC_LABEL : labelFromSender(from, worker.config.isWorker(from), payload.allowedUsers, worker.parts, payload.contributions);
  worker.store.add({ id: payload.id, value, requiresGrad: false, label, tags: [] });
  engineOf(worker).run(turn);
  if (invalid) turn.mail.fail(turn.envelope, invalid);
}

function handleTriple(turn: Turn, payload: PayloadOf<'smpc/triple'>): void {
  engineOf(turn.worker).addTriple(turn, { ...payload, from: turn.envelope.from });
}

function handleOpen(turn: Turn, payload: PayloadOf<'smpc/open'>): void {
  engineOf(turn.worker).addOpen(turn, { ...payload, from: turn.envelope.from });
}

function handleGet(turn: Turn, payload: PayloadOf<'smpc/get'>): void {
  engineOf(turn.worker).add(turn, new GetShareTask(payload.id, requesterOf(turn)));
}

export const SMPC_HANDLERS: Record<SmpcMessageType, (turn: Turn, payload: any) => void> = {
  smpc: handleCommand,
  'smpc/share': handleShare,
  'smpc/triple': handleTriple,
  'smpc/open': handleOpen,
  'smpc/get': handleGet,
};
