/**
 * Errors of the pointer API. Remote failures stay RemoteErrors (worker, op, cause);
 * the common ones get their own subclass so callers can tell them apart with
 * `instanceof`, and local mistakes are caught before any message is sent.
 */
import { type ErrorPayload, FedsimError, RemoteError } from '../runtime/index.js';

/** Arguments of one op live in different places (two workers, or a worker and here). */
export class TensorsNotCollocatedError extends FedsimError {
  override name = 'TensorsNotCollocatedError';
  constructor(
    readonly op: string,
    /** Where each argument lives, in argument order (`me` for a local tensor). */
    readonly locations: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** A pointer used after get(), send() to another worker, or dispose(): it no longer refers to a remote object. */
export class PointerStateError extends FedsimError {
  override name = 'PointerStateError';
}

function payloadOf(error: RemoteError): ErrorPayload {
  return { name: error.remoteName, message: error.remoteMessage, where: error.where, data: error.data };
}

/** The worker has no object with the id the pointer names. */
export class ObjectNotFoundError extends RemoteError {
  override name = 'ObjectNotFoundError';
  constructor(actor: string, payload: ErrorPayload, hint?: string) {
    super(actor, payload);
    this.message = hint ? `${payload.message} ${hint}` : payload.message;
  }
  get objectId(): string | undefined {
    return this.where.objectId as string | undefined;
  }
  get worker(): string {
    return this.actor;
  }
}

/** The object is private to other users: computing on it is allowed, fetching it is not. */
export class GetNotPermittedError extends RemoteError {
  override name = 'GetNotPermittedError';
  constructor(actor: string, payload: ErrorPayload) {
    super(actor, payload);
    this.message = payload.message;
  }
  get objectId(): string | undefined {
    return this.where.objectId as string | undefined;
  }
  get allowedUsers(): string[] {
    return (this.data.allowedUsers as string[] | undefined) ?? [];
  }
}

/** Rebuilds the typed error a worker reported; other errors pass through unchanged. */
export function remoteFailure(error: unknown, hint?: string): unknown {
  if (!(error instanceof RemoteError) || error instanceof ObjectNotFoundError || error instanceof GetNotPermittedError) return error;
  switch (error.remoteName) {
    case 'ObjectNotFoundError':
      return new ObjectNotFoundError(error.actor, payloadOf(error), hint);
    case 'GetNotPermittedError':
      return new GetNotPermittedError(error.actor, payloadOf(error));
    default:
      return error;
  }
}
