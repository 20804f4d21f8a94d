/**
 * `fedsim privacy`: how much privacy a run of noisy, Poisson-sampled steps spends — the
 * accountant on the command line, like TF Privacy's compute_dp_sgd_privacy.
 *
 *   fedsim privacy --sampling-rate 0.01 --noise-multiplier 1.1 --steps 1000 --delta 1e-5
 *     epsilon: 1.23456
 *     accountant: rdp (Rényi DP, tight conversion), optimal order 12; …
 *   fedsim privacy --sampling-rate 0.01 --epsilon 2 --steps 1000 --delta 1e-5
 *     noise multiplier: 0.987654
 *   fedsim privacy --dataset-size 60000 --batch-size 256 --epochs 60 --noise-multiplier 1.1 --delta 1e-5
 *     (q = batch/size and steps = ⌈epochs·size/batch⌉, as TF Privacy computes them)
 *
 * The first line is the answer, alone, so a script can read it (or use --json). Every flag
 * is checked before anything is computed; a bad one is a usage error (exit 2) naming the
 * flag, its value and the valid range.
 */
import { DpConfigError } from '../../dp/errors.js';
import { ACCOUNTANT_KINDS, type AccountantKind, PrivacyAccountant, type PrivacySpent } from '../../dp/accounting/accountant.js';
import { calibrateNoiseMultiplier, type NoiseCalibration } from '../../dp/accounting/calibrate.js';
import { DEFAULT_PLD_DISCRETIZATION } from '../../dp/accounting/pld.js';
import { CliError, EXIT_OK } from '../cli-error.js';

/** The flags as commander hands them over (strings; validated here, in one place). */
export interface PrivacyOptions {
  samplingRate?: string;
  steps?: string;
  datasetSize?: string;
  batchSize?: string;
  epochs?: string;
  noiseMultiplier?: string;
  epsilon?: string;
  delta?: string;
  accountant?: string;
  discretization?: string;
  json?: boolean;
}

/** What to compute, checked. */
export interface PrivacyQuery {
  samplingRate: number;
  steps: number;
  delta: number;
  accountant: AccountantKind;
  /** PLD: the grid step of privacy losses. */
  discretization: number;
  /** Given: compute ε. */
  noiseMultiplier?: number;
  /** Given instead: solve for the noise multiplier. */
  targetEpsilon?: number;
  /** How q and the steps were given. */
  from: 'sampling-rate' | 'dataset';
  dataset?: { size: number; batchSize: number; epochs: number };
}

function parseNumber(flag: string, text: string, rule: string, ok: (x: number) => boolean): number {
  const trimmed = text.trim();
  const value = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value) || !ok(value)) throw new CliError(`${flag} ${text}: give ${rule}.`);
  return value;
}

const positiveInteger = (flag: string, text: string, what: string) =>
  parseNumber(flag, text, `a positive integer (${what})`, (x) => Number.isSafeInteger(x) && x >= 1);

