/**
 * Small helpers shared by the SVG renderers: escaping, number formatting, colours.
 */
export function esc(text: unknown): string {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A short label for a number on an axis or in a tooltip. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1e6 || abs < 1e-3) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

/** Colour-blind-friendly categorical palette (Tableau 10). */
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The same key gets the same colour in every report. */
export function colourFor(key: string, used = new Map<string, string>()): string {
  const existing = used.get(key);
  if (existing) return existing;
  const colour = PALETTE[used.size % PALETTE.length];
  used.set(key, colour);
  return colour;
}

/** About `count` round tick values from at or below `min` to at or above `max` (Heckbert's nice numbers). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const nice = (x: number, round: boolean) => {
    const exp = Math.floor(Math.log10(x));
    const f = x / 10 ** exp;
    const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * 10 ** exp;
  };
  const step = nice(nice(max - min, false) / Math.max(1, count - 1), true);
  const ticks: number[] = [];
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let v = Math.floor(min / step + 1e-9) * step; v <= last + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}
