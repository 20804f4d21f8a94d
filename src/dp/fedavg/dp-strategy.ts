/**
 * DP-FedAvg's server half (McMahan, Ramage, Talwar, Zhang 2018, "Learning Differentially
 * Private Recurrent Language Models"; adaptive clipping: Andrew et al. 2021), as a Strategy
 * around the run's own (fedavg, fedavgm, fedadam, …), which then steps on the privatised
 * average exactly as it would on a plain one.
 *
 *   configure   Poisson sampling: each client independently with probability q, from the
 *               round's sampling stream (a round may draw nobody: it then releases noise
 *               alone); fixed: the inner strategy's own sampling. The round's C goes to the
 *               clients in FitIns.config.dp.
 *   aggregate   the clients' reports are weighted uniformly, so the aggregate's mean is
 *               w + (1/m) Σ_k Δ̃_k over the m contributors: the sum is m·(mean − w).
 *               central mode adds N(0, (z_Δ·C)²) per coordinate (from the round's aggregate
 *               stream); every mode divides by the fixed denominator — q·N under Poisson
 *               sampling (McMahan et al.'s unbiased estimator: a round's size is itself
 *               data), m under fixed-size sampling — and hands the inner strategy the
 *               aggregate w + Σ/D, with the loss withheld (NaN) and nothing else in it.
 *               Adaptive clipping then moves C (adaptive-clip.ts).
 *   stopBefore  the privacy budget: a round that would take ε above dp.budget.epsilon is
 *               not started, and the run ends there, complete.
 *   state       { inner, clip, ledger }: the inner strategy's state, the next round's C and
 *               the privacy ledger, all checkpointed with each round by the engine.
 *
 * Distributed mode (src/dp/distributed/): the clients noised their encoded updates inside
 * SecAgg+, so the aggregate already carries the noise and nothing is added here. Each round
 * is accounted from the noise actually in its sum (the aggregate's secureSum: how many
 * entered, of which the contributors survived), in two ledgers: the released model's
 * (amplified by Poisson sampling when every share reached the sum) and the server's (never
 * amplified: it knows who took part), stated side by side in the round's note. A skipped
 * round is accounted only if a sum may have been unmasked (SkippedRound.secureSum), at the
 * least noise it can have held; a round that released nothing costs nothing.
 *
 * Each round (committed or skipped) notes `dp` — ε so far and how the round was run — which
 * the engine writes to the event log as a `dp` mark and sends in the round's report.
 */
import type { ClientAlgorithm } from '../../fl/algorithms/client-algorithm.js';
import type { Weights } from '../../fl/models/weights.js';
import type { FitConfig } from '../../fl/rounds/fit.js';
import type { RoundAggregate } from '../../fl/rounds/round-aggregate.js';
import { SamplingStrategy, clientsToSample, compareIds } from '../../fl/strategies/strategy.js';
import type { FitPlan, RoundFailure, RoundNotes, SkippedRound, Strategy, StrategyContext, StrategyStep } from '../../fl/strategies/strategy.js';
import { withGaussianNoise } from '../noise.js';
import { FlInvariantError } from '../../fl/errors.js';
import type { DpEvent } from '../accounting/events.js';
import { distributedPlanFor } from '../distributed/fedavg.js';
import type { DistributedDpPlan } from '../distributed/plan.js';
import { distributedRoundPrivacy } from '../distributed/round-privacy.js';
import { nextClip } from './adaptive-clip.js';
import { DP_FIT_FIELD, UNCLIPPED_METRIC, dpClientAlgorithm } from './dp-client.js';
import { poissonSample } from './poisson-sampling.js';
import { type Ledger, type RoundAccounting, afterRound, afterRoundWith, emptyLedger, roundAccounting, spent, spentAfterOneMore } from './round-accounting.js';
import { type DpSettings, defaultCountStddev, expectedClientsPerRound, updateNoiseMultiplier } from './settings.js';

export interface DpState<S> {
  inner: S;
  /** C for the next round. */
  clip: number;
  ledger: Ledger;
  /** Distributed mode: the ledger against the server (no amplification by sampling). */
  serverLedger?: Ledger;
}

