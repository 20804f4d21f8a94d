/**
 * The `dp` settings of a federated run (client-level DP-FedAvg), as a scenario file or
 * runFederated writes them:
 *
 *   dp:
 *     mode: central          # central: the server noises the sum of clipped updates
 *                            # local: each client noises its own clipped update
 *                            # distributed: secagg+ clients add integer noise before masking
 *     clip: 1.0              # C: the L2 bound of each client's whole update Δ = w_trained − w_global
 *     noiseMultiplier: 1.0   # z: the noise on the SUM of clipped updates has std z·C
 *     sampling: poisson      # poisson: each client independently with q = fraction;
 *                            # fixed: ⌈fraction·N⌉ clients (the strategy's own sampling)
 *     delta: 1e-5
 *     accountant: rdp        # rdp | pld
 *     adaptiveClip: { targetQuantile: 0.5, learningRate: 0.2, countStddev: 0.5 }
 *     budget: { epsilon: 8 } # the run ends (completed) before a round that would exceed it
 *     distributed: { bits: 32, scale: auto }   # mode distributed only (src/dp/distributed/plan.ts)
 *
 * The schema checks each value alone; dpSettingProblems (below) checks what needs the rest
 * of the run — the algorithm, the aggregation, the sampling — before any run, each problem
 * naming its field.
 */
import { z } from 'zod';
import type { SettingProblem } from '../../fl/rounds/aggregator.js';
import type { Strategy } from '../../fl/strategies/strategy.js';
import { PrivacyAccountant } from '../accounting/accountant.js';
import { DpConfigError } from '../errors.js';
import { DistributedDpSettingsSchema } from '../distributed/plan.js';
import { roundAccounting } from './round-accounting.js';

const positive = (what: string) => z.number().positive({ message: `expected ${what} > 0` }).finite({ message: `expected ${what}, a finite number` });

export const AdaptiveClipSchema = z
  .object({
    /** γ: the fraction of updates that should fall within C (Andrew et al. 2021 use 0.5). */
    targetQuantile: z.number().gt(0, { message: 'expected a quantile in (0, 1), e.g. 0.5 (the median update norm)' }).lt(1, { message: 'expected a quantile in (0, 1), e.g. 0.5 (the median update norm)' }).default(0.5),
    /** η: C ← C·exp(−η(b̄ − γ)) each round (geometric update, Andrew et al.'s 0.2). */
    learningRate: positive('a learning rate').default(0.2),
    /**
     * σ_b: the std of the noise on the count of clients whose update was within C. The count
     * query has sensitivity ½ (each bit is centred, b − ½), so its noise multiplier is 2σ_b.
     * Default 0.05 × the expected clients per round (TFF's rule). Must exceed noiseMultiplier / 2.
     */
    countStddev: positive('a standard deviation').optional(),
  })
  .strict();

export const DP_MODES = ['central', 'local', 'distributed'] as const;
export type DpMode = (typeof DP_MODES)[number];

export const DpSettingsSchema = z
  .object({
    mode: z.enum(DP_MODES).default('central'),
    /** C, the L2 norm bound of each client's whole update (the initial C under adaptiveClip). */
    clip: positive('a clip norm C'),
    /** z: the noise on the sum of clipped updates has std z·C (per coordinate). */
    noiseMultiplier: positive('a noise multiplier z'),
    adaptiveClip: AdaptiveClipSchema.optional(),
    sampling: z.enum(['poisson', 'fixed']).default('poisson'),
    delta: z.number().gt(0, { message: 'expected δ in (0, 1), e.g. 1e-5 (well below 1 / the number of clients)' }).lt(1, { message: 'expected δ in (0, 1), e.g. 1e-5 (well below 1 / the number of clients)' }),
    accountant: z.enum(['rdp', 'pld']).default('rdp'),
    budget: z.object({ epsilon: positive('a privacy budget ε') }).strict().optional(),
    /** mode 'distributed' only: the ring, the scale, conditional rounding's β, the overflow threshold (src/dp/distributed/plan.ts). */
    distributed: DistributedDpSettingsSchema.optional(),
  })
  .strict();
export type DpSettings = z.infer<typeof DpSettingsSchema>;
export type DpSettingsInput = z.input<typeof DpSettingsSchema>;

/**
 * The update's noise multiplier under adaptive clipping: the update query and the count
 * query together must cost what one Gaussian of multiplier z costs, z⁻² = z_Δ⁻² + (2σ_b)⁻²
 * (Andrew et al. 2021, §3; TFF's gaussian_adaptive), so z_Δ = (z⁻² − (2σ_b)⁻²)^(−½).
 * Undefined (NaN) when 2σ_b ≤ z: the count alone would cost more than the whole budget.
 */
export function updateNoiseMultiplier(z: number, countStddev: number): number {
  const rest = z ** -2 - (2 * countStddev) ** -2;
  return rest > 0 ? rest ** -0.5 : NaN;
}

