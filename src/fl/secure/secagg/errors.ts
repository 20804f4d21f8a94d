/**
 * Errors of the SecAgg+ protocol. Each names the round, the stage and the numbers that
 * decided the outcome, and says what to change. Their kinds (fl/errors.ts): bad parameters
 * are a refusal (FlConfigError), a forbidden message a refusal (MalformedMessageError), an
 * aborted round a fault (FlFault).
 */
import { FlConfigError, FlFault, MalformedMessageError } from '../../errors.js';

/**
 * The stages of one SecAgg+ round, in order (Flower's Stage names, plus the consistency check
 * of Bonawitz et al. 2017's malicious-server version: clients sign the survivor set before
 * anything is unmasked).
 */
export type SecAggStage = 'setup' | 'share-keys' | 'collect-masked-input' | 'consistency-check' | 'unmask';

export const SECAGG_STAGES: readonly SecAggStage[] = ['setup', 'share-keys', 'collect-masked-input', 'consistency-check', 'unmask'];

/** Parameters that cannot work for this round (checked before any message is sent). */
export class SecAggConfigError extends FlConfigError {
  override name = 'SecAggConfigError';
}

/**
 * A client received something the protocol forbids: a share that does not authenticate, a
 * message for the wrong stage, a peer list that contradicts itself. The client refuses to go
 * on with the round (it never reveals anything after such a message); the runtime turns the
 * throw into an `error` event in the log and an error reply to the server, which counts the
 * client as dropped and lists the reason in the round's `failures`.
 */
export class SecAggProtocolError extends MalformedMessageError {
  override name = 'SecAggProtocolError';
  constructor(message: string, where: { actor: string; round: number | null; stage: SecAggStage } & Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, where, options);
  }
}

/** Why a round stopped without a result; the global model must stay as it was. */
export interface AbortDetails {
  round: number;
  stage: SecAggStage;
  /** Clients still in the round when it stopped. */
  survivors: string[];
  threshold: number;
  participants: number;
  /** Client failures reported so far (e.g. a share that failed authentication). */
  failures: ClientFailure[];
}

export interface ClientFailure {
  client: string;
  stage: SecAggStage;
  error: string;
}

/**
 * Thrown by `runSecAggPlus` when the server answers `secagg/aborted`: too few clients were
 * left (dropouts, or clients that refused a tampered message) to finish the round. A fault:
 * the parameters were fine, the round was lost; run it again, or lower the threshold.
 */
export class SecAggAbortedError extends FlFault {
  override name = 'SecAggAbortedError';
  constructor(readonly reason: string, readonly details: AbortDetails) {
    super(reason, { round: details.round, stage: details.stage });
  }
}
