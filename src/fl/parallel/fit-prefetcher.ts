/**
 * FitPrefetcher: starts each client's training in a worker thread as soon as its fit is
 * SENT, so that when the fit is DELIVERED (later in virtual time; a round's fits all leave
 * in one step) the client takes the result instead of training (rounds/local-update.ts).
 *
 * It guesses nothing that matters: a training is sent off with what the client would train
 * from if the fit were delivered now — its data, the FitIns, its algorithm state as
 * client-fit.ts fitState reads it — and is taken only when the delivered fit and the state
 * the client settles on then have the same digest. Anything that changed in between (a
 * crash that lost the client's storage, a newer fit, a state confirmed meanwhile), a fit
 * that never arrives (dropped, the client crashed, its device went offline), a duplicate,
 * a worker that failed: the client trains inline, exactly as without workers, and meets
 * the same result or the same error. So the event log and the weights are the same with
 * any number of threads. Only fits the worker can train exactly as the client would are
 * sent off: the direct trainer (not localTrainer 'plan'), and an algorithm whose training
 * hooks a worker can rebuild (worker-algorithms.ts).
 *
 * Memory: one entry per client (its newest fit), forgotten when taken, when its fit is
 * dropped (the client crashed, a partition…) or when a newer fit replaces it; at most
 * `window` trainings are in the threads or done and not yet taken (each holds a model's
 * weights), the others wait, as references to the fit, until one is taken.
 */
import type { Subscription } from 'rxjs';
import { canonicalJson, sha256Hex } from '../../runtime/canonical.js';
import type { Envelope } from '../../runtime/envelope.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import { fitState, includedRoundProblem, storedAnswer } from '../rounds/client-fit.js';
import { type FitIns, FitInsSchema } from '../rounds/fit.js';
import type { LocalTrainer, PretrainedFits } from '../rounds/local-update.js';
import { FL } from '../rounds/protocol.js';
import type { TrainResult } from '../training/train-local.js';
import type { TrainingPool } from './training-pool.js';
import type { TrainingTask } from './training-task.js';
import { isDeviceOnline } from '../devices/client-device.js';
import { hooksNameOf } from './worker-algorithms.js';
import { datasetId, weightsKey } from './content-keys.js';

interface Entry {
  /** Digest of what the training depends on (trainingKey). */
  key: string;
  /** The fit's message id (its 'dropped' event names it). */
  msg: string;
  /** The job, until it is sent to the pool. */
  job: TrainingTask | undefined;
  /** The pool's task id, once sent. */
  task: number | undefined;
}

/**
 * Everything a fit's training depends on besides the client (its data, spec and seed are fixed
 * for a run). The weights enter by their digest, which is memoised per round (content-keys.ts):
 * hashing them for every client, at sending and again at delivery, was a tenth of a round.
 */
const trainingKey = (ins: FitIns, state: unknown, weights = weightsKey(ins.weights)) => sha256Hex(canonicalJson({ round: ins.round, weights, config: ins.config, state: state ?? null }));

export class FitPrefetcher implements PretrainedFits {
  readonly #sim: SimulationCore;
  readonly #pool: TrainingPool;
  readonly #isClient: (id: string) => boolean;
  readonly #window: number;
  /** By client, in the order the fits were sent (so waiting jobs go to the pool in that order). */
  readonly #entries = new Map<string, Entry>();
  #submitted = 0;
  readonly #subscriptions: Subscription[];
  /** Trainings taken from the threads / done inline (no entry, a stale one, a failed one): for tests and the bench, never read by the simulation. */
  readonly stats = { taken: 0, missed: 0, failed: 0 };

  constructor(sim: SimulationCore, pool: TrainingPool, isClient: (id: string) => boolean) {
    this.#sim = sim;
    this.#pool = pool;
    this.#isClient = isClient;
    this.#window = Math.max(16, 4 * pool.threads);
    this.#subscriptions = [
      sim.bus$.subscribe((envelope) => {
        if (envelope.type === FL.fit && this.#isClient(envelope.to)) this.#sent(envelope);
      }),
      sim.eventsOf('dropped').subscribe((event) => {
        if (event.type === FL.fit && this.#entries.get(event.to)?.msg === event.msg) this.#forget(event.to);
      }),
    ];
  }

  take(client: string, ins: FitIns, state: unknown): TrainResult | undefined {
    const entry = this.#entries.get(client);
    if (!entry || entry.task === undefined || entry.key !== trainingKey(ins, state)) {
      // Not sent off yet (the window was full), or sent off for something else: training here costs no more.
      if (entry) this.#forget(client);
      this.stats.missed++;
      return undefined;
    }
    this.#entries.delete(client);
    this.#submitted--;
    const outcome = this.#pool.wait(entry.task);
    this.#fillWindow();
    if (!outcome.ok) {
      this.stats.failed++;
      return undefined;
    }
    this.stats.taken++;
    return outcome.result;
  }

  /** Stops watching the simulation and forgets pending trainings (the pool itself is its owner's to close). */
  close(): void {
    for (const s of this.#subscriptions) s.unsubscribe();
    for (const client of [...this.#entries.keys()]) this.#forget(client);
  }

  /** A fit on its way to a client: send its training off if the client will train it. */
  #sent(envelope: Envelope): void {
    const to = envelope.to;
    if (!this.#sim.hasActor(to)) return;
    const cell = this.#sim.actor(to);
    if (cell.crashed) return;
    const ctx = cell.snapshot().context as LocalTrainer | undefined;
    if (!ctx?.data || !ctx.spec || !ctx.algorithm || ctx.pretrained !== this || ctx.localTrainer === 'plan') return;
    // A device offline when the fit arrives never sees it.
    if (ctx.device && !isDeviceOnline(ctx.device, envelope.deliverAt)) return;
    const hooks = hooksNameOf(ctx.algorithm);
    if (hooks === undefined) return;
    const parsed = FitInsSchema.safeParse(envelope.payload);
    if (!parsed.success) return;
    const ins = parsed.data as FitIns;
    if (includedRoundProblem(ctx, ins)) return;
    // A fit the client answered already (or an older one) is answered from storage: nothing to train.
    const last = storedAnswer(ctx);
    if (last && ins.round <= last.round) return;
    const state = fitState(ctx, ins, last);
    const weights = weightsKey(ins.weights);
    const key = trainingKey(ins, state, weights);
    if (this.#entries.get(to)?.key === key) return; // a copy of a fit already sent off
    this.#forget(to);
    const data = ctx.data.value;
    this.#entries.set(to, { key, msg: envelope.id, job: { client: to, seed: this.#sim.seed, spec: ctx.spec, data, dataKey: datasetId(data), ins, weightsKey: weights, state, hooks }, task: undefined });
    this.#fillWindow();
  }

  /** Sends waiting jobs to the pool, oldest first, while fewer than `window` are there. */
  #fillWindow(): void {
    if (this.#submitted >= this.#window) return;
    for (const entry of this.#entries.values()) {
      if (entry.task !== undefined) continue;
      entry.task = this.#pool.submit(entry.job!);
      entry.job = undefined;
      if (++this.#submitted >= this.#window) return;
    }
  }

  #forget(client: string): void {
    const entry = this.#entries.get(client);
    if (!entry) return;
    this.#entries.delete(client);
    if (entry.task !== undefined) {
      this.#pool.discard(entry.task);
      this.#submitted--;
      this.#fillWindow();
    }
  }
}