/** σ_b when the file gives none: 0.05 × the expected clients per round (TFF's default). */
export const defaultCountStddev = (expectedClientsPerRound: number) => 0.05 * expectedClientsPerRound;

/** What the DP checks need to know about the rest of the run. */
export interface DpRunShape {
  aggregation: string;
  /** The run's strategy (its client half says what clients report). */
  strategy: Strategy<any>;
  /** Path of the strategy's config in the settings: ['strategy'] (runFederated) or ['algorithm'] (an experiment file). */
  strategyPath: readonly PropertyKey[];
  /** Every client of the run. */
  clients: number;
  /** The sampling fraction (q under Poisson sampling) and where it is set, when the strategy samples by fraction. */
  fraction?: number;
  /** minClients as given (undefined when not set), and its path. */
  minClients?: { value: number; path: readonly PropertyKey[] };
  /** The secagg clipping range, when aggregation is secagg+ (local noise must fit in it). */
  secAggClippingRange?: number;
  /** The rounds configured, when known: the accountant must be able to compose them all. */
  rounds?: number;
}

/** Clients a round takes on average: q·N (Poisson) or ⌈fraction·N⌉ (fixed). */
export function expectedClientsPerRound(settings: Pick<DpSettings, 'sampling'>, fraction: number, clients: number): number {
  return settings.sampling === 'poisson' ? fraction * clients : Math.min(clients, Math.max(1, Math.ceil(fraction * clients - 1e-9)));
}

/** Everything about `settings` that cannot work with the rest of the run, each naming its field. */
export function dpSettingProblems(settings: DpSettings, run: DpRunShape): SettingProblem[] {
  const problems: SettingProblem[] = [];
  // What is not built yet says so here, before the run, naming its field.
  const unavailable = (error: unknown) => (error as Error).message.replace(/\.$/, '');
  let accountantBuilt = false;
  try {
    new PrivacyAccountant({ kind: settings.accountant });
    accountantBuilt = true;
  } catch (error) {
    problems.push({ path: ['dp', 'accountant'], expected: `an accountant fedsim has (${unavailable(error)})`, found: `'${settings.accountant}'` });
  }
  try {
    roundAccounting(settings, 1);
  } catch (error) {
    problems.push({ path: ['dp', 'mode'], expected: `a mode fedsim has (${unavailable(error)})`, found: `'${settings.mode}'` });
  }
  const { strategy } = run;
  const reports = strategy.client.reports;
  if (reports.extras.length > 0 || reports.metrics.length > 0) {
    const what = [...(reports.extras.length ? [`extras [${reports.extras.join(', ')}]`] : []), ...(reports.metrics.length ? [`metrics [${reports.metrics.join(', ')}]`] : [])].join(' and ');
    problems.push({
      path: run.strategyPath,
      expected: `an algorithm whose clients report only their model under dp (fedavg, fedprox, fedavgm, fedadam, fedadagrad, fedyogi): '${strategy.name}' clients also report ${what}, which no noise covers and whose sensitivity is not bounded by the clip`,
      found: `'${strategy.name}'`,
    });
  }
  if (strategy.needs === 'individual') {
    problems.push({
      path: run.strategyPath,
      expected: `a strategy that works from the average under dp: '${strategy.name}' needs each client's own update, but DP-FedAvg releases only the noised sum (use fedavg, fedavgm, fedadam, …)`,
      found: `'${strategy.name}'`,
    });
  }
  if (settings.distributed !== undefined && settings.mode !== 'distributed') {
    problems.push({ path: ['dp', 'distributed'], expected: `no dp.distributed with dp.mode '${settings.mode}': its settings are for the integer noise of mode 'distributed'` });
  }
  if (settings.mode === 'distributed' && settings.accountant === 'pld') {
    problems.push({
      path: ['dp', 'accountant'],
      expected: "'rdp' with dp.mode 'distributed': the Skellam rounds are accounted by their RDP curve, which determines no privacy loss distribution for the PLD accountant",
      found: "'pld'",
    });
  }
  if (settings.mode === 'distributed' && run.aggregation !== 'secagg+') {
    problems.push({
      path: ['dp', 'mode'],
      expected: `'central' or 'local' with aggregation '${run.aggregation}': 'distributed' DP adds integer noise inside SecAgg+, so it needs aggregation: secagg+`,
      found: "'distributed'",
    });
  }
  if (settings.sampling === 'poisson') {
    if (run.fraction === undefined) {
      problems.push({ path: ['dp', 'sampling'], expected: "'fixed' for a strategy object without a sampling fraction: Poisson sampling draws each client with probability q = fraction", found: "'poisson'" });
    }
    if (run.minClients !== undefined && run.minClients.value > 1) {
      problems.push({
        path: run.minClients.path,
        expected: `no minClients under dp.sampling 'poisson': each client is drawn independently with q = fraction, so a round's size cannot be held to a minimum (that would change q and the accounting); remove minClients or use dp.sampling 'fixed'`,
        found: String(run.minClients.value),
      });
    }
  }
  if (settings.adaptiveClip) {
    if (settings.mode === 'local') {
      problems.push({
        path: ['dp', 'adaptiveClip'],
        expected: "no adaptiveClip under dp.mode 'local': adaptive clipping needs the server to noise the count of unclipped updates, which local DP's untrusted server must not see in the clear",
      });
    } else if (settings.mode === 'distributed') {
      problems.push({ path: ['dp', 'adaptiveClip'], expected: "no adaptiveClip under dp.mode 'distributed' (the count of unclipped updates would need its own integer noise inside SecAgg+; not built)" });
    } else {
      const expected = expectedClientsPerRound(settings, run.fraction ?? 1, run.clients);
      const given = settings.adaptiveClip.countStddev;
      const sigma = given ?? defaultCountStddev(expected);
      if (!(2 * sigma > settings.noiseMultiplier)) {
        problems.push({
          path: given !== undefined ? ['dp', 'adaptiveClip', 'countStddev'] : ['dp', 'noiseMultiplier'],
          expected:
            `2 × countStddev > noiseMultiplier, so that the update keeps some of the budget (z_Δ = (z⁻² − (2σ_b)⁻²)^(−½)); ` +
            `with noiseMultiplier ${settings.noiseMultiplier} set countStddev above ${settings.noiseMultiplier / 2}` +
            (given === undefined ? ` (its default is 0.05 × the ${Number(expected.toPrecision(4))} expected clients per round = ${Number(sigma.toPrecision(4))})` : ''),
          found: given !== undefined ? String(given) : `noiseMultiplier ${settings.noiseMultiplier} with countStddev ${Number(sigma.toPrecision(4))}`,
        });
      }
    }
  }
  if (settings.mode === 'local' && run.secAggClippingRange !== undefined) {
    // SecAgg+ clips each value to [−range, range] before quantising: local noise beyond it would be clipped silently.
    const std = settings.noiseMultiplier * settings.clip;
    if (6 * std >= run.secAggClippingRange) {
      problems.push({
        path: ['secagg', 'clippingRange'],
        expected: `more than 6 × the local noise std (noiseMultiplier × clip = ${Number(std.toPrecision(4))}), i.e. > ${Number((6 * std).toPrecision(4))}: SecAgg+ clips every value to ±clippingRange, which would cut the noise of dp.mode 'local'`,
        found: String(run.secAggClippingRange),
      });
    }
  }
  if (accountantBuilt && settings.mode !== 'distributed' && !(settings.sampling === 'poisson' && run.fraction === undefined)) {
    problems.push(...accountingProblems(settings, run));
  }
  return problems;
}

