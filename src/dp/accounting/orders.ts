/**
 * The Rényi orders the RDP accountant evaluates by default. Each order gives a valid
 * (ε, δ) bound and the accountant reports the best, so more orders can only help; the grid
 * is dense where the optimum usually lies and sparse beyond.
 *
 *   1.05 … 1.95 (step 0.05)  large ε (few steps with little noise): the optimum sits near 1
 *   2 … 10.9   (step 0.1)    the usual range for ε between 1 and 10 (dp_accounting's grid there)
 *   11 … 64    (integers)     small ε or many steps
 *   80 … 4096                 very small δ or very small q, where the optimum moves up
 *
 * The fractional orders need the two-series computation (about a hundred terms each); the
 * integer ones the finite binomial sum (α terms). The whole curve of one event costs a few
 * milliseconds, and the accountant computes it once per distinct event.
 */
function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  // Integer counters, so 1 + 0.05·k is the closest double to the decimal, not an accumulated sum.
  for (let k = 0; from + k * step <= to + 1e-9; k++) out.push(Number((from + k * step).toFixed(10)));
  return out;
}

export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...range(1.05, 1.95, 0.05),
  ...range(2, 10.9, 0.1),
  ...range(11, 64, 1),
  80, 96, 112, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 2048, 4096,
]);
