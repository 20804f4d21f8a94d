/**
 * The `fedavg` experiment kind: a federated run described entirely in a YAML/JSON
 * file and run by the CLI (`fedsim run experiment.yaml`), with replay, diff and
 * fault exploration like any scenario.
 *
 *   kind: fedavg
 *   name: FedProx on Synthetic(1,1)
 *   seed: 0
 *   data: { source: synthetic, alpha: 1, beta: 1, devices: 30 }
 *   model: { kind: logistic, inputs: 60, classes: 10 }
 *   algorithm: { name: fedprox, mu: 1 }        # `strategy` is the scheduler's, as in every experiment
 *   rounds: 100
 *   fraction: 0.3333
 *   localEpochs: 20
 *   batchSize: 10
 *   lr: 0.01
 *   expect: { minTestAccuracy: 0.8 }           # optional checks
 *
 * All other runFederated settings (aggregation, roundDeadlineMs, cost, optimizer, dp, …)
 * may appear at the top level; `slowdown: { client-03: 10 }` makes devices stragglers.
 * `devices:` gives every client a device — speed, bandwidth, latency and an availability
 * trace (src/fl/devices/, docs/devices.md) — and `roundPolicy:` over-selection and a
 * minimum participation (src/fl/rounds/round-policy.ts).
 * A run with `dp` reports ε per round (perRound[].epsilon, a chart beside accuracy) and
 * its privacy statement (`privacy`).
 *
 * An `async:` block (src/fl/async/async-settings.ts) makes it an asynchronous run, FedBuff or
 * FedAsync, bounded by async.maxServerUpdates / maxClientUpdates instead of `rounds`; its
 * perRound rows are server updates (round = model version). Every run, sync or async,
 * reports each row's virtual time in hours (perRound[].virtualHours) and charts test
 * accuracy against it, so runs under one device trace compare on one time axis.
 */
import { z } from 'zod';
import { type ExperimentKind, type ExperimentSource, type Scenario, defineScenario, experimentFields, resolveFaultsField } from '../../scenario/index.js';
import { AGGREGATOR_SETTINGS } from '../aggregators/registry.js';
import { FederatedConfigSchema } from '../fedavg/config.js';
import { DevicesSettingsSchema } from '../devices/devices-settings.js';
import { devicePopulationFrom } from '../devices/device-population.js';
import { prepareClients, runFederated } from '../rounds/run-federated.js';
import { FlConfigError } from '../errors.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import { AsyncSettingsSchema } from '../async/async-settings.js';
import { runAsyncFederated } from '../async/run-async-federated.js';
import { allFinite } from '../models/weights.js';
import type { ModelState } from '../models/spec.js';
import { StrategyConfigSchema } from '../strategies/create.js';
import { type ExperimentRoundRow, experimentRoundRow, virtualHours } from './round-rows.js';
import type { ClientRoundRow } from '../metrics/client-rounds.js';
import { DataSourceSchema, countField, loadFederatedData } from './data-sources.js';
import { type PrivacyStatement, dpNoteOf, privacyStatement } from '../../dp/fedavg/privacy-report.js';
import { DpSgdPrivacyLedger } from '../training/dp-sgd/privacy-ledger.js';
import { type DpSgdResult, dpSgdResult } from '../training/dp-sgd/privacy-result.js';
import { FEDAVG_LIMITS, clientCount, experimentActors, experimentClientIds, fedAvgPreflight } from './preflight.js';

const { strategy: _flStrategy, rounds: _rounds, localEpochs: _localEpochs, ...runFields } = FederatedConfigSchema.shape;

/**
 * Each aggregation mode's fields without their defaults: the file's check must see which
 * ones the file set (a mode's settings under another mode are refused); runFederated
 * applies the defaults.
 */
const modeFields = Object.fromEntries(
  Object.keys(AGGREGATOR_SETTINGS).map((field) => {
    const schema = runFields[field as keyof typeof runFields] as z.ZodType;
    return [field, ((schema instanceof z.ZodDefault ? schema.unwrap() : schema) as z.ZodType).optional()];
  }),
) as { [K in keyof typeof AGGREGATOR_SETTINGS]: z.ZodOptional<z.ZodType<z.output<(typeof AGGREGATOR_SETTINGS)[K]>>> };

