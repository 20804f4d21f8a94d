/**
 * The VirtualWorker actor: PySyft's VirtualWorker as an xstate v5 machine.
 *
 * One action handles every delivered message: validate the payload against its
 * type's zod schema, then dispatch. Handlers are transactional by construction
 * (check and compute first, change the store last) and never throw out of the
 * action: a failure becomes an error reply and the worker keeps serving. The store
 * is a mutable Map, which the runtime's snapshot rollback could not restore, so
 * rollback is not relied upon.
 */
import { setup } from 'xstate';
import type { ActorIO, ActorMessage } from '../runtime/index.js';
import { claimDelivery, disposeTensorsIn, describeIssues, invalidMessage, isMessageType, MAX_PAYLOAD_DEPTH, MessageSchemas, type MessageType, tooDeep, unknownMessageType, workerFailed } from '../messages/index.js';
import { handleBackward, handleCommand } from './handlers/compute.js';
import { handleRunPlan, handleRunPlanLoop } from './handlers/plans.js';
import { handleClear, handleDelete, handleGetShape, handleObject, handleObjectRequest, handleSearch, handleSetMeta } from './handlers/objects.js';
import { handleAnswer, handleMove, handleRemoteGet } from './handlers/transfer.js';
import { TRAINING_HANDLERS } from './handlers/training-handlers.js';
import { SMPC_HANDLERS } from './handlers/smpc.js';
import { WorkerMail } from './worker-mail.js';
import { failureFor, type Turn, WorkerState } from './worker-state.js';
import type { FailureSite } from './privacy/redaction.js';
import { resolveBudget, type WorkerBudget } from './compute/budget.js';
import { leaveRefusal } from './refusals.js';

export interface VirtualWorkerInput {
  io: ActorIO;
  /** Encode and decode every outgoing payload (the simulation's strict mode). */
  strict?: boolean;
  /** Whether an actor id can receive messages; defaults to "any". */
  isPeer?: (id: string) => boolean;
  /** Whether an actor id is a worker of the federation, whose privacy labels are believed; defaults to "none". */
  isWorker?: (id: string) => boolean;
  /** Recognise duplicate deliveries (needed when the fault plan duplicates messages; default true). */
  dedup?: boolean;
  /** The worker's resource budget (compute/budget.ts); defaults to DEFAULT_BUDGET. */
  budget?: Partial<WorkerBudget>;
}

export interface VirtualWorkerContext {
  io: ActorIO;
  worker: WorkerState;
  mail: WorkerMail;
  dedup: boolean;
}

type Handler = (turn: Turn, payload: any) => void;

const HANDLERS: Record<Exclude<MessageType, 'reply' | 'error'>, Handler> = {
  object: handleObject,
  objectRequest: handleObjectRequest,
  command: handleCommand,
  delete: handleDelete,
  getShape: handleGetShape,
  search: handleSearch,
  move: handleMove,
  remoteGet: handleRemoteGet,
  backward: handleBackward,
  clear: handleClear,
  setMeta: handleSetMeta,
  runPlan: handleRunPlan,
  runPlanLoop: handleRunPlanLoop,
  ...TRAINING_HANDLERS,
  ...SMPC_HANDLERS,
};

/** Handles one delivered message; never throws. */
export function handleMessage(context: VirtualWorkerContext, event: ActorMessage): void {
  const { worker, mail } = context;
  const { type, payload, envelope } = event;
  // A fault plan's duplicate of a message already handled: at-most-once, like a real transport's dedup.
  if (context.dedup && !claimDelivery(envelope)) return;
  const turn: Turn = { worker, mail, envelope, io: context.io };
  let stage = 'validating';
  try {
    if (worker.failure !== null) {
      disposeTensorsIn(payload);
      return mail.fail(envelope, workerFailed(worker.id, type, worker.failure));
    }
    // Before anything walks the payload recursively (validation, sizes, digests): a bounded depth.
    if (tooDeep(payload)) {
      disposeTensorsIn(payload);
      return mail.fail(envelope, invalidMessage(worker.id, type, `its payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects; workers refuse deeper nesting rather than risk a stack overflow (no tensor has more than 16 dimensions)`));
    }
    if (type === 'reply' || type === 'error') return handleAnswer(turn);
    if (!isMessageType(type)) {
      disposeTensorsIn(payload); // the receiver owns what it was sent, even in a message it rejects
      return mail.fail(envelope, unknownMessageType(worker.id, type));
    }
    const parsed = MessageSchemas[type].safeParse(payload);
    if (!parsed.success) {
      disposeTensorsIn(payload);
      return mail.fail(envelope, invalidMessage(worker.id, type, describeIssues(parsed.error)));
    }
    stage = 'handling';
    worker.store.beginTrail();
    try {
      HANDLERS[type as keyof typeof HANDLERS](turn, parsed.data);
    } catch (error) {
      const reported = failureFor(turn, error, siteOf(type, parsed.data));
      // A one-way message's sender holds pointers to what it would have made: they find the cause there.
      leaveRefusal(worker, type, parsed.data, reported);
      mail.fail(envelope, reported);
    } finally {
      worker.store.endTrail();
    }
  } catch (error) {
    // Handlers dispose what they reject themselves; only a failure before them leaves tensors to free.
    if (stage === 'validating') disposeTensorsIn(payload);
    mail.fail(envelope, error);
  }
}

/** What a failed message was doing, for a redacted report: the op (or message type) and the object it named. */
function siteOf(type: string, payload: Record<string, unknown>): FailureSite {
  const op = typeof payload.op === 'string' ? payload.op : type;
  const id = [payload.id, payload.planId, payload.resultId].find((v): v is string => typeof v === 'string');
  return id === undefined ? { op } : { op, objectId: id };
}

const hex64 = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export const virtualWorkerMachine = setup({
  types: {} as { context: VirtualWorkerContext; input: VirtualWorkerInput; events: ActorMessage },
  actions: {
    handle: ({ context, event }) => handleMessage(context, event),
  },
}).createMachine({
  id: 'virtualWorker',
  context: ({ input }) => ({
    io: input.io,
    worker: new WorkerState(
      input.io.id,
      { isPeer: input.isPeer ?? (() => true), isWorker: input.isWorker ?? (() => false), budget: resolveBudget(input.budget, `worker ${input.io.id} budget`) },
      // The stream goes on across restarts, so each state the worker is given draws a new incarnation.
      hex64(input.io.rng('privacy/part-ids').bytes(8)),
    ),
    mail: new WorkerMail(input.io, input.strict ?? false),
    dedup: input.dedup ?? true,
  }),
  on: { '*': { actions: 'handle' } },
});
