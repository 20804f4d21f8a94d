/**
 * A client's own account of the privacy its DP-SGD training has spent, kept where the
 * client keeps what it knows: its durable storage, and a `dp-sgd` mark in the event log for
 * every round it trained.
 *
 * A client's ε is private to it in the sense that matters here: it depends on the client's
 * n_k and on which rounds it trained, and a per-client figure must not travel through the
 * FitRes metrics (they are averaged, and under secure aggregation summed blind). So the
 * client accounts for itself, and the run reads the marks afterwards (privacy-ledger.ts)
 * to state the worst client's ε.
 *
 * Each round the client trains composes T = E·⌈n/B⌉ Poisson-sampled Gaussian steps with
 * q = min(1, B/n_k) onto its accountant. A round already accounted is not composed again:
 * training a round again (after a crash that lost the stored answer) draws the same batches
 * and the same noise from the round's stream, so it releases the same update — no new
 * privacy spent. A crash with loseStorage also loses the stored account; the marks stay
 * in the log, which is why the run's figure comes from them, not from the clients' storage.
 */
import { PrivacyAccountant } from '../../../dp/accounting/accountant.js';
import type { DpEvent } from '../../../dp/accounting/events.js';
import type { DurableStorage } from '../../../runtime/durable-storage.js';
import type { DpSgdSpend } from './train-dp-sgd.js';

/** The label of the mark a client records after each round it trained with DP-SGD. */
export const DP_SGD_MARK = 'dp-sgd';

/** Where a client keeps its DP-SGD account (durable storage key). */
export const DP_SGD_ACCOUNT_KEY = 'fl/dp-sgd/account';

/** One accounted round: its mechanism, T steps of the Poisson-sampled Gaussian (σ = 0: no noise, no bound). */
export interface AccountedRound {
  round: number;
  samplingRate: number;
  noiseMultiplier: number;
  steps: number;
}

/** What a client stores: the rounds it accounted, in the order it trained them. */
interface StoredAccount {
  rounds: AccountedRound[];
}

/** The mark's data: the round's mechanism, and the client's ε after it (absent when unbounded). */
export interface DpSgdMarkData {
  round: number;
  samplingRate: number;
  noiseMultiplier: number;
  steps: number;
  clip: number;
  examples: number;
  delta: number;
  /** ε at δ after every round this client has accounted (absent: no privacy, σ = 0 in some round). */
  epsilon?: number;
}

/** The accountant's event for one DP-SGD step (σ > 0). */
export function dpSgdStepEvent(spend: Pick<DpSgdSpend, 'samplingRate' | 'noiseMultiplier'>): DpEvent {
  return { kind: 'poisson-sampled-gaussian', samplingRate: spend.samplingRate, noiseMultiplier: spend.noiseMultiplier };
}

/**
 * An empty accountant sharing one cache of RDP curves with every other made here (clones
 * share their curves: they are pure functions of the event). A curve of the Poisson-sampled
 * Gaussian costs 0.1–0.6 s to compute; every client, every round, and the run's ledger ask
 * for the same few (one per client's q), so each is computed once per process.
 */
const SHARED_CURVES = new PrivacyAccountant();
export function newAccountant(): PrivacyAccountant {
  return SHARED_CURVES.clone();
}

/** ε at δ after `rounds` (Infinity if one had σ = 0; 0 for none). */
export function epsilonOfRounds(rounds: readonly AccountedRound[], delta: number): number {
  if (rounds.some((r) => r.noiseMultiplier === 0)) return Infinity;
  if (rounds.length === 0) return 0;
  const accountant = newAccountant();
  for (const r of rounds) accountant.compose(dpSgdStepEvent(r), r.steps);
  return accountant.epsilon(delta).epsilon;
}

/** What a client needs to record: its storage and, when it runs in a simulation, the log. */
export interface PrivacyRecorder {
  readonly storage: DurableStorage;
  mark?(label: string, data?: Record<string, unknown>): void;
}

/**
 * Composes round `round`'s spend onto the client's account (unless that round is already
 * accounted), stores it, and marks the log. Returns the client's ε after it (Infinity when
 * some round had σ = 0).
 */
export function recordDpSgdRound(client: PrivacyRecorder, round: number, spend: DpSgdSpend): number {
  const stored = client.storage.get<StoredAccount>(DP_SGD_ACCOUNT_KEY) ?? { rounds: [] };
  let rounds = stored.rounds;
  if (!rounds.some((r) => r.round === round)) {
    rounds = [...rounds, { round, samplingRate: spend.samplingRate, noiseMultiplier: spend.noiseMultiplier, steps: spend.steps }];
    client.storage.set(DP_SGD_ACCOUNT_KEY, { rounds } satisfies StoredAccount);
  }
  const epsilon = epsilonOfRounds(rounds, spend.delta);
  const data: DpSgdMarkData = {
    round,
    samplingRate: spend.samplingRate,
    noiseMultiplier: spend.noiseMultiplier,
    steps: spend.steps,
    clip: spend.clip,
    examples: spend.examples,
    delta: spend.delta,
    ...(Number.isFinite(epsilon) ? { epsilon } : {}),
  };
  client.mark?.(DP_SGD_MARK, data as unknown as Record<string, unknown>);
  return epsilon;
}
