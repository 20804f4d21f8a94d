/**
 * The asynchronous server's input, context and durable checkpoint.
 *
 * Model version v counts server updates (v = 0: the initial model). Each dispatch — one fit
 * sent to one client — gets the next number of a counter that only grows, and the client
 * treats that number as its round (client-fit.ts keeps one answer per round: a repeated fit
 * is answered from storage, an older one ignored). The staleness of an update is
 * s = v_now − v_at_dispatch.
 *
 * The checkpoint is everything the server knows, written in the same turn as every change
 * (a dispatch, an accepted or refused update, a timeout, a server update): so a server that
 * crashes and loses its memory resumes exactly where it was — the same outstanding
 * dispatches (their fits are re-sent and answered from the clients' storage), the same
 * buffer, the same counter (a dispatch number is never given twice), the same model.
 */
import type { ActorIO } from '../../runtime/actor-cell.js';
import type { ActorId } from '../../runtime/envelope.js';
import type { Held } from '../fedavg/held.js';
import type { ModelWorkspace } from '../fedavg/workspace.js';
import type { ModelSpec } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import type { DevicePopulation } from '../devices/population.js';
import type { FailureSummary, RoundSummary, RunOutcome } from '../rounds/protocol.js';
import type { Dataset } from '../training/dataset.js';
import type { TrainConfig } from '../training/train-local.js';
import type { AsyncPlan } from './async-settings.js';
import type { BufferedUpdate } from './fedbuff.js';

export interface AsyncServerInput {
  io: ActorIO;
  /** Every client of the run, sorted (compareIds): a client's index is its position here. */
  clients: string[];
  plan: AsyncPlan;
  spec: ModelSpec;
  initialWeights: Held<Weights>;
  trainConfig: TrainConfig;
  maxSamplesPerClient: number;
  testSet?: Held<Dataset>;
  workspace: ModelWorkspace;
  /** When given, only clients online now are dispatched to. */
  devices?: DevicePopulation;
  controlRetryMs: number;
  controlAttempts: number;
}

/** A fit out at a client, waiting for its update. */
export interface Dispatch {
  number: number;
  client: string;
  /** The model version it carries. */
  version: number;
  sentAt: number;
  /** Given up when no update has arrived by then. */
  deadline: number;
  /** Ids of its fl/fit messages (the first and each retry), so an error reply finds its dispatch. */
  fitIds: string[];
}

/** What happened since the last server update (reported with the next one). */
export interface SinceUpdate {
  startedAt: number;
  failures: FailureSummary[];
  rejected: number;
  /** lastDispatch when the last server update was made: the fits dispatched since are lastDispatch − this. */
  lastDispatchBefore: number;
}

/** Everything the server keeps (the checkpoint holds exactly this). */
export interface AsyncState {
  status: 'idle' | 'running' | 'done' | 'failed';
  run: { runId: string; requester: ActorId } | null;
  version: number;
  weights: Weights;
  /** The models outstanding dispatches carry, by version (FedBuff's deltas are taken against them). */
  models: Readonly<Record<number, Weights>>;
  /** The last dispatch number given (the next is one more). */
  lastDispatch: number;
  /** By dispatch number. */
  outstanding: Readonly<Record<number, Dispatch>>;
  buffer: readonly BufferedUpdate[];
  /** Client updates accepted so far. */
  accepted: number;
  /** Virtual time of the last accepted update (or of the start): the stall timeout counts from it. */
  lastProgressAt: number;
  since: SinceUpdate;
  history: RoundSummary[];
  failure: RunOutcome['failure'] | null;
  acked: boolean;
}

export interface AsyncContext extends AsyncServerInput {
  /** Boxed: xstate's snapshot walk must not visit the weights (see held.ts). */
  state: Held<AsyncState>;
  resultSends: number;
}

export const ASYNC_CHECKPOINT_KEY = 'fl/async-checkpoint';

export function initialAsyncState(input: AsyncServerInput): AsyncState {
  return {
    status: 'idle',
    run: null,
    version: 0,
    weights: input.initialWeights.value,
    models: {},
    lastDispatch: 0,
    outstanding: {},
    buffer: [],
    accepted: 0,
    lastProgressAt: 0,
    since: { startedAt: 0, failures: [], rejected: 0, lastDispatchBefore: 0 },
    history: [],
    failure: null,
    acked: false,
  };
}

export function saveAsyncCheckpoint(io: ActorIO, state: AsyncState): void {
  io.storage.set(ASYNC_CHECKPOINT_KEY, state);
}

export const whereAsync = (ctx: AsyncContext) => `server '${ctx.io.id}' (model version ${ctx.state.value.version})`;
