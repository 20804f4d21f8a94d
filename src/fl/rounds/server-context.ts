/**
 * The round engine's server: its input, its context, and the checkpoint it keeps in
 * durable storage.
 *
 * The checkpoint is written with every committed round (in the same turn, so it never
 * disagrees with what was reported): the run's id and requester, the last committed
 * round, the global model, the strategy's state, the history, and per client the last
 * round whose aggregate included it (what the fits of a stateful algorithm confirm to its
 * clients, see client-fit.ts: it must survive a crash with the state it explains). A server that crashes and
 * loses its memory restarts from it — the round it was in is redone from the start with
 * the same selection (a per-round stream), and the clients answer from what they stored,
 * so the redone round gives the very same model.
 */
import type { ActorIO } from '../../runtime/actor-cell.js';
import type { ActorId } from '../../runtime/envelope.js';
import { type Held, hold } from '../fedavg/held.js';
import type { ModelWorkspace } from '../fedavg/workspace.js';
import type { ModelSpec } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import type { RoundFailure, Strategy } from '../strategies/strategy.js';
import type { Dataset } from '../training/dataset.js';
import type { TrainConfig } from '../training/train-local.js';
import type { Aggregator } from './aggregator.js';
import type { FitConfig } from './fit.js';
import { type ClientPool, sortedIdsPool } from './client-pool.js';
import type { RoundSummary, RunOutcome, RunStop } from './protocol.js';
import type { DevicePopulation } from '../devices/population.js';
import type { RoundPolicy } from './round-policy.js';

/** Timing of the engine, in virtual ms. */
export interface EngineTiming {
  /** A round closes this long after its fits went out, without the clients still missing. */
  roundDeadlineMs: number;
  /** While a round collects, lost fits and reports are retried this often. */
  fitRetryMs: number;
  /** Control messages (the run's result, a helper's close) are retried this often… */
  controlRetryMs: number;
  /** …this many times at most. */
  controlAttempts: number;
}

export interface EngineInput {
  io: ActorIO;
  /** Every client of the run, sorted. */
  clients: string[];
  strategy: Strategy<any>;
  aggregator: Aggregator<any>;
  rounds: number;
  spec: ModelSpec;
  initialWeights: Held<Weights>;
  /** Base training settings; the strategy's FitIns config is laid over them each round. */
  trainConfig: TrainConfig;
  timing: EngineTiming;
  /** The largest training set of any client: no report may claim more samples. */
  maxSamplesPerClient: number;
  /** Central test set evaluated after each round (unless the strategy evaluates). */
  testSet?: Held<Dataset>;
  workspace: ModelWorkspace;
  /**
   * The run's devices, by index in `clients`: with availability, a round selects among the
   * clients online at its start, and a missing client the trace had offline is reported so.
   */
  devices?: DevicePopulation;
  /** Over-selection and minimum participation (round-policy.ts). */
  policy?: RoundPolicy;
}

export interface RunRecord {
  runId: string;
  requester: ActorId;
}

/** What survives between rounds: the last committed (or skipped) round and what it left. */
export interface Committed {
  round: number;
  weights: Held<Weights>;
  state: Held<unknown>;
  history: Held<RoundSummary[]>;
  /** Per client, the last round whose committed aggregate included its report (absent: none yet). */
  lastIncluded: Held<Readonly<Record<string, number>>>;
}

/** The round being collected. */
export interface OpenRound {
  round: number;
  selected: string[];
  startedAt: number;
  config: FitConfig;
  report?: Record<string, unknown>;
  session: Held<unknown>;
  /** Ids of the fits sent this round, with their client, so an error reply can be traced to its client. */
  fits: Record<string, string>;
  refused: Record<string, RoundFailure>;
  /** Inputs the engine itself refused this round. */
  rejected: number;
  /** When the closing phase gives up waiting (null before the deadline). */
  closeUntil: number | null;
  /** Set when the round cannot run at all (no fit sent). */
  skip?: string;
  /** Set when the strategy selected nobody (Strategy.acceptsEmptyRounds): no fit is sent, no aggregator is opened. */
  empty?: true;
  /**
   * With `skip`: the round cannot run (too few clients online at its start), yet it lasts
   * until its deadline, so virtual time moves on and a later round may find clients online
   * (rounds skipped at once would all fall on the same instant of the trace).
   */
  waitOut?: true;
  /** Over-selection: the K the strategy asked for; the round completes with K updates. */
  target?: number;
  /** When the first update reached the server (aggregators that count them, see Aggregator.received). */
  firstUpdateAt?: number;
  /** Set when the round's deadline closed it. */
  deadlineClosed?: true;
}

