/**
 * Errors a worker reports. They cross the wire as the runtime's ErrorPayload
 * (`name`, `message`, `where`, `data`), so each says what happened, where (worker,
 * object id, op) and what to do — the pointer layer rebuilds typed errors from the name.
 */

export const WORKER_ERROR_NAMES = [
  'ObjectNotFoundError',
  'GetNotPermittedError',
  'ObjectExistsError',
  'UnknownOpError',
  'UnknownMessageTypeError',
  'InvalidMessageError',
  'OpFailedError',
  'NotATensorError',
  'BackwardError',
  'InvalidPlanError',
  'PlanFailedError',
  'NotAPlanError',
  'ResourceLimitError',
  'KernelFailedError',
  'WorkerFailedError',
] as const;
export type WorkerErrorName = (typeof WORKER_ERROR_NAMES)[number];

export interface Where {
  worker: string;
  objectId?: string;
  op?: string;
  [key: string]: unknown;
}

/**
 * An error a worker reports over the wire: a name from a fixed list, a message that
 * says what to do, `where` it happened and optional `data` (an ErrorPayload's fields).
 */
export class ReportedError<N extends string> extends Error {
  constructor(
    name: N,
    message: string,
    readonly where: Where,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = name;
  }
}

export class WorkerError extends ReportedError<WorkerErrorName> {}

const PUBLIC_FACTS = Symbol('fedsim.publicFacts');

/**
 * Marks an error as built only from facts its receiver may know — ids, op names, shapes,
 * dtypes, permissions — never from values computed on. Unmarked errors may quote such
 * values, and a worker withholds their text from an asker who may not see the data read
 * (src/actors/privacy/redaction.ts).
 */
export function publicFacts<E extends Error>(error: E): E {
  (error as E & { [PUBLIC_FACTS]?: true })[PUBLIC_FACTS] = true;
  return error;
}

export function isPublicFacts(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { [PUBLIC_FACTS]?: true })[PUBLIC_FACTS] === true;
}

export const objectNotFound = (worker: string, id: string, op: string) =>
  publicFacts(
    new WorkerError(
      'ObjectNotFoundError',
      `${worker} has no object ${id} (needed by ${op}). It was never stored there, or get(), move(), a delete or clearObjects() already removed it.`,
      { worker, objectId: id, op },
    ),
  );

export const getNotPermitted = (worker: string, id: string, user: string, allowed: readonly string[], op: string, policyNote?: string) =>
  publicFacts(
    new WorkerError(
      'GetNotPermittedError',
      `${user} may not ${op === 'move' ? 'receive' : 'get'} object ${id} from ${worker}: it is private to [${allowed.join(', ')}]. ` +
        'Computing on it remotely is allowed, but results inherit the restriction; release only what its owners agree to share (e.g. an aggregate computed by a secure worker).' +
        (policyNote ? ` ${policyNote}` : ''),
      { worker, objectId: id, op, user },
      { allowedUsers: [...allowed] },
    ),
  );

export const objectExists = (worker: string, id: string, op: string) =>
  publicFacts(
    new WorkerError(
      'ObjectExistsError',
      `${worker} already holds an object ${id}, so ${op} cannot store another under that id; nothing was changed. Ids are chosen by the sender: use a fresh id (pointers do this for you).`,
      { worker, objectId: id, op },
    ),
  );

export const unknownOp = (worker: string, op: string) =>
  publicFacts(
    new WorkerError(
      'UnknownOpError',
      `${worker} has no op '${op}'. Remote ops are tfjs op names from fedsim's allow-list (e.g. add, matMul, reshape, sum; see TENSOR_OPS) or worker ops (copy, grad, assign, assignAdd, assignSub, zeroGrad).`,
      { worker, op },
    ),
  );

export const unknownMessageType = (worker: string, type: string) =>
  publicFacts(
    new WorkerError(
      'UnknownMessageTypeError',
      `${worker} does not understand messages of type '${type}'; nothing was changed. Worker messages are: object, objectRequest, command, delete, getShape, search, move, remoteGet, backward, clear, setMeta, runPlan, runPlanLoop, model, modelForward, modelCopy, modelDelete, optimizer, optimizerStep, optimizerZeroGrad, optimizerDelete, permutation, smpc, smpc/share, smpc/triple, smpc/open, smpc/get.`,
      { worker, op: type },
    ),
  );

export const invalidMessage = (worker: string, type: string, detail: string, objectId?: string) =>
  publicFacts(
    new WorkerError('InvalidMessageError', `${worker} rejected a '${type}' message: ${detail}. Nothing was changed.`, {
      worker,
      op: type,
      ...(objectId === undefined ? {} : { objectId }),
    }),
  );

  export const opFailed = (worker: string, op: string, resultId: string | undefined, cause: unknown) => {
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, '');
    return new WorkerError(
      'OpFailedError',
      `${op} failed on ${worker}${resultId === undefined ? '' : ` (result ${resultId})`}: ${reason}. Check the arguments' shapes and dtypes (ptr.getShape()).`,
      { worker, op, ...(resultId === undefined ? {} : { objectId: resultId }) },
      { cause: reason },
  );
  };

  export const notATensor = (worker: string, id: string, op: string, target: string) =>
  publicFacts(
    new WorkerError(
      'NotATensorError',
      `${op} needs a tensor, but object ${id} on ${worker} is a pointer to ${target} (a pointer chain). Run the op where the tensor lives, or pull it here first with remoteGet().`,
      { worker, objectId: id, op },
    ),
  );

