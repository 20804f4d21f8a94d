/**
 * Errors of the differential-privacy layer (src/dp). Their kinds follow fl/errors.ts: a
 * parameter that cannot work (σ ≤ 0, δ ∉ (0, 1), q ∉ (0, 1], a negative count, NaN) is a
 * refusal, so DpConfigError is an FlConfigError — callers that already catch FlConfigError
 * or FlRefusal, and `errorKindOf`, treat it as the user's input refused, and the CLI prints
 * its message without a stack trace.
 *
 * `where.field` names the parameter (`noiseMultiplier`, `delta`, `samplingRate`, …),
 * `where.value` holds the value refused and `where.at` the function or setting that
 * received it; the message says the same in words, with the valid range.
 */
import { FlConfigError } from '../fl/errors.js';

/** A differential-privacy parameter (a noise multiplier, δ, a sampling rate, an RDP order, …) that cannot work. */
export class DpConfigError extends FlConfigError {
  override name = 'DpConfigError';
}