export type RunStatus = 'idle' | 'running' | 'done' | 'failed';

export interface EngineContext extends EngineInput {
  /** The clients a round selects from when every client is always available (rounds/client-pool.ts). */
  pool: ClientPool;
  /**
   * On devices: clients a round gave up on (over-selected, past the deadline) that are still
   * training its fit, with the virtual time until which they count as busy. A device trains one
   * fit at a time, so selecting one again would only queue the new fit behind the abandoned one.
   * An entry ends when any message from the client arrives (its late update), when its trace
   * takes it offline (its work is lost), or at that time (an update lost on the way). Not
   * checkpointed: a restarted server forgets it, and a busy client selected again is a late one.
   */
  working: Held<Readonly<Record<string, number>>>;
  status: RunStatus;
  run: RunRecord | null;
  committed: Committed;
  open: OpenRound | null;
  failure: RunOutcome['failure'] | null;
  /** Set when the strategy ended the run early (Strategy.stopBefore). */
  stopped: RunStop | null;
  /** How many times the result went out, and whether the requester acknowledged it. */
  resultSends: number;
  acked: boolean;
}

/** The durable checkpoint (see the file comment). */
export interface Checkpoint {
  status: RunStatus;
  run: RunRecord | null;
  round: number;
  weights: Weights;
  state: unknown;
  history: RoundSummary[];
  lastIncluded: Readonly<Record<string, number>>;
  failure: RunOutcome['failure'] | null;
  /** Absent in a checkpoint of a run that was not stopped. */
  stopped?: RunStop | null;
  acked: boolean;
}

export const CHECKPOINT_KEY = 'fl/checkpoint';

export function initialContext(input: EngineInput): EngineContext {
  const saved = input.io.storage.get<Checkpoint>(CHECKPOINT_KEY);
  if (saved) {
    return {
      ...input,
      pool: sortedIdsPool(input.clients),
      working: hold({}),
      status: saved.status,
      run: saved.run,
      committed: { round: saved.round, weights: hold(saved.weights), state: hold(saved.state), history: hold(saved.history), lastIncluded: hold(saved.lastIncluded) },
      open: null,
      failure: saved.failure,
      stopped: saved.stopped ?? null,
      resultSends: 0,
      acked: saved.acked,
    };
  }
  const weights = input.initialWeights.value;
  return {
    ...input,
    pool: sortedIdsPool(input.clients),
    working: hold({}),
    status: 'idle',
    run: null,
    committed: { round: 0, weights: input.initialWeights, state: hold(input.strategy.initialState(weights)), history: hold([]), lastIncluded: hold({}) },
    open: null,
    failure: null,
    stopped: null,
    resultSends: 0,
    acked: false,
  };
}

/** Writes the checkpoint of `ctx` (call with the context as it will be after the turn). */
export function saveCheckpoint(ctx: EngineContext): void {
  const checkpoint: Checkpoint = {
    status: ctx.status,
    run: ctx.run,
    round: ctx.committed.round,
    weights: ctx.committed.weights.value,
    state: ctx.committed.state.value,
    history: ctx.committed.history.value,
    lastIncluded: ctx.committed.lastIncluded.value,
    failure: ctx.failure,
    stopped: ctx.stopped,
    acked: ctx.acked,
  };
  ctx.io.storage.set(CHECKPOINT_KEY, checkpoint);
}

export const where = (ctx: EngineContext) => `server '${ctx.io.id}' (round ${ctx.open?.round ?? ctx.committed.round})`;