export const FedAvgExperimentSchema = z
  .object({
    ...experimentFields,
    ...runFields,
    ...modeFields,
    /** Counts checked against their limits by the preflight (an integer of any size here, so 1e308 is refused by the limit, not by "unsafe integer"). */
    /** Required without `async` (preflight says so, naming the field); refused with it. */
    rounds: countField(1).optional(),
    localEpochs: countField(1),
    /** An asynchronous run (FedBuff or FedAsync) instead of synchronous rounds. */
    async: AsyncSettingsSchema.optional(),
    data: DataSourceSchema,
    /** The FL strategy (default FedAvg). */
    algorithm: StrategyConfigSchema.default({ name: 'fedavg' }),
    /** Per-client cost multipliers (stragglers), by client id. */
    slowdown: z.record(z.string(), z.number().positive()).optional(),
    /** Each client's device: profiles (speed, bandwidth, latency) and availability, drawn or read from traces (docs/devices.md). */
    devices: DevicesSettingsSchema.optional(),
    expect: z
      .object({
        minTestAccuracy: z.number().min(0).max(1).optional(),
        /** Rounds that may leave the model unchanged; default: all but one (a run that never updates the model fails). */
        maxSkippedRounds: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type FedAvgExperiment = z.infer<typeof FedAvgExperimentSchema>;

/** What the scenario returns: scalars for the summary, per-round rows, and metric series for charts. */
export interface FedAvgExperimentResult {
  rounds: number;
  finalTestAccuracy: number | undefined;
  finalTestLoss: number | undefined;
  finalTrainLoss: number;
  weightsSha256: string;
  skippedRounds: number;
  /** Why the run ended before its last round (a privacy budget spent), if it did: it is complete all the same. */
  stopReason?: string;
  /** Differential privacy (a run with `dp`): ε spent, at which δ, how, and what it covers. */
  privacy?: PrivacyStatement;
  /** Per round (async: per server update); the columns and what each counts: round-rows.ts. `skipped`: why the round left the model unchanged (the CLI lists these rounds). */
  perRound: ExperimentRoundRow[];
  /**
   * Per client and round (async: per applied update and dropped dispatch): participant or
   * dropped (why), bytes down/up, reported samples and training loss (plain aggregation),
   * training time in virtual ms, and under async the dispatch and its staleness
   * (metrics/client-rounds.ts). `fedsim export --clients-csv` writes it as CSV.
   */
  perClient: ClientRoundRow[];
  metrics: Array<{ name: string; points: Array<[number, number]>; chart: string; x: string; y: string }>;
  finite: boolean;
  /** Under dpSgd: the worst client's ε at the run's δ (a scalar, so the CLI's summary shows it). */
  dpSgdEpsilon?: number;
  /** Under dpSgd: the worst client's ε over the run (sample-level DP; JSON has no Infinity, so σ = 0 shows as "Infinity"). */
  sampleLevelPrivacy?: DpSgdResult;
  /**
   * The final global model (its weights hash to weightsSha256). `fedsim run` takes it out of
   * the result and writes it as final-model.json + final-model.bin (src/cli/final-model-output.ts),
   * so results.json stays small and `fedsim export --model` can read it.
   */
  finalModel: ModelState;
}

function toScenario(config: FedAvgExperiment, source: ExperimentSource): Scenario<FedAvgExperimentResult> {
  const { data, algorithm, slowdown, devices: deviceSettings, expect, name, description, seed, faults, strategy, params: _params, async: asyncSettings, rounds: roundsField, ...settings } = config;
  // Under async the bound is on server updates (or on client updates: then the count is known only at the end).
  const rounds = asyncSettings ? (asyncSettings.maxServerUpdates ?? NaN) : roundsField!;
  const checks: Record<string, (r: FedAvgExperimentResult) => true | string> = {
    'the global model stays finite': (r) => r.finite || 'the final weights contain NaN or Infinity',
  };
  if (expect?.minTestAccuracy !== undefined) {
    const min = expect.minTestAccuracy;
    checks[`final test accuracy ≥ ${min}`] = (r) => (r.finalTestAccuracy ?? 0) >= min || `final test accuracy ${r.finalTestAccuracy}`;
  }
  if (expect?.maxSkippedRounds !== undefined) {
    const max = expect.maxSkippedRounds;
    checks[`at most ${max} rounds without an update`] = (r) => r.skippedRounds <= max || `${r.skippedRounds} rounds were skipped`;
  } else {
    // By default a run that never changed the model has not passed, whatever else it printed (expect.maxSkippedRounds overrides).
    checks['at least one round updated the model'] = (r) =>
      r.skippedRounds < r.rounds || (r.rounds === 0 && r.stopReason ? `no round ran: ${r.stopReason}` : `all ${r.rounds} rounds were skipped (see why in the skipped rounds)`);
  }
  /** The run's data, clients and devices, drawn from `sim`'s streams: the same in the driver and in a worker hosting clients (placed-clients.ts). */
  const federatedData = (sim: SimulationCore) => {
    const loaded = loadFederatedData(data, sim, source.dir);
    const ids = experimentClientIds(loaded.clients.length);
    const clients = loaded.clients.map((c, i) => ({ ...c, id: ids[i], slowdown: slowdown?.[ids[i]] ?? 1 }));
    // Trace files are relative to the experiment file; ids are zero-padded, so index order is their sorted order.
    const devices = deviceSettings ? devicePopulationFrom(deviceSettings, ids, sim, source.dir) : undefined;
    return { loaded, clients, testSet: loaded.testSet, devices };
  };
  return defineScenario<FedAvgExperimentResult>({
    name: name ?? `${algorithm.name} on ${data.source}`,
    description,
    seed,
    strategy,
    faults: resolveFaultsField(faults, source.dir),
    path: source.path,
    actors: experimentActors(config),
    clientActors: {
      ids: experimentClientIds(clientCount(config)),
      prepare(sim) {
        if (asyncSettings) throw new FlConfigError('clients on worker processes: an async experiment (async:) runs its clients in the driver; drop --clients-on-workers', { field: 'async' });
        const { clients, testSet, devices } = federatedData(sim);
        return prepareClients(sim, { ...settings, rounds, strategy: algorithm, clients, testSet, ...(devices ? { devices } : {}) });
      },
    },
    run: async (sim, ctx) => {
      const { loaded, clients, devices } = federatedData(sim);
      if (ctx.placeClient && asyncSettings) throw new FlConfigError('clients on worker processes: an async experiment (async:) runs its clients in the driver; drop --clients-on-workers', { field: 'async' });
      // The clients' dp-sgd marks, read as they are logged (a client's ε never leaves it through its report).
      const ledger = settings.dpSgd ? new DpSgdPrivacyLedger() : undefined;
      const marks = ledger ? sim.eventsOf('mark').subscribe((event) => ledger.observe(event)) : undefined;
      const withDevices = devices ? { devices } : {};
      const run = asyncSettings
        ? startAsync(sim, settings, asyncSettings, clients, loaded.testSet, { ...withDevices, workers: ctx.workers })
        : runFederated(sim, { ...settings, rounds, strategy: algorithm, clients, testSet: loaded.testSet, ...withDevices, workers: ctx.workers, ...(ctx.placeClient ? { placeClient: ctx.placeClient } : {}) });
      run.metrics$.subscribe({
        next: (m) => {
          const dp = dpNoteOf(m);
          const step = asyncSettings ? 'server update' : 'round';
          ctx.progress(`${step} ${m.round}${Number.isNaN(rounds) ? '' : `/${rounds}`}${dp ? `, ε = ${Number(dp.epsilon.toPrecision(4))}` : ''}`, Number.isNaN(rounds) ? 0 : m.round / rounds);
        },
        // A failed run rejects the awaited `run` below; without this handler RxJS would rethrow it on a timer.
        error: () => {},
      });
      let result: Awaited<typeof run>;
      try {
        result = await run;
      } finally {
        marks?.unsubscribe();
      }
      const last = result.rounds.at(-1);
      const sampleLevel = ledger ? dpSgdResult(ledger) : undefined;
      type Row = (typeof result.rounds)[number];
      const series = (metric: string, chart: string, y: string, pick: (r: Row) => number | undefined, x: { label: string; of: (r: Row) => number } = { label: asyncSettings ? 'model version' : 'round', of: (r) => r.round }) => ({
        name: metric,
        chart,
        x: x.label,
        y,
        points: result.rounds.flatMap((r) => {
          const v = pick(r);
          return v === undefined || Number.isNaN(v) ? [] : [[x.of(r), v] as [number, number]];
        }),
      });
      const privacy = settings.dp ? privacyStatement(settings.dp, result.rounds, result.stopped?.reason) : undefined;
      const epsilonOf = (r: (typeof result.rounds)[number]) => dpNoteOf(r)?.epsilon;
      return {
        rounds: result.rounds.length,
        finalTestAccuracy: last?.testAccuracy,
        finalTestLoss: last?.testLoss,
        finalTrainLoss: last?.trainLoss ?? NaN,
        weightsSha256: result.weightsSha256,
        skippedRounds: result.rounds.filter((r) => r.skipped).length,
        ...(result.stopped ? { stopReason: result.stopped.reason } : {}),
        ...(privacy ? { privacy } : {}),
        perRound: result.rounds.map(experimentRoundRow),
        perClient: result.clientRounds,
        metrics: [
          series('test accuracy', 'accuracy', 'accuracy', (r) => r.testAccuracy),
          // Right after accuracy, so report.html draws the two charts side by side.
          ...(settings.dp ? [series(`ε (δ = ${settings.dp.delta})`, 'privacy', 'ε', epsilonOf)] : []),
          // Accuracy against virtual time: the axis on which sync and async runs (and device traces) compare.
          series('test accuracy', 'accuracy vs virtual time', 'accuracy', (r) => r.testAccuracy, { label: 'virtual hours', of: (r) => virtualHours(r.endedAt) }),
          series('test loss', 'loss', 'loss', (r) => r.testLoss),
          series('train loss (clients)', 'loss', 'loss', (r) => r.trainLoss),
          series('bytes up', 'bytes', 'bytes', (r) => r.bytesUp),
          series('bytes down', 'bytes', 'bytes', (r) => r.bytesDown),
          ...(sampleLevel ? [sampleLevel.series] : []),
        ],
        finite: allFinite(result.weights),
        finalModel: { spec: result.spec, weights: result.weights },
        ...(sampleLevel ? { dpSgdEpsilon: sampleLevel.epsilon, sampleLevelPrivacy: sampleLevel.result } : {}),
      };
    },
    checks,
  });
}


/**
 * The async run of an experiment: its settings without those of synchronous rounds
 * (preflight refused any the file set; clientEvaluation and trainEvaluation, which have
 * defaults, are not done under async: the central test set is evaluated at each update).
 */
function startAsync(
  sim: Parameters<typeof runAsyncFederated>[0],
  settings: Omit<FedAvgExperiment, 'data' | 'algorithm' | 'slowdown' | 'devices' | 'expect' | 'name' | 'description' | 'seed' | 'faults' | 'strategy' | 'params' | 'async' | 'rounds'>,
  asyncSettings: NonNullable<FedAvgExperiment['async']>,
  clients: Parameters<typeof runAsyncFederated>[1]['clients'],
  testSet: Parameters<typeof runAsyncFederated>[1]['testSet'],
  extras: Pick<Parameters<typeof runAsyncFederated>[1], 'devices' | 'workers'>,
) {
  const { clientEvaluation: _c, trainEvaluation: _t, fraction: _f, minClients: _m, ...rest } = settings;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return runAsyncFederated(sim, { ...(defined as typeof rest), async: asyncSettings, clients, testSet, ...extras });
}

export const fedAvgExperimentKind: ExperimentKind<FedAvgExperiment> = {
  description: 'a federated run (FedAvg, FedProx, FedAdam, Krum, …) on synthetic or MNIST-format data, as actors',
  schema: FedAvgExperimentSchema,
  toScenario,
  limits: FEDAVG_LIMITS,
  preflight: fedAvgPreflight,
};