/** What a distributed-DP round's note adds: the noise that was in it, and ε against the server. */
export interface DistributedRoundNote {
  /** Clients that entered the SecAgg+ sum (each drew V/n) and those whose input reached it. */
  participants?: number;
  survivors?: number;
  /** Whether this round's released-model ε was amplified by sampling (every share in, Poisson sampling). */
  amplified?: boolean;
  /** ε against the server so far, at the same δ. */
  epsilonAgainstServer: number;
  bits: number;
  scale: number;
}

/** What a round's `dp` note (and mark) says. */
export type DpRoundNote = {
  /** ε spent so far (this round included), at `delta`. */
  epsilon: number;
  delta: number;
  /** The Rényi order that gave ε. */
  order?: number;
  accountant: string;
  mode: DpSettings['mode'];
  sampling: DpSettings['sampling'];
  /** q (Poisson) or m/N (fixed). */
  samplingRate: number;
  /** z, the multiplier accounted. */
  noiseMultiplier: number;
  /** z_Δ, the multiplier of the update's noise (above z under adaptive clipping). */
  updateNoiseMultiplier: number;
  /** C this round was clipped at. */
  clip: number;
  /** Adaptive clipping: the noised fraction of updates within C, and the next round's C. */
  unclippedFraction?: number;
  nextClip?: number;
  /** Rounds accounted so far. */
  rounds: number;
  skipped?: true;
  /** Distributed mode only. */
  distributed?: DistributedRoundNote;
};

const round6 = (x: number) => Number(x.toPrecision(6));

export class DpFedAvg<S> implements Strategy<DpState<S>> {
  readonly name: string;
  readonly needs = 'sum' as const;
  readonly client: ClientAlgorithm<any>;
  readonly acceptsEmptyRounds: boolean;
  readonly evaluate?: Strategy<S>['evaluate'];
  /** q: each client's probability of taking part (Poisson), or the fraction sampled (fixed). */
  readonly samplingRate: number;
  /** z_Δ: the update noise's multiplier (z, or more under adaptive clipping). */
  readonly updateNoiseMultiplier: number;
  /** σ_b (adaptive clipping only). */
  readonly countStddev?: number;
  readonly accounting: RoundAccounting;

  /** Distributed mode: the run's plan, made once the model's size is known (the same the SecAgg+ aggregator makes). */
  private plan: DistributedDpPlan | undefined;

  constructor(
    readonly inner: Strategy<S>,
    readonly settings: DpSettings,
    /** N, the clients of the run. */
    readonly clients: number,
    /** The run's rounds (distributed mode: its overflow bound covers them). */
    readonly rounds = 1,
  ) {
    this.name = `dp-${inner.name}`;
    const fraction = inner instanceof SamplingStrategy ? inner.fraction : 1;
    this.samplingRate = settings.sampling === 'poisson' ? fraction : clientsToSample(fraction, clients, inner instanceof SamplingStrategy ? Math.min(inner.minClients, clients) : 1) / clients;
    this.acceptsEmptyRounds = settings.sampling === 'poisson';
    if (settings.adaptiveClip) {
      this.countStddev = settings.adaptiveClip.countStddev ?? defaultCountStddev(expectedClientsPerRound(settings, fraction, clients));
      this.updateNoiseMultiplier = updateNoiseMultiplier(settings.noiseMultiplier, this.countStddev);
    } else this.updateNoiseMultiplier = settings.noiseMultiplier;
    this.accounting = roundAccounting(settings, this.samplingRate);
    this.client = dpClientAlgorithm(inner.client, { mode: settings.mode, noiseMultiplier: settings.noiseMultiplier, reportUnclipped: settings.adaptiveClip !== undefined });
    if (inner.evaluate) this.evaluate = (round, weights) => inner.evaluate!(round, weights);
  }

  initialState(weights: Weights): DpState<S> {
    const ledger = emptyLedger(this.settings, this.accounting);
    return { inner: this.inner.initialState(weights), clip: this.settings.clip, ledger, ...(this.settings.mode === 'distributed' ? { serverLedger: ledger } : {}) };
  }

  /** Distributed mode: the plan for a model of this layout (computed once: a pure function of the settings and the run). */
  private distributedPlan(weights: Weights): DistributedDpPlan {
    this.plan ??= distributedPlanFor(this.settings, { length: weights.reduce((n, w) => n + w.length, 0), clients: this.clients, rounds: this.rounds });
    return this.plan;
  }