/** The flags, checked and resolved into a query (a CliError naming the flag otherwise). */
export function resolvePrivacyQuery(options: PrivacyOptions): PrivacyQuery {
  const accountantText = options.accountant ?? 'rdp';
  if (!(ACCOUNTANT_KINDS as readonly string[]).includes(accountantText)) {
    throw new CliError(`--accountant ${accountantText}: use one of ${ACCOUNTANT_KINDS.join(', ')}.`);
  }
  const accountant = accountantText as AccountantKind;
  let discretization = DEFAULT_PLD_DISCRETIZATION;
  if (options.discretization !== undefined) {
    if (accountant !== 'pld') throw new CliError(`--discretization ${options.discretization}: the grid step applies to --accountant pld only.`);
    discretization = parseNumber('--discretization', options.discretization, 'a number in [1e-6, 1e-2] (the PLD grid step of privacy losses; default 1e-4)', (x) => x >= 1e-6 && x <= 1e-2);
  }

  if (options.delta === undefined) throw new CliError('--delta is required: the δ of (ε, δ)-DP, e.g. --delta 1e-5 (well below 1/dataset size).');
  const delta = parseNumber('--delta', options.delta, 'a number in (0, 1), e.g. 1e-5', (x) => x > 0 && x < 1);

  const direct = options.samplingRate !== undefined || options.steps !== undefined;
  const dataset = options.datasetSize !== undefined || options.batchSize !== undefined || options.epochs !== undefined;
  if (direct && dataset) {
    throw new CliError('give either --sampling-rate and --steps, or --dataset-size, --batch-size and --epochs, not both.');
  }
  let samplingRate: number;
  let steps: number;
  let from: PrivacyQuery['from'];
  let datasetInfo: PrivacyQuery['dataset'];
  if (dataset) {
    for (const [flag, value] of [['--dataset-size', options.datasetSize], ['--batch-size', options.batchSize], ['--epochs', options.epochs]] as const) {
      if (value === undefined) throw new CliError(`${flag} is required with --dataset-size, --batch-size and --epochs (they give the sampling rate and the steps).`);
    }
    const size = positiveInteger('--dataset-size', options.datasetSize!, 'the number of records');
    const batchSize = positiveInteger('--batch-size', options.batchSize!, 'the expected records per step');
    if (batchSize > size) throw new CliError(`--batch-size ${options.batchSize}: give at most the dataset size ${size} (the sampling rate is batch size / dataset size).`);
    const epochs = parseNumber('--epochs', options.epochs!, 'a number > 0 (passes over the data; may be fractional)', (x) => x > 0);
    samplingRate = batchSize / size;
    // TF Privacy's count: ⌈epochs · N / B⌉ steps.
    steps = Math.ceil((epochs * size) / batchSize);
    from = 'dataset';
    datasetInfo = { size, batchSize, epochs };
  } else {
    if (options.samplingRate === undefined) throw new CliError('--sampling-rate is required (or --dataset-size, --batch-size and --epochs): the probability q ∈ (0, 1] that a record takes part in a step.');
    if (options.steps === undefined) throw new CliError('--steps is required with --sampling-rate: the number of noisy steps (a positive integer).');
    samplingRate = parseNumber('--sampling-rate', options.samplingRate, 'a number in (0, 1] (the probability that a record takes part in a step)', (x) => x > 0 && x <= 1);
    steps = positiveInteger('--steps', options.steps, 'the number of noisy steps');
    from = 'sampling-rate';
  }

  if ((options.noiseMultiplier === undefined) === (options.epsilon === undefined)) {
    throw new CliError(
      options.noiseMultiplier === undefined
        ? 'give --noise-multiplier (to compute ε) or --epsilon (to solve for the noise multiplier).'
        : 'give --noise-multiplier or --epsilon, not both: one is computed from the other.',
    );
  }
  const query: PrivacyQuery = { samplingRate, steps, delta, accountant, discretization, from, ...(datasetInfo ? { dataset: datasetInfo } : {}) };
  if (options.noiseMultiplier !== undefined) {
    query.noiseMultiplier = parseNumber('--noise-multiplier', options.noiseMultiplier, 'a number > 0 (noise standard deviation / L2 sensitivity)', (x) => x > 0);
  } else {
    query.targetEpsilon = parseNumber('--epsilon', options.epsilon!, 'a number > 0 (the ε not to exceed)', (x) => x > 0);
  }
  return query;
}

/** The result of a query: ε for a given noise multiplier, or the noise multiplier for a target ε. */
export type PrivacyAnswer = { kind: 'epsilon'; spent: PrivacySpent } | { kind: 'noise-multiplier'; calibration: NoiseCalibration };

export function answerPrivacyQuery(query: PrivacyQuery): PrivacyAnswer {
  try {
    if (query.noiseMultiplier !== undefined) {
      const accountant = new PrivacyAccountant({ kind: query.accountant, ...(query.accountant === 'pld' ? { discretization: query.discretization } : {}) });
      accountant.compose({ kind: 'poisson-sampled-gaussian', samplingRate: query.samplingRate, noiseMultiplier: query.noiseMultiplier }, query.steps);
      return { kind: 'epsilon', spent: accountant.epsilon(query.delta) };
    }
    const calibration = calibrateNoiseMultiplier({
      epsilon: query.targetEpsilon!,
      delta: query.delta,
      samplingRate: query.samplingRate,
      steps: query.steps,
      accountant: query.accountant,
      ...(query.accountant === 'pld' ? { discretization: query.discretization } : {}),
    });
    return { kind: 'noise-multiplier', calibration };
  } catch (error) {
    // The flags were checked above; what is left is a target no noise multiplier in range meets, or an accountant that is not available.
    if (error instanceof DpConfigError) {
      const flag =
        error.where.field === 'discretization' ? `--accountant pld --discretization ${shortNumber(query.discretization)}` : query.targetEpsilon !== undefined ? `--epsilon ${query.targetEpsilon}` : `--accountant ${query.accountant}`;
      throw new CliError(`${flag}: ${error.message.replace(/^[\w.]+(?: \(pld\))?: /, '')}`);
    }
    throw error;
  }
}

