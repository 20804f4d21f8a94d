/**
 * The FL layer's errors, in three kinds a caller can tell apart:
 *
 *   refusal  the input is wrong — a bad configuration or argument, a malformed message, a
 *            data file that is not what its format says, a model that does not fit its
 *            data. Nothing was changed; fix the input and try again.
 *   fault    something the environment did — a lost message, a crashed actor, a deadline,
 *            a file that cannot be read — made the work impossible. Expected under fault
 *            plans; the protocol copes where it can.
 *   bug      an invariant broke: a bug in fedsim, or in a strategy or client algorithm
 *            plugged into it that does not keep its contract. Please report fedsim's.
 *
 * The hierarchy (every class is a FedsimError, so the CLI prints its message without a
 * stack trace):
 *
 *   FlError (abstract: kind, where, data)
 *   ├─ FlRefusal                  refusal
 *   │  ├─ FlConfigError           a setting or argument the caller passed cannot work
 *   │  ├─ DataFormatError         a data file's bytes are not what its format says
 *   │  ├─ MalformedMessageError   a protocol message failed validation
 *   │  └─ IncompatibleModelError  a client's data does not fit the model
 *   ├─ FlFault                    fault
 *   └─ FlInvariantError           bug (fedsim's, or a plugged-in strategy's or algorithm's)
 *   FederatedRunError             a run stopped; `reason.kind` says whose problem it was
 *
 * Other FL modules derive their own names from these (FederatedDataError and
 * SecAggConfigError are FlConfigErrors, SecAggProtocolError and DecryptionError are
 * MalformedMessageErrors, SecAggAbortedError is an FlFault, …), so `kind` is always there.
 *
 * Every error has `kind`, `where` (a record: { field }, { file }, { actor, round, op }, …)
 * and a message that says what happened, where, and what to do. When an error crosses the
 * wire as an error reply, `kind` travels in the payload's `data` (see `errorKindOf`), so the
 * receiving side can still tell a client's refusal from a fault.
 *
 * Why these are not also TypeError / RangeError: a class has one parent, and the parent
 * here is FedsimError (which the CLI and callers already catch), so an FlConfigError cannot
 * also be `instanceof RangeError`. Nor should it be: a RangeError or TypeError is what the
 * JavaScript engine and tf.js throw for their own failures (an invalid array length,
 * `undefined.x`), so code that caught RangeError to mean "my settings were wrong" would also
 * swallow genuine bugs — the confusion these kinds exist to remove. Code that used to catch
 * the built-in classes from fl/ catches FlRefusal (or FlConfigError) instead, or asks
 * `errorKindOf(error) === 'refusal'`; any TypeError or RangeError still escaping fl/ comes
 * from a dependency or is a bug (errorKindOf says 'bug').
 */
import type { ErrorPayload } from '../runtime/envelope.js';
import { FedsimError } from '../runtime/errors.js';
import { FaultPlanError } from '../runtime/faults/fault-plan.js';

export type FlErrorKind = 'refusal' | 'fault' | 'bug';

/** Where an error happened, as a record a program can read (the message says it in words). */
export type FlWhere = Record<string, unknown>;

export abstract class FlError extends FedsimError {
  abstract readonly kind: FlErrorKind;
  readonly where: FlWhere;

  constructor(message: string, where: FlWhere = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.where = where;
  }

  /** What an error reply carries besides name and message (see toErrorPayload): the kind, so it survives the wire. */
  get data(): Record<string, unknown> {
    return { kind: this.kind };
  }
}

/** The input is wrong; nothing was changed. */
export class FlRefusal extends FlError {
  override name = 'FlRefusal';
  readonly kind = 'refusal' as const;
}

/**
 * A setting, argument or object the caller passed cannot work: a run's or a strategy's
 * options, an aggregator's settings, a model spec, the shape of a data set, a
 * partitioner's parameters, an argument of a library function, a model already disposed.
 * `where.field` names it (and `where.op` or `where.at` the function or context).
 *
 * A library function cannot know whether its caller is a user or fedsim itself; it refuses
 * bad arguments as FlConfigError either way. Where the caller is always fedsim and the
 * argument was checked before, the call site throws FlInvariantError instead.
 */
export class FlConfigError extends FlRefusal {
  override name = 'FlConfigError';
}

/**
 * A data file's bytes are not what its format says (a bad IDX magic, a truncated or
 * corrupt download, images and labels that disagree). `where.file` names the file. Apart
 * from FlConfigError because the fix differs: the settings are fine, the file must be
 * downloaded again. A file that cannot be read at all is an FlFault.
 */
export class DataFormatError extends FlRefusal {
  override name = 'DataFormatError';
}

/**
 * A `fedsim worker` cannot build the FL client a live run placed on it: the driver's run is
 * not one it can rebuild (another experiment file or --set, other fedsim code, another tfjs
 * backend, a client it does not host). src/fl/experiments/placed-clients.ts.
 */
export class ClientPlacementError extends FlRefusal {
  override name = 'ClientPlacementError';
}

/** A protocol message failed validation (wrong type, missing field, bad value, failed authentication). */
export class MalformedMessageError extends FlRefusal {
  override name = 'MalformedMessageError';
}

/** A client's data does not fit the model (inputs, classes, targets): the run cannot train there. */
export class IncompatibleModelError extends FlRefusal {
  override name = 'IncompatibleModelError';
}

/** The environment (a lost message, a crash, a deadline, an unreadable file) made the work impossible. */
export class FlFault extends FlError {
  override name = 'FlFault';
  readonly kind = 'fault' as const;
}

/**
 * An invariant broke: code, not input or environment, is wrong. Either fedsim's own, or a
 * plugin's — a strategy or client algorithm that breaks its contract (a strategy that
 * selects clients it was not given, an algorithm that reports other extras than it
 * declares); the message names the plugin then.
 */
export class FlInvariantError extends FlError {
  override name = 'FlInvariantError';
  readonly kind = 'bug' as const;
  constructor(message: string, where: FlWhere = {}, options?: { cause?: unknown }) {
    super(`${message} (a bug: in fedsim, or in the strategy or client algorithm named here if you wrote it; please report fedsim's with the seed and the command that produced it)`, where, options);
  }
}

/**
 * The federated run stopped before its last round. `reason` says why and its kind says
 * whose problem it is: a client's refusal, a fault the run could not get past, or a bug.
 */
export class FederatedRunError extends FedsimError {
  override name = 'FederatedRunError';
  constructor(
    message: string,
    readonly reason: { kind: FlErrorKind; round: number; client?: string; detail: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The kind an error (or an error payload that crossed the wire, or a RemoteError that
 * carries one) declares; a FederatedRunError has its reason's kind; a fault plan the run
 * cannot use is the user's input refused. Anything else — a TypeError from a dependency, a
 * plain Error — counts as a bug.
 */
export function errorKindOf(error: unknown): FlErrorKind {
  if (error instanceof FlError) return error.kind;
  if (error instanceof FaultPlanError) return 'refusal';
  if (error instanceof FederatedRunError) return error.reason.kind;
  const payload = error as Partial<ErrorPayload> | undefined;
  const kind = payload?.data?.kind;
  if (kind === 'refusal' || kind === 'fault' || kind === 'bug') return kind;
  return 'bug';
}
