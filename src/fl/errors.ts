/**
 * The FL layer's errors, in three kinds a caller can tell apart:
 *
 *   refusal  the input is wrong — a bad configuration, a malformed message, a model that
 *            does not fit its data. Nothing was changed; fix the input and try again.
 *   fault    something the environment did — a lost message, a crashed actor, a deadline —
 *            made the work impossible. Expected under fault plans; the protocol copes.
 *   bug      an invariant of fedsim itself broke. Please report it.
 *
 * Every error has `kind`, `where` (actor, round, op… as a record) and a message that says
 * what happened, where, and what to do. When an error crosses the wire as an error reply,
 * `kind` travels in the payload's `data` (see `errorKindOf`), so the receiving side can
 * still tell a client's refusal from a fault.
 */
import type { ErrorPayload } from '../runtime/envelope.js';
import { FedsimError } from '../runtime/errors.js';

export type FlErrorKind = 'refusal' | 'fault' | 'bug';

export abstract class FlError extends FedsimError {
  abstract readonly kind: FlErrorKind;
  readonly where: Record<string, unknown>;
  /** What an error reply carries besides name and message (see toErrorPayload). */
  readonly data: Record<string, unknown>;

  constructor(message: string, where: Record<string, unknown> = {}) {
    super(message);
    this.where = where;
    this.data = {};
  }
}

/** The input is wrong; nothing was changed. */
export class FlRefusal extends FlError {
  override name = 'FlRefusal';
  readonly kind = 'refusal' as const;
  constructor(message: string, where: Record<string, unknown> = {}) {
    super(message, where);
    this.data.kind = 'refusal';
  }
}

/** A federated run's settings (or a strategy's, an aggregator's) cannot work. */
export class FlConfigError extends FlRefusal {
  override name = 'FlConfigError';
}

/** A protocol message failed validation (wrong type, missing field, bad value). */
export class MalformedMessageError extends FlRefusal {
  override name = 'MalformedMessageError';
}

/** A client's data does not fit the model (inputs, classes, targets): the run cannot train there. */
export class IncompatibleModelError extends FlRefusal {
  override name = 'IncompatibleModelError';
}

/** The environment (a lost message, a crash, a deadline) made the work impossible. */
export class FlFault extends FlError {
  override name = 'FlFault';
  readonly kind = 'fault' as const;
  constructor(message: string, where: Record<string, unknown> = {}) {
    super(message, where);
    this.data.kind = 'fault';
  }
}

/** An invariant of fedsim broke: a bug to report, never the user's fault. */
export class FlInvariantError extends FlError {
  override name = 'FlInvariantError';
  readonly kind = 'bug' as const;
  constructor(message: string, where: Record<string, unknown> = {}) {
    super(`${message} (this is a bug in fedsim: please report it with the seed and the command that produced it)`, where);
    this.data.kind = 'bug';
  }
}

/**
 * The federated run stopped before its last round. `cause` says why and its kind says
 * whose problem it is: a client's refusal, a fault the run could not get past, or a bug.
 */
export class FederatedRunError extends FedsimError {
  override name = 'FederatedRunError';
  constructor(
    message: string,
    readonly reason: { kind: FlErrorKind; round: number; client?: string; detail: string },
  ) {
    super(message);
  }
}

/** The kind an error (or an error payload that crossed the wire) declares; unknown errors count as bugs. */
export function errorKindOf(error: unknown): FlErrorKind {
  if (error instanceof FlError) return error.kind;
  const payload = error as Partial<ErrorPayload> | undefined;
  const kind = payload?.data?.kind;
  if (kind === 'refusal' || kind === 'fault' || kind === 'bug') return kind;
  return 'bug';
}