/**
 * Six significant digits. A solved noise multiplier is rounded up, so the printed value still
 * meets the target; the ε it reaches is rounded down, so "ε ≤ target" reads true.
 */
export function formatSignificant(x: number, direction: 'nearest' | 'up' | 'down' = 'nearest'): string {
  if (x === Infinity) return 'inf';
  if (x === 0) return '0';
  const round = direction === 'up' ? Math.ceil : direction === 'down' ? Math.floor : Math.round;
  if (Math.abs(x) >= 1e6) return (round(x * 100) / 100).toFixed(2);
  const scale = 10 ** (5 - Math.floor(Math.log10(Math.abs(x))));
  // The nudge keeps a value already on the grid (1.1 = 110000/1e5) from moving a step on rounding noise.
  const nudge = direction === 'up' ? -1e-7 : direction === 'down' ? 1e-7 : 0;
  return shortNumber(Number((round(x * scale + nudge) / scale).toPrecision(6)));
}

/** 1e-5 rather than 0.00001. */
export function shortNumber(x: number): string {
  return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x);
}

function describeSteps(query: PrivacyQuery): string {
  const base = `q = ${formatSignificant(query.samplingRate)}, ${query.steps} steps, δ = ${shortNumber(query.delta)}`;
  if (!query.dataset) return base;
  const { size, batchSize, epochs } = query.dataset;
  return `${base} (dataset size ${size}, batch size ${batchSize}, ${epochs} epochs)`;
}

function describeAccountant(query: PrivacyQuery, epsilon: number, order: number | undefined): string {
  if (query.accountant === 'pld') return `accountant: pld (privacy loss distribution, pessimistic connect-the-dots discretisation, Δ = ${shortNumber(query.discretization)})`;
  const which = order !== undefined ? `optimal order ${order}` : epsilon === 0 ? 'no order needed (ε = 0)' : 'no order gives a finite bound';
  return `accountant: rdp (Rényi DP, tight conversion), ${which}`;
}

export function privacyCommand(options: PrivacyOptions, out: NodeJS.WritableStream = process.stdout): number {
  const query = resolvePrivacyQuery(options);
  const answer = answerPrivacyQuery(query);
  if (options.json) {
    const base = {
      samplingRate: query.samplingRate,
      steps: query.steps,
      delta: query.delta,
      accountant: query.accountant,
      ...(query.accountant === 'pld' ? { discretization: query.discretization } : {}),
      ...(query.dataset ? { dataset: query.dataset } : {}),
    };
    const body =
      answer.kind === 'epsilon'
        ? { ...base, noiseMultiplier: query.noiseMultiplier, epsilon: finiteOrString(answer.spent.epsilon), order: answer.spent.order ?? null }
        : {
            ...base,
            targetEpsilon: query.targetEpsilon,
            noiseMultiplier: answer.calibration.noiseMultiplier,
            epsilon: answer.calibration.epsilon,
            order: answer.calibration.order ?? null,
            tolerance: answer.calibration.tolerance,
          };
    out.write(`${JSON.stringify(body)}\n`);
    return EXIT_OK;
  }
  if (answer.kind === 'epsilon') {
    const { epsilon, order } = answer.spent;
    out.write(`epsilon: ${formatSignificant(epsilon)}\n`);
    out.write(`${describeAccountant(query, epsilon, order)}; σ = ${query.noiseMultiplier}, ${describeSteps(query)}\n`);
  } else {
    const { noiseMultiplier, epsilon, order, tolerance } = answer.calibration;
    out.write(`noise multiplier: ${formatSignificant(noiseMultiplier, 'up')}\n`);
    out.write(
      `${describeAccountant(query, epsilon, order)}; ε = ${formatSignificant(epsilon, 'down')} ≤ ${query.targetEpsilon} at ${describeSteps(query)}; ` +
        `the smallest such σ within a relative ${shortNumber(tolerance)}, rounded up\n`,
    );
  }
  return EXIT_OK;
}

/** JSON has no Infinity. */
function finiteOrString(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}
