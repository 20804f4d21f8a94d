/**
 * Errors of the runtime. Each says what happened, where, and what to do next.
 */
import type { ErrorPayload } from './envelope.js';
import { type LivenessReport, formatLivenessReport } from './liveness.js';

export class FedsimError extends Error {
  override name = 'FedsimError';
}

/** The driver awaits a reply that can never arrive: nothing is in flight and no timer is set. */
export class DeadlockError extends FedsimError {
  override name = 'DeadlockError';
  constructor(
    readonly awaited: string,
    readonly virtualTime: number,
    hint = '',
    /** Who waits for what at the deadlock (see liveness.ts); its text is the message's second part. */
    readonly report?: LivenessReport,
    /** What the time is: virtual in simulation; live, real ms since the run started. */
    clock: 'virtual time' | 'live time' = 'virtual time',
  ) {
    super(
      `Deadlock at ${clock} ${virtualTime} ms: waiting for ${awaited}, but no message is in flight and no timer is set, ` +
        `so it can never arrive.${hint ? ' ' + hint : ''} Check that the receiver exists and answers this message type, ` +
        `and whether the fault plan dropped the request or its reply (see sim.log for 'dropped' events).` +
        (report ? `\n${formatLivenessReport(report)}` : ''),
    );
  }
}

/** The run would not become quiet within the step budget (e.g. actors that keep messaging each other). */
export class LivelockError extends FedsimError {
  override name = 'LivelockError';
  constructor(
    readonly steps: number,
    readonly virtualTime: number,
    what: string,
    /** What was still going on when the budget ran out (see liveness.ts). */
    readonly report?: LivenessReport,
  ) {
    super(
      `${what} did not finish within ${steps} steps (virtual time ${virtualTime} ms): the actors keep producing work. ` +
        `If the run really needs more, raise the limit: fedsim run|explore|replay --max-steps N, \`maxSteps: N\` in the scenario or ` +
        `experiment file, or new Simulation({ maxSteps: N }). Otherwise look for a message loop in the log (the same messages sent over and over).` +
        (report ? `\n${formatLivenessReport(report)}` : ''),
    );
  }
}

/** The streamed event log outgrew SimulationOptions.maxLogBytes: the run was stopped before it filled the disk. */
export class LogSizeError extends FedsimError {
  override name = 'LogSizeError';
  constructor(readonly bytes: number, readonly limit: number, file: string) {
    super(
      `the event log ${file} reached ${bytes.toLocaleString('en-US')} bytes, past the limit of ${limit.toLocaleString('en-US')} ` +
        '(fedsim run --max-log-bytes, SimulationOptions.maxLogBytes), so the run was stopped. A log takes about 200 bytes per event, two events per message: ' +
        'raise the limit if the run really sends this much, or look for a message loop.',
    );
  }
}

export class UnknownActorError extends FedsimError {
  override name = 'UnknownActorError';
  constructor(readonly actor: string, known: readonly string[], action: string) {
    super(
      `${action}: no actor '${actor}' in this simulation. Known actors: ${known.length ? known.join(', ') : '(none)'}. ` +
        `Spawn it first (sim.spawn / sim.worker), or check the id for a typo.`,
    );
  }
}

export class DuplicateActorError extends FedsimError {
  override name = 'DuplicateActorError';
  constructor(readonly actor: string) {
    super(`An actor with id '${actor}' already exists in this simulation: choose another id, or look it up with sim.actor('${actor}').`);
  }
}

/** A remote handler failed; carries the remote side's error name, message and location. */
export class RemoteError extends FedsimError {
  override name = 'RemoteError';
  readonly remoteName: string;
  /** The remote side's own message, without the "actor failed: Name:" prefix. */
  readonly remoteMessage: string;
  readonly where: Record<string, unknown>;
  readonly data: Record<string, unknown>;
  constructor(readonly actor: string, payload: ErrorPayload) {
    super(`${actor} failed: ${payload.name}: ${payload.message}`);
    this.remoteName = payload.name;
    this.remoteMessage = payload.message;
    this.where = payload.where ?? {};
    this.data = payload.data ?? {};
  }
}

/** A request's virtual-time timeout expired before its reply arrived. */
export class RequestTimeoutError extends FedsimError {
  override name = 'RequestTimeoutError';
  constructor(readonly awaited: string, readonly timeoutMs: number, readonly virtualTime: number) {
    super(`Timed out: ${awaited} did not arrive within ${timeoutMs} virtual ms (now ${virtualTime} ms). The request or its reply may have been dropped, or the receiver crashed; see sim.log.`);
  }
}

/** The driver tried to run the simulation from inside a handler or subscriber that the simulation itself is running. */
export class ReentrancyError extends FedsimError {
  override name = 'ReentrancyError';
  constructor(what: string) {
    super(
      `${what} was called while the simulation is already delivering a message (from inside a handler or an events$ subscriber). ` +
        'Handlers are synchronous: send messages from them, and await replies only in scenario code.',
    );
  }
}
