/**
 * Errors of building and using plans locally. A build failure keeps the original
 * error (as `cause`, and its message) and says where tracing stopped — PySyft
 * replaced it with a generic message, which left users guessing.
 */
import { FedsimError } from '../../runtime/index.js';
import { formatPlanOp, type PlanOp } from '../../messages/index.js';

export class PlanBuildError extends FedsimError {
  override name = 'PlanBuildError';

  constructor(
    readonly plan: string,
    /** Index the op being traced would have had in the op list, when tracing stopped inside an op. */
    readonly opIndex: number | undefined,
    /** The op being traced when it failed, if any. */
    readonly op: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** From an error thrown while tracing: names the op being traced, or the last op recorded. */
  static fromTracing(plan: string, ops: readonly PlanOp[], current: { index: number; op: string } | undefined, cause: unknown): PlanBuildError {
    const reason = cause instanceof Error ? `${cause.name === 'Error' ? '' : `${cause.name}: `}${cause.message}` : String(cause);
    const last = ops.length > 0 ? ` (the last op recorded: #${ops.length - 1} \`${formatPlanOp(ops[ops.length - 1])}\`)` : ' (before any op was recorded)';
    const where = current ? `while tracing op #${current.index} (${current.op})` : `in the function's own code after ${ops.length} op${ops.length === 1 ? '' : 's'}${last}`;
    return new PlanBuildError(plan, current?.index, current?.op, `Building plan ${plan} failed ${where}: ${reason}`, { cause });
  }
}

/** send() (or serialising) a plan that has no op list yet. */
export class PlanNotBuiltError extends FedsimError {
  override name = 'PlanNotBuiltError';
}