export const backwardFailed = (worker: string, id: string, reason: string) =>
  new WorkerError('BackwardError', `backward() of object ${id} on ${worker} failed: ${reason}`, { worker, objectId: id, op: 'backward' });

// ── plans ─────────────────────────────────────────────────────────────────────

/** A plan refused on arrival: nothing was stored. `opIndex` points at the offending op. */
export const invalidPlan = (worker: string, id: string, plan: string, detail: string, opIndex?: number) =>
  publicFacts(
    new WorkerError(
      'InvalidPlanError',
      `${worker} refused plan '${plan}' (object ${id}): ${detail}. The plan was not stored (its id holds this refusal). Build plans with func2plan or a Plan subclass, which record only allowed ops.`,
      { worker, objectId: id, op: 'plan', plan, ...(opIndex === undefined ? {} : { opIndex }) },
    ),
  );

/** An op of a plan run failed: the plan's state and the worker's objects are as they were before the run. */
export const planFailed = (worker: string, id: string, plan: string, opIndex: number | undefined, opText: string | undefined, cause: unknown, during = 'runPlan') => {
  const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, '');
  const at = opIndex === undefined ? '' : ` at op #${opIndex} \`${opText}\``;
  return new WorkerError(
    'PlanFailedError',
    `${during} of plan '${plan}' (object ${id}) failed on ${worker}${at}: ${reason}. Nothing was changed; check the arguments' shapes and dtypes against plan.toString().`,
    { worker, objectId: id, op: during, plan, ...(opIndex === undefined ? {} : { opIndex }) },
    { cause: reason },
  );
};

/** runPlan named an object that is not a plan, or an op was given a plan where it needs a tensor. */
export const notAPlan = (worker: string, id: string, op: string, what: string) =>
  publicFacts(
    new WorkerError('NotAPlanError', `${op} needs a plan, but object ${id} on ${worker} is ${what}. Send a plan with plan.send(${worker}) and call the pointer it returns.`, { worker, objectId: id, op }),
  );

export const planAsTensor = (worker: string, id: string, op: string, plan: string) =>
  publicFacts(
    new WorkerError('NotATensorError', `${op} needs a tensor, but object ${id} on ${worker} is plan '${plan}'. Run a plan by calling its pointer (planPtr(xPtr)); its results are tensors.`, { worker, objectId: id, op }),
  );

// ── resources and failures ────────────────────────────────────────────────────

/**
 * What would be allocated exceeds the worker's budget; nothing was allocated. The sizes are
 * computed from shapes and literal arguments only, so the text carries no data.
 */
export const resourceLimit = (worker: string, op: string, what: string, elements: number, limit: number, setting: string, objectId?: string) =>
  publicFacts(
    new WorkerError(
      'ResourceLimitError',
      `${op} on ${worker} would allocate ${what} of ${elements.toLocaleString('en-US')} elements, over the worker's ${setting} of ${limit.toLocaleString('en-US')}; nothing was allocated. ` +
        `Use smaller sizes, or give the worker a larger budget: sim.worker('${worker}', { budget: { ${setting}: … } }).`,
      { worker, op, ...(objectId === undefined ? {} : { objectId }) },
      { elements, limit, setting },
    ),
  );

/** A worker pulling an object (remoteGet) has no room for it in its budget; the holder keeps it. Sizes are shapes: public. */
export const noRoomForObject = (holder: string, requester: string, id: string, elements: number, room: number) =>
  publicFacts(
    new WorkerError(
      'ResourceLimitError',
      `remoteGet: object ${id} on ${holder} has ${elements.toLocaleString('en-US')} elements, more than the ${room.toLocaleString('en-US')} that ${requester} has room for in its budget (maxTensorElements, maxStoredElements); it stays on ${holder}. ` +
        `Free objects on ${requester}, or give it a larger budget: sim.worker('${requester}', { budget: { … } }).`,
      { worker: holder, objectId: id, op: 'remoteGet', requester },
      { elements, limit: room },
    ),
  );

/** A compute kernel failed (e.g. WebAssembly trapped); the worker's objects are as before the op. */
/**
 * A kernel failed. Its reason is the kernel's own text, which may depend on the values computed
 * on: when the op read private data (`readPrivate`) the error is not marked as public facts, so
 * it reaches only those allowed to see that data (privacy/redaction.ts).
 */
export const kernelFailed = (worker: string, op: string, reason: string, backendBroken: boolean, readPrivate = false) =>
  (readPrivate ? (e: WorkerError) => e : publicFacts)(
    new WorkerError(
      'KernelFailedError',
      `the compute kernel of ${op} failed on ${worker} (${reason}). ` +
        (backendBroken
          ? `The compute backend no longer works after it, so ${worker} is marked failed and refuses further messages; restart the process (or run with FEDSIM_BACKEND=cpu).`
          : 'The backend still works and nothing was changed; the op was refused.'),
      { worker, op },
    ),
  );

/** The worker stopped serving after a failure that left it (or the backend under it) unusable. */
export const workerFailed = (worker: string, type: string, reason: string) =>
  publicFacts(
    new WorkerError('WorkerFailedError', `${worker} refused a '${type}' message: it failed earlier and serves nothing more (${reason}). Nothing was changed.`, { worker, op: type }),
  );
