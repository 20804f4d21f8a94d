/**
 * Arithmetic on numbers kept as their logarithms. RDP sums have terms like
 * exp(k²/(2σ²)) that overflow a double for k in the hundreds, and others like q^k that
 * underflow for tiny q; in log space both stay representable, and each helper below keeps
 * the precision that the naive formula (log(exp(a) + exp(b)), log(exp(x) − 1), …) loses.
 */

/** log(e^a + e^b). */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** log(e^x − 1) for x > 0: expm1 keeps the digits for tiny x, the second form avoids overflow for large x. */
export function logExpm1(x: number): number {
  if (x <= 0) return x === 0 ? -Infinity : NaN;
  return x < 30 ? Math.log(Math.expm1(x)) : x + Math.log1p(-Math.exp(-x));
}

/** log(1 + e^x) (softplus) without overflow for large x or loss of digits for very negative x. */
export function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * A running sum of signed terms, each given as (sign, log|term|), kept as sign and log of
 * its magnitude. The fractional-order series of the sampled Gaussian has generalised
 * binomial coefficients whose signs alternate past the order, so a plain log-add would
 * overstate the sum.
 */
export class SignedLogSum {
  /** log|sum| (−∞ while the sum is 0). */
  logAbs = -Infinity;
  sign: 1 | -1 = 1;

  add(sign: 1 | -1, logAbs: number): void {
    if (logAbs === -Infinity) return;
    if (this.logAbs === -Infinity) {
      this.sign = sign;
      this.logAbs = logAbs;
      return;
    }
    if (sign === this.sign) {
      this.logAbs = logAddExp(this.logAbs, logAbs);
      return;
    }
    // Opposite signs: |s| − |t| keeps s's sign if |s| > |t|, else flips.
    if (this.logAbs > logAbs) {
      this.logAbs += Math.log1p(-Math.exp(logAbs - this.logAbs));
    } else if (this.logAbs < logAbs) {
      this.logAbs = logAbs + Math.log1p(-Math.exp(this.logAbs - logAbs));
      this.sign = sign;
    } else {
      this.logAbs = -Infinity;
      this.sign = 1;
    }
  }
}
