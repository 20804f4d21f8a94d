/**
 * Small statistical tests for the DP tests: each is used at a stated significance level α,
 * i.e. with a correct implementation it fails for a fraction α of seeds (the tests fix the
 * seed, so they are deterministic; α says how unlucky a seed would have to be).
 */

/** The standard normal quantile Φ⁻¹(p), Acklam's rational approximation (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** The upper-α quantile of χ²(df), by Wilson–Hilferty (within ~1% for df ≥ 10). */
export function chiSquareQuantile(alpha: number, df: number): number {
  const z = normalQuantile(1 - alpha);
  const h = 2 / (9 * df);
  return df * (1 - h + z * Math.sqrt(h)) ** 3;
}

/** Lower and upper α/2 quantiles of χ²(df). */
export function chiSquareInterval(alpha: number, df: number): [number, number] {
  return [chiSquareQuantile(1 - alpha / 2, df), chiSquareQuantile(alpha / 2, df)];
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Unbiased sample variance. */
export function variance(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
}

/**
 * Pearson's χ² statistic of integer samples against a pmf, with bins merged until every bin
 * expects ≥ 5; returns the statistic and its degrees of freedom. `support` must hold all but
 * a negligible part of the mass (the end bins take the samples outside it).
 */
export function chiSquareGoodnessOfFit(samples: ArrayLike<number>, logPmf: (k: number) => number, support: [number, number]): { statistic: number; df: number } {
  const n = samples.length;
  // Bins: contiguous ranges of k, each expecting ≥ 5; the outermost absorb the tails.
  const bins: { lo: number; hi: number; expected: number }[] = [];
  let lo = support[0];
  let expected = 0;
  for (let k = support[0]; k <= support[1]; k++) {
    expected += n * Math.exp(logPmf(k));
    if (expected >= 5) {
      bins.push({ lo, hi: k, expected });
      lo = k + 1;
      expected = 0;
    }
  }
  if (bins.length === 0) throw new Error('chiSquareGoodnessOfFit: the support expects fewer than 5 samples in all');
  bins[bins.length - 1].hi = Infinity;
  bins[bins.length - 1].expected += expected;
  bins[0].lo = -Infinity;
  const sorted = Float64Array.from(samples).sort();
  let statistic = 0;
  let at = 0;
  for (const bin of bins) {
    let observed = 0;
    while (at < sorted.length && sorted[at] <= bin.hi) {
      observed++;
      at++;
    }
    statistic += (observed - bin.expected) ** 2 / bin.expected;
  }
  return { statistic, df: bins.length - 1 };
}

/** The two-sample Kolmogorov–Smirnov statistic D = sup |F_a − F_b|. */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** The asymptotic critical value of the two-sample KS statistic at level α. */
export function ksCritical(alpha: number, n: number, m: number): number {
  return Math.sqrt(-0.5 * Math.log(alpha / 2)) * Math.sqrt((n + m) / (n * m));
}
