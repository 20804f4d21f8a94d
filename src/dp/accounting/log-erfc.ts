/**
 * log(erfc(x)) to (nearly) full double precision for every real x, including x where
 * erfc(x) underflows (x > 26.5): the fractional-order RDP series of the sampled Gaussian
 * multiplies huge exponentials by tiny Gaussian tails, and needs the tail's logarithm.
 *
 * Written here rather than taken from a package because the rest of fedsim does not depend
 * on a special-functions library and this is all the accountant needs; the two classical
 * expansions used are short and their accuracy is checked in test/dp-accountant-math.test.ts
 * against tabulated values.
 *
 *   x < 1     erfc(x) = 1 − erf(x), erf from its Maclaurin series with all-positive terms,
 *             erf(x) = (2/√π) e^{−x²} Σ_n 2ⁿ x^{2n+1} / (1·3·5···(2n+1))   (A&S 7.1.6),
 *             so nothing cancels inside the sum, and 1 − erf(x) ≥ 0.157 loses at most a digit.
 *   x ≥ 1     the continued fraction for the tail (A&S 7.1.14), in the even form
 *             erfc(x) = (e^{−x²}/√π) · 2x / (2x² + 1 − 1·2/(2x² + 5 − 3·4/(2x² + 9 − …))),
 *             evaluated by the modified Lentz method in log form: no underflow at any x.
 */

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) for 0 ≤ x < 1 (series A&S 7.1.6). */
function erfSmall(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** log of the continued fraction part F(x) = erfc(x)·√π·e^{x²}, for x ≥ 1. */
function logTailFraction(x: number): number {
  // erfc(x) e^{x²} √π = 2x / (b0 − a1/(b1 − a2/(b2 − …))), b_n = 2x² + 4n + 1, a_n = (2n−1)(2n).
  const tiny = 1e-300;
  const b0 = 2 * x * x + 1;
  let f = b0;
  let c = b0;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = -(2 * n - 1) * (2 * n);
    const b = 2 * x * x + 4 * n + 1;
    d = b + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.log(2 * x) - Math.log(f);
}

/** log(erfc(x)); −∞ only for x = +∞. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (x < 0) return Math.log1p(x > -1 ? erfSmall(-x) : 1 - Math.exp(logErfc(-x)));
  if (x < 1) return Math.log1p(-erfSmall(x));
  return -x * x - LOG_SQRT_PI + logTailFraction(x);
}

/** erfc(x) (underflows to 0 past x ≈ 26.5, where logErfc still works). */
export function erfc(x: number): number {
  return Math.exp(logErfc(x));
}