  /** How a round is accounted; in distributed mode with the plan, so that the budget check sees the full-participation round. */
  private accountingFor(weights: Weights): RoundAccounting {
    return this.settings.mode === 'distributed' ? roundAccounting(this.settings, this.samplingRate, this.distributedPlan(weights)) : this.accounting;
  }

  /** Distributed mode: the two events of a round with `participants` in the sum and `survivors` reaching it (amplified only if `sampled`). */
  private distributedEvents(weights: Weights, participants: number, survivors: number, sampled: boolean): { released: DpEvent; server: DpEvent; amplified: boolean } {
    const poisson = sampled && this.settings.sampling === 'poisson';
    return distributedRoundPrivacy(this.distributedPlan(weights), { participants, survivors, ...(poisson ? { samplingRate: this.samplingRate } : {}) });
  }

  expectedClientsPerRound(available: number): number {
    return this.settings.sampling === 'poisson' ? Math.max(1, Math.round(this.samplingRate * available)) : Math.round(this.samplingRate * available);
  }

  roundSizeProblem(clientsPerRound: number) {
    return this.inner.roundSizeProblem?.(clientsPerRound);
  }

  stopBefore(round: number, ctx: StrategyContext<DpState<S>>): string | undefined {
    const budget = this.settings.budget?.epsilon;
    if (budget === undefined) return undefined;
    const { delta } = this.settings;
    const next = spentAfterOneMore(ctx.state.ledger, this.accountingFor(ctx.weights), delta).epsilon;
    if (next <= budget) return undefined;
    const now = spent(ctx.state.ledger, delta).epsilon;
    return `privacy budget: round ${round} would take ε to ${round6(next)}, above dp.budget.epsilon ${budget} at δ = ${delta} (ε = ${round6(now)} after ${ctx.state.ledger.rounds} round${ctx.state.ledger.rounds === 1 ? '' : 's'})`;
  }

  configure(round: number, availableClients: readonly string[], ctx: StrategyContext<DpState<S>>): FitPlan {
    const innerCtx = { ...ctx, state: ctx.state.inner };
    let clients: string[];
    let config: Partial<FitConfig>;
    if (this.settings.sampling === 'poisson') {
      // Drawn first, one draw per client; the inner strategy is asked only for its FitIns fields (its selection is not used).
      clients = poissonSample(availableClients, this.samplingRate, ctx.rng);
      config = this.inner.configure(round, availableClients, innerCtx).config;
    } else {
      ({ clients, config } = this.inner.configure(round, availableClients, innerCtx));
    }
    return { clients, config: { ...config, [DP_FIT_FIELD]: { clip: ctx.state.clip } } };
  }

  aggregate(round: number, results: RoundAggregate, failures: readonly RoundFailure[], ctx: StrategyContext<DpState<S>>): StrategyStep<DpState<S>> {
    const { settings } = this;
    const clip = ctx.state.clip;
    const m = results.contributors.length;
    const w = ctx.weights;
    // Uniform weights: mean = w + (1/m)·ΣΔ̃, so the sum of the (clipped, maybe noised) updates is m·(mean − w).
    const sum = results.weights.map((mean, l) => {
      const out = new Float64Array(mean.length);
      for (let j = 0; j < out.length; j++) out[j] = m * (mean[j] - w[l][j]);
      return out;
    });
    const noised = settings.mode === 'central' ? withGaussianNoise(sum, this.updateNoiseMultiplier * clip, ctx.rng) : sum;
    const denominator = settings.sampling === 'poisson' ? this.samplingRate * this.clients : m;
    const privatised: RoundAggregate = {
      round,
      contributors: results.contributors,
      numSamples: 0,
      loss: NaN,
      weights: noised.map((s, l) => {
        const out = new Float64Array(s.length);
        for (let j = 0; j < out.length; j++) out[j] = w[l][j] + s[j] / denominator;
        return out;
      }),
      extras: {},
      metrics: {},
    };
    const step = this.inner.aggregate(round, privatised, failures, { ...ctx, state: ctx.state.inner });
    let nextState: DpState<S>;
    let distributed: Partial<DistributedRoundNote> = {};
    if (settings.mode === 'distributed') {
      // Nobody sampled: no SecAgg+ round, nothing released, nothing to account.
      let released: DpEvent | null = null;
      let server: DpEvent | null = null;
      if (m > 0) {
        if (!results.secureSum) throw new FlInvariantError(`${this.name} round ${round}: dp.mode 'distributed' got an aggregate without its secure-sum participant count; it needs aggregation secagg+`, { round });
        const events = this.distributedEvents(ctx.weights, results.secureSum.participants, m, true);
        ({ released, server } = events);
        distributed = { participants: results.secureSum.participants, survivors: m, amplified: events.amplified };
      }
      nextState = { inner: step.state, clip, ledger: afterRoundWith(ctx.state.ledger, released), serverLedger: afterRoundWith(ctx.state.serverLedger ?? ctx.state.ledger, server) };
    } else nextState = { inner: step.state, clip, ledger: afterRound(ctx.state.ledger, this.accounting, selectedOf(results, failures)) };
    let adaptive: Pick<DpRoundNote, 'unclippedFraction' | 'nextClip'> = {};
    if (settings.adaptiveClip) {
      // Drawn after the update's noise, from the same stream: Σ b_k = m × the mean bit.
      const unclipped = Math.round(m * (results.metrics[UNCLIPPED_METRIC] ?? 0));
      const moved = nextClip({ clip, ...settings.adaptiveClip, countStddev: this.countStddev! }, unclipped, m, denominator, ctx.rng);
      nextState = { ...nextState, clip: moved.clip };
      adaptive = { unclippedFraction: round6(moved.unclippedFraction), nextClip: moved.clip };
    }
    return { weights: step.weights, state: nextState, notes: this.notes(nextState, clip, { ...adaptive, ...this.distributedNote(nextState, ctx.weights, distributed) }) };
  }

