/**
 * Aggregator: how a round's client updates are combined — in the clear ('plain'), by a
 * trusted secure worker, by additive shares among the clients, or by SecAgg+ masking.
 * Each mode is one file in src/fl/aggregators/ behind this interface, registered in
 * aggregators/registry.ts; the round engine (server-machine.ts) never asks which mode
 * it runs.
 *
 * A mode has three parts:
 *   server side   one round's collection as pure steps over an immutable `session`
 *                 value: open → receive* → (retry*) → complete? / close → aggregate.
 *                 Every step is safe under faults: receive ignores an exact duplicate,
 *                 refuses a message for another round, and marks the session inconsistent
 *                 (never mixes) when two different inputs claim the same slot; aggregate
 *                 then aborts the round with that reason.
 *   client side   the client actor logic (clientLogic), built on the generic client of
 *                 client-machine.ts: the mode only says how a trained FitRes is reported.
 *   helpers       extra actors the mode needs (the secure worker, the SecAgg+ server).
 */
import type { AnyActorLogic } from 'xstate';
import type { ActorIO, ActorMessage } from '../../runtime/actor-cell.js';
import type { RandomStream } from '../../runtime/rng.js';
import type { Weights } from '../models/weights.js';
import type { ByteKinds } from '../metrics/byte-meter.js';
import type { RoundFailure, SkippedRound } from '../strategies/strategy.js';
import type { DpSettings } from '../../dp/fedavg/settings.js';
import type { ReportLayout } from './fit.js';
import type { RoundAggregate } from './round-aggregate.js';

/** What every aggregator learns about the run when it is built. */
export interface AggregatorSetup {
  serverId: string;
  /** Every client of the run, sorted. */
  clients: readonly string[];
  /** The model's layout (the initial weights). */
  layout: readonly Float32Array[];
  /** What clients report beside their weights. */
  reports: ReportLayout;
  /** The largest training set of any client: the bound every reported n_k is checked against. */
  maxSamplesPerClient: number;
  /**
   * The run's differential-privacy settings, when it has them: a mode that takes part in the
   * noise reads them here (dp.mode 'distributed': SecAgg+ clients add integer noise before
   * masking). The server's DP strategy does the rest (src/dp/fedavg/).
   */
  dp?: DpSettings;
}

export interface HelperActor {
  id: string;
  logic: AnyActorLogic;
  input: Record<string, unknown>;
}

/** The round as the server sees it while it collects. */
export interface RoundView {
  io: ActorIO;
  round: number;
  /** The clients selected this round, sorted. */
  selected: readonly string[];
  /** The global model the round started from. */
  weights: Weights;
  /** Selected clients that refused the fit (an error reply), by id. */
  refused: Readonly<Record<string, RoundFailure>>;
}

export interface OpenedRound<S> {
  session: S;
  /** The aggregator's field of this round's FitIns (`report`), if it needs one. */
  report?: Record<string, unknown>;
  /** Set when the round cannot run with this selection: no fit is sent and the round is skipped with this reason. */
  skip?: string;
}

/** The outcome of a round's aggregation: the aggregate, or why there is none. */
export type AggregationOutcome = { aggregate: RoundAggregate } | { skip: string; secureSum?: SkippedRound['secureSum'] };

export interface Aggregator<S = any> {
  readonly name: string;
  /** 'individual': the server sees each client's update; 'sum': only their weighted sum. */
  readonly reveals: 'individual' | 'sum';
  /** Message types, besides the engine's own, that the server routes to this aggregator. */
  readonly serverMessages: readonly string[];
  /** How this mode's own messages count in the round's bytes (fits and fit results are counted by the engine). */
  readonly byteKinds: ByteKinds;
  /** Extra actors the run spawns for this mode. */
  helpers(): HelperActor[];
  /** The client actor logic of this mode. */
  clientLogic(): AnyActorLogic;
  /**
   * Extra input every client actor is created with: the client's own copy of settings it must
   * not take from the server at run time (distributed DP's plan), if the mode has any.
   */
  clientInput?(): Record<string, unknown>;
  /** Starts round r: sends what the helpers need and says what the fits carry. */
  open(view: RoundView): OpenedRound<S>;
  /** One message of this round (validated here); returns the session unchanged when it is refused or a duplicate. */
  receive(session: S, message: ActorMessage, view: RoundView): S;
  /** Everything is in (or the round cannot complete any more): aggregate now. */
  complete(session: S, view: RoundView): boolean;
  /** Called every retry interval while collecting: re-sends what may have been lost; returns the clients whose fit must go again. */
  retry(session: S, view: RoundView): { session: S; refit: readonly string[] };
  /** The round deadline passed: start a closing phase (e.g. ask the secure worker for what it has) and say how long to wait for it (0: none). */
  close(session: S, view: RoundView): { session: S; waitMs: number };
  /** The round's aggregate from what the session holds, or why the round is skipped. */
  aggregate(round: number, session: S, failures: readonly RoundFailure[], ctx: { rng: RandomStream; view: RoundView }): AggregationOutcome;
  /** Selected clients whose input did not make it, and why (for the round's failures list). */
  missing(session: S, view: RoundView): RoundFailure[];
  /** Inputs refused this round (late, unselected, duplicate, malformed …), for the round's report. */
  rejected(session: S): number;
  /**
   * How many clients' updates the server has taken this round, in a mode where it sees them
   * arrive (plain). The engine times the round's straggler wait by it and completes an
   * over-selected round at its target; a mode without it supports neither.
   */
  received?(session: S): number;
}

/** A setting that cannot work, with its field path (a scenario file points at its line). */
export interface SettingProblem {
  /** Field path in the run's settings, e.g. ['secagg', 'reconstructionThreshold']. */
  path: readonly PropertyKey[];
  /** What was expected, in words. */
  expected: string;
  /** What was found, when not simply the value at `path`. */
  found?: string;
}

/** `1 client`, `4 clients`. */
export const clientCountText = (n: number) => `${n} client${n === 1 ? '' : 's'}`;

/** `4 clients per round (fraction × clients, at least minClients)`: how a check names the round size. */
export const perRoundText = (n: number) => `${clientCountText(n)} per round (fraction × clients, at least minClients)`;

/** What a mode's settings are checked against before any run. */
export interface RunShape {
  /** Clients selected each round (fraction × clients, at least minClients). */
  clientsPerRound: number;
  /** The largest training set of any client, when known (runFederated knows it; a file check may not). */
  maxSamplesPerClient?: number;
}
