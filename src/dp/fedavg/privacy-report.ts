/**
 * What a DP-FedAvg run says about its privacy, read from its rounds' `dp` notes: ε per
 * round (ε so far after each round) and the run's whole privacy statement — for
 * results.json, stdout and report.html.
 */
import { DEFAULT_ORDERS } from '../accounting/accountant.js';
import type { DpRoundNote } from './dp-strategy.js';
import { roundAccounting } from './round-accounting.js';
import type { DpSettings } from './settings.js';

/** A round's `dp` note, if it has one. */
export function dpNoteOf(round: { notes?: Readonly<Record<string, unknown>> }): DpRoundNote | undefined {
  return round.notes?.dp as DpRoundNote | undefined;
}

export interface PrivacyStatement {
  /** ε spent by the whole run at δ (0 when no round ran). */
  epsilon: number;
  delta: number;
  accountant: DpSettings['accountant'];
  /** The Rényi order that gave ε. */
  order?: number;
  /** The orders the accountant minimised over. */
  orders: { min: number; max: number; count: number };
  mode: DpSettings['mode'];
  sampling: DpSettings['sampling'];
  /** q (Poisson) or m/N (fixed). */
  samplingRate?: number;
  noiseMultiplier: number;
  /** The update noise's multiplier (above noiseMultiplier under adaptive clipping). */
  updateNoiseMultiplier?: number;
  /** C of the first round, and of the last (they differ under adaptive clipping). */
  clip: number;
  finalClip: number;
  adaptiveClip: boolean;
  /** Rounds accounted (every configured round, committed or skipped). */
  rounds: number;
  adjacency: string;
  /** Whose privacy ε is. */
  covers: string;
  budget?: number;
  /** Why the run ended early, if its budget did it. */
  stopReason?: string;
  /** What ε does not cover. */
  notCovered: string;
  /** dp.mode 'distributed': ε against the server (no amplification by sampling), and the ring the noise was added in. */
  distributed?: { epsilonAgainstServer: number; bits: number; scale: number };
}

/** The run's privacy statement from its settings and its rounds (in round order). */
export function privacyStatement(settings: DpSettings, rounds: readonly { round: number; notes?: Readonly<Record<string, unknown>> }[], stopReason?: string): PrivacyStatement {
  const notes = rounds.map(dpNoteOf).filter((n): n is DpRoundNote => n !== undefined);
  const last = notes.at(-1);
  const accounting = roundAccounting(settings, last?.samplingRate ?? 1);
  return {
    epsilon: last?.epsilon ?? 0,
    delta: settings.delta,
    accountant: settings.accountant,
    ...(last?.order !== undefined ? { order: last.order } : {}),
    orders: { min: DEFAULT_ORDERS[0], max: DEFAULT_ORDERS[DEFAULT_ORDERS.length - 1], count: DEFAULT_ORDERS.length },
    mode: settings.mode,
    sampling: settings.sampling,
    ...(last ? { samplingRate: last.samplingRate, updateNoiseMultiplier: last.updateNoiseMultiplier } : {}),
    noiseMultiplier: settings.noiseMultiplier,
    clip: notes[0]?.clip ?? settings.clip,
    finalClip: last ? (last.nextClip ?? last.clip) : settings.clip,
    adaptiveClip: settings.adaptiveClip !== undefined,
    rounds: last?.rounds ?? 0,
    adjacency: accounting.adjacency,
    covers: accounting.covers,
    ...(settings.budget ? { budget: settings.budget.epsilon } : {}),
    ...(stopReason ? { stopReason } : {}),
    notCovered:
      'evaluations on client data (clientEvaluation, trainEvaluation) are computed outside the mechanism and are not covered: use clientEvaluation: none and a server test set for a private run',
    ...(last?.distributed ? { distributed: { epsilonAgainstServer: last.distributed.epsilonAgainstServer, bits: last.distributed.bits, scale: last.distributed.scale } } : {}),
  };
}

const short = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

/** `privacy: ε = 2.31 at δ = 1e-5 (rdp, order 12), 20 rounds, mode central, z = 1.1, C = 0.8`. */
export function privacyLine(p: PrivacyStatement): string {
  const order = p.order !== undefined ? `, order ${short(p.order)}` : '';
  const clip = p.adaptiveClip ? `C = ${short(p.clip)} → ${short(p.finalClip)} (adaptive)` : `C = ${short(p.clip)}`;
  const z = p.updateNoiseMultiplier !== undefined && p.updateNoiseMultiplier !== p.noiseMultiplier ? `z = ${short(p.noiseMultiplier)} (update ${short(p.updateNoiseMultiplier)})` : `z = ${short(p.noiseMultiplier)}`;
  const q = p.samplingRate !== undefined ? `, ${p.sampling} sampling q = ${short(p.samplingRate)}` : `, ${p.sampling} sampling`;
  const server = p.distributed ? ` (against the server: ε = ${short(p.distributed.epsilonAgainstServer)}; Skellam noise in Z_2^${p.distributed.bits}, scale ${short(p.distributed.scale)})` : '';
  return `privacy: ε = ${short(p.epsilon)} at δ = ${p.delta} (${p.accountant}${order})${server}, ${p.rounds} round${p.rounds === 1 ? '' : 's'}, mode ${p.mode}, ${z}, ${clip}${q}; ${p.covers}, ${p.adjacency}`;
}