  afterSkip(_round: number, skipped: SkippedRound, ctx: StrategyContext<DpState<S>>): { state: DpState<S>; notes: RoundNotes } {
    if (this.settings.mode === 'distributed') {
      // Only a sum that may have been unmasked costs privacy: at the least noise it can have held, without amplification (the premise fails with dropouts).
      const events = skipped.secureSum ? this.distributedEvents(ctx.weights, skipped.secureSum.participants, skipped.secureSum.minSurvivors, false) : null;
      const state = {
        ...ctx.state,
        ledger: afterRoundWith(ctx.state.ledger, events?.released ?? null),
        serverLedger: afterRoundWith(ctx.state.serverLedger ?? ctx.state.ledger, events?.server ?? null),
      };
      const distributed = skipped.secureSum ? { participants: skipped.secureSum.participants, survivors: skipped.secureSum.minSurvivors, amplified: false } : {};
      return { state, notes: this.notes(state, ctx.state.clip, { skipped: true, ...this.distributedNote(state, ctx.weights, distributed) }) };
    }
    const state = { ...ctx.state, ledger: afterRound(ctx.state.ledger, this.accounting, skipped.selected) };
    return { state, notes: this.notes(state, ctx.state.clip, { skipped: true }) };
  }

  /** Distributed mode: the note's `distributed` part (ε against the server, the ring); nothing otherwise. */
  private distributedNote(state: DpState<S>, weights: Weights, round: Partial<DistributedRoundNote>): Partial<DpRoundNote> {
    if (this.settings.mode !== 'distributed') return {};
    const plan = this.distributedPlan(weights);
    const server = spent(state.serverLedger ?? state.ledger, this.settings.delta);
    return { distributed: { ...round, epsilonAgainstServer: server.epsilon, bits: plan.bits, scale: plan.scale } };
  }

  private notes(state: DpState<S>, clip: number, extra: Partial<DpRoundNote>): RoundNotes {
    const ledger = state.ledger;
    const privacy = spent(ledger, this.settings.delta);
    const note: DpRoundNote = {
      epsilon: privacy.epsilon,
      delta: privacy.delta,
      ...(privacy.order !== undefined ? { order: privacy.order } : {}),
      accountant: privacy.accountant,
      mode: this.settings.mode,
      sampling: this.settings.sampling,
      samplingRate: this.samplingRate,
      noiseMultiplier: this.settings.noiseMultiplier,
      updateNoiseMultiplier: this.updateNoiseMultiplier,
      clip,
      rounds: ledger.rounds,
      ...extra,
    };
    return { dp: note };
  }
}

/** The clients a round asked to train: the contributors and those that fell out. */
function selectedOf(results: RoundAggregate, failures: readonly RoundFailure[]): string[] {
  return [...new Set([...results.contributors, ...failures.map((f) => f.clientId)])].sort(compareIds);
}