/**
 * The rounds as the run will account them, computed now (central and local modes; distributed
 * rounds need the run's plan, src/dp/distributed/plan.ts): an accountant that cannot compose
 * them (a PLD grid too wide for little noise or many rounds) would otherwise fail inside a
 * round's aggregation, and a budget below one round's ε would start a run that can run no round.
 * With a budget, only the rounds up to it are composed, so only the first is checked.
 */
function accountingProblems(settings: DpSettings, run: DpRunShape): SettingProblem[] {
  const { event } = roundAccounting(settings, settings.sampling === 'poisson' ? run.fraction! : 1);
  const budget = settings.budget?.epsilon;
  const rounds = budget === undefined ? Math.max(1, run.rounds ?? 1) : 1;
  let firstRound: number;
  try {
    firstRound = new PrivacyAccountant({ kind: settings.accountant }).compose(event).epsilon(settings.delta).epsilon;
    if (rounds > 1) new PrivacyAccountant({ kind: settings.accountant }).compose(event, rounds).epsilon(settings.delta);
  } catch (error) {
    if (!(error instanceof DpConfigError)) throw error;
    const why = error.message.replace(/^PrivacyAccountant \(\w+\): /, '').replace(/\. The privacy losses[^]*$/, '').replace(/\.$/, '');
    return [
      {
        path: ['dp', 'accountant'],
        expected: `an accountant that can account these rounds (${why}); use accountant: rdp or a larger noiseMultiplier`,
        found: `'${settings.accountant}'`,
      },
    ];
  }
  if (budget !== undefined && firstRound > budget) {
    return [
      {
        path: ['dp', 'budget', 'epsilon'],
        expected:
          `at least the ε of one round, ${Number(firstRound.toPrecision(6))} at δ = ${settings.delta} (${settings.accountant}), or the run could run no round; ` +
          'raise the budget, or raise dp.noiseMultiplier or lower the sampling fraction',
        found: String(budget),
      },
    ];
  }
  return [];
}
