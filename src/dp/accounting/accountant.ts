/**
 * PrivacyAccountant: composes the private steps a run takes and says how much privacy they
 * have spent, as (ε, δ).
 *
 *   const accountant = new PrivacyAccountant();                      // RDP, DEFAULT_ORDERS
 *   accountant.compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.01, noiseMultiplier: 1.1 }, 100);
 *   accountant.epsilon(1e-5);   // { epsilon, delta: 1e-5, order, accountant: 'rdp' }
 *
 * The RDP accountant keeps one number per order: RDP composes by adding (Mironov 2017,
 * Proposition 1), so composing an event `count` times adds count × its curve; ε at δ is the
 * tight conversion minimised over the orders (rdp-to-dp.ts).
 *
 * The PLD accountant (kind 'pld') composes privacy loss distributions instead (pld.ts): a
 * tighter valid bound for the (sampled) Gaussian, slower (tenths of a second per question
 * for thousands of steps), and without rdp-curve events, which have no PLD.
 *
 * It also keeps what was composed (each event with its repetition count, consecutive repeats
 * merged), which is what toJSON writes: a checkpoint rebuilds the same accountant with
 * fromJSON, and two runs with the same events get bit-identical ε (the curves are a
 * deterministic function of the events; nothing is random here).
 */
import { z } from 'zod';
import { DpConfigError } from '../errors.js';
import { checkDpEvent, type DpEvent, sameDpEvent } from './events.js';
import { DEFAULT_ORDERS } from './orders.js';
import { checkCount, checkDelta, checkEpsilon, checkOrders } from './parameter-checks.js';
import { composeHistory, DEFAULT_PLD_DISCRETIZATION, deltaOfComposed, epsilonOfComposed, type PldEvent } from './pld.js';
import type { ComposedPld } from './pld-compose.js';
import type { DiscretePld } from './pld-sampled-gaussian.js';
import { rdpOfEvent } from './rdp-of-event.js';
import { deltaFromRdp, epsilonFromRdp, type RdpCurve } from './rdp-to-dp.js';

export { DEFAULT_ORDERS } from './orders.js';

export type AccountantKind = 'rdp' | 'pld';

export const ACCOUNTANT_KINDS: readonly AccountantKind[] = ['rdp', 'pld'];

export interface PrivacySpent {
  epsilon: number;
  delta: number;
  /** The Rényi order that gave ε (RDP accountant, ε > 0). */
  order?: number;
  accountant: AccountantKind;
}

export interface PrivacyAccountantOptions {
  /** 'rdp' (default) or 'pld'. */
  kind?: AccountantKind;
  /** The RDP orders (strictly increasing, each > 1); default DEFAULT_ORDERS. */
  orders?: readonly number[];
  /** PLD only: the grid step Δ of privacy losses, in [1e-6, 1e-2]; default 1e-4. Smaller is tighter and slower. */
  discretization?: number;
}

/** One entry of what was composed: an event and how many times in a row. */
export interface ComposedEvent {
  readonly event: DpEvent;
  readonly count: number;
}

const AT = 'PrivacyAccountant';

export class PrivacyAccountant {
  readonly kind: AccountantKind;
  readonly orders: readonly number[];
  /**
   * Σ count × curve over every history entry but the last; the last entry's share is added
   * when the curve is read. So the curve is a function of the merged history alone — 100
   * steps then 50 more give exactly the bits of 150 steps — and an accountant rebuilt by
   * fromJSON reports the same ε, to the last bit, as the one that was saved.
   */
  private readonly settled: Float64Array;
  private readonly history: { event: DpEvent; count: number; curve: Float64Array }[] = [];
  /** RDP curves of events seen, by event (clones share it: the curves are pure functions of the event). */
  private readonly curves: Map<string, Float64Array>;
  /** PLD: the grid step, the discretised events (shared by clones, like the curves) and the composition of the current history. */
  readonly discretization: number;
  private readonly discretised: Map<string, DiscretePld>;
  private composedPlds: { historyKey: string; plds: ComposedPld[] } | undefined;

  constructor(options: PrivacyAccountantOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new DpConfigError(`${AT}: options must be an object { kind?, orders?, discretization? }, got ${String(options)}.`, { at: AT, field: 'options' });
    }
    const unknown = Object.keys(options).filter((k) => k !== 'kind' && k !== 'orders' && k !== 'discretization');
    if (unknown.length > 0) throw new DpConfigError(`${AT}: unknown option ${unknown.join(', ')} (options: kind, orders, discretization).`, { at: AT, field: unknown[0] });
    const kind = options.kind ?? 'rdp';
    if (!ACCOUNTANT_KINDS.includes(kind)) {
      throw new DpConfigError(`${AT}: kind must be one of ${ACCOUNTANT_KINDS.join(', ')}, got ${JSON.stringify(kind)}.`, { at: AT, field: 'kind', value: kind });
    }
    const discretization = options.discretization ?? DEFAULT_PLD_DISCRETIZATION;
    if (typeof discretization !== 'number' || !(discretization >= 1e-6 && discretization <= 1e-2)) {
      throw new DpConfigError(`${AT}: discretization must be a number in [1e-6, 1e-2] (the PLD's grid step of privacy losses), got ${String(discretization)}.`, {
        at: AT,
        field: 'discretization',
        value: discretization,
      });
    }
    this.kind = kind;
    this.discretization = discretization;
    this.discretised = new Map();
    this.orders = options.orders === undefined ? DEFAULT_ORDERS : checkOrders(options.orders, AT, 'orders');
    this.settled = new Float64Array(this.orders.length);
    this.curves = new Map();
  }

  /** Adds `count` repetitions (an integer ≥ 0, default 1) of the event. */
  compose(event: DpEvent, count = 1): this {
    const checked = checkDpEvent(event, `${AT}.compose`);
    checkCount(count, `${AT}.compose`);
    if (this.kind === 'pld' && checked.kind === 'rdp-curve') {
      throw new DpConfigError(
        `${AT}.compose: the PLD accountant cannot compose an rdp-curve event ('${checked.name}'): an RDP curve does not determine a privacy loss distribution. Use the RDP accountant (kind 'rdp') for runs with such mechanisms.`,
        { at: `${AT}.compose`, field: 'event.kind', value: checked.kind },
      );
    }
    if (count === 0) return this;
    const last = this.history[this.history.length - 1];
    if (last !== undefined && sameDpEvent(last.event, checked)) {
      last.count += count;
      return this;
    }
    if (last !== undefined) for (let i = 0; i < this.settled.length; i++) this.settled[i] += last.count * last.curve[i];
    this.history.push({ event: checked, count, curve: this.curveOf(checked) });
    return this;
  }

  /** The smallest ε at which everything composed so far is (ε, δ)-DP, δ ∈ (0, 1). */
  epsilon(delta: number): PrivacySpent {
    checkDelta(delta, `${AT}.epsilon`);
    if (this.kind === 'pld') {
      const plds = this.plds();
      const epsilon = epsilonOfComposed(plds, delta);
      // Gaussian steps never lose privacy without bound: an infinite ε is the mass the PLD puts at +∞ for its
      // truncated tails and round-off (about 1e-11), which this δ is below. Say so rather than print ∞.
      if (epsilon === Infinity && this.history.length > 0) {
        const atInfinity = Math.max(...plds.map((pld) => pld.infinityMass));
        throw new DpConfigError(
          `${AT}.epsilon: δ = ${delta} is below the PLD accountant's resolution: its discretisation puts ${atInfinity.toPrecision(3)} of the privacy loss at +∞ (truncated tails and round-off), more than δ; use the RDP accountant for a δ this small, or a δ above ${atInfinity.toPrecision(3)}`,
          { at: `${AT}.epsilon`, field: 'delta', value: delta },
        );
      }
      return { epsilon, delta, accountant: 'pld' };
    }
    const { epsilon, order } = epsilonFromRdp(this.rdpCurve(), delta);
    return order === undefined ? { epsilon, delta, accountant: this.kind } : { epsilon, delta, order, accountant: this.kind };
  }

  /** The smallest δ at which everything composed so far is (ε, δ)-DP, ε ≥ 0. */
  delta(epsilon: number): number {
    checkEpsilon(epsilon, `${AT}.delta`);
    if (this.kind === 'pld') return deltaOfComposed(this.plds(), epsilon);
    return deltaFromRdp(this.rdpCurve(), epsilon).delta;
  }

  /** The composed PLDs of the current history (recomposed only when the history changed). */
  private plds(): ComposedPld[] {
    const historyKey = JSON.stringify(this.history.map(({ event, count }) => [eventToJson(event), count]));
    if (this.composedPlds?.historyKey !== historyKey) {
      const plds = composeHistory(this.history as { event: PldEvent; count: number }[], this.discretization, this.discretised);
      this.composedPlds = { historyKey, plds };
    }
    return this.composedPlds.plds;
  }

  /** The composed RDP curve (a copy). */
  rdpCurve(): RdpCurve {
    const last = this.history[this.history.length - 1];
    const rdp = Array.from(this.settled);
    if (last !== undefined) for (let i = 0; i < rdp.length; i++) rdp[i] += last.count * last.curve[i];
    return { orders: this.orders, rdp };
  }

  /** What was composed, in order, consecutive repeats merged. */
  composed(): readonly ComposedEvent[] {
    return this.history.map(({ event, count }) => ({ event, count }));
  }

  /** A copy (so a caller can ask "what if one more round" without changing this one). */
  clone(): PrivacyAccountant {
    const copy = Object.create(PrivacyAccountant.prototype) as PrivacyAccountant;
    Object.assign(copy, {
      kind: this.kind,
      orders: this.orders,
      settled: Float64Array.from(this.settled),
      history: this.history.map((entry) => ({ ...entry })),
      curves: this.curves,
      discretization: this.discretization,
      discretised: this.discretised,
      composedPlds: this.composedPlds,
    });
    return copy;
  }

  /** Plain JSON of what was composed, to checkpoint with a round and to rebuild from. */
  toJSON(): AccountantJson {
    return {
      format: ACCOUNTANT_JSON_FORMAT,
      kind: this.kind,
      orders: [...this.orders],
      ...(this.discretization === DEFAULT_PLD_DISCRETIZATION ? {} : { discretization: this.discretization }),
      composed: this.history.map(({ event, count }) => ({ event: eventToJson(event), count })),
    };
  }

  /** Rebuilds an accountant from toJSON's output (a DpConfigError, naming the path, if it is not that). */
  static fromJSON(value: unknown): PrivacyAccountant {
    const parsed = AccountantJsonSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.join('.') || '(top level)';
      throw new DpConfigError(`PrivacyAccountant.fromJSON: ${path}: ${issue.message} (expected what PrivacyAccountant.toJSON() writes, format '${ACCOUNTANT_JSON_FORMAT}').`, {
        at: 'PrivacyAccountant.fromJSON',
        field: path,
      });
    }
    const { kind, orders, discretization } = parsed.data;
    const accountant = new PrivacyAccountant({ kind, orders, ...(discretization === undefined ? {} : { discretization }) });
    for (const { event, count } of parsed.data.composed) accountant.compose(eventFromJson(event), count);
    return accountant;
  }

  private curveOf(event: DpEvent): Float64Array {
    const key = JSON.stringify(eventToJson(event));
    let curve = this.curves.get(key);
    if (curve === undefined) {
      curve = rdpOfEvent(event, this.orders);
      this.curves.set(key, curve);
    }
    return curve;
  }
}

export const ACCOUNTANT_JSON_FORMAT = 'fedsim.privacy-accountant/1';

/** JSON has no Infinity: an rdp-curve's unbounded orders are written as the string "Infinity". */
type JsonRdpValue = number | 'Infinity';
type JsonDpEvent =
  | { kind: 'gaussian'; noiseMultiplier: number }
  | { kind: 'poisson-sampled-gaussian'; samplingRate: number; noiseMultiplier: number }
  | { kind: 'rdp-curve'; name: string; orders: number[]; rdp: JsonRdpValue[] };

export interface AccountantJson {
  format: typeof ACCOUNTANT_JSON_FORMAT;
  kind: AccountantKind;
  orders: number[];
  discretization?: number;
  composed: { event: JsonDpEvent; count: number }[];
}

function eventToJson(event: DpEvent): JsonDpEvent {
  if (event.kind !== 'rdp-curve') return { ...event };
  return { kind: 'rdp-curve', name: event.name, orders: [...event.orders], rdp: event.rdp.map((r) => (r === Infinity ? 'Infinity' : r)) };
}

function eventFromJson(event: JsonDpEvent): DpEvent {
  if (event.kind !== 'rdp-curve') return event;
  return { ...event, rdp: event.rdp.map((r) => (r === 'Infinity' ? Infinity : r)) };
}

// Shapes only; the values are checked by compose (one set of rules, one set of messages).
const JsonDpEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('gaussian'), noiseMultiplier: z.number() }).strict(),
  z.object({ kind: z.literal('poisson-sampled-gaussian'), samplingRate: z.number(), noiseMultiplier: z.number() }).strict(),
  z.object({ kind: z.literal('rdp-curve'), name: z.string(), orders: z.array(z.number()), rdp: z.array(z.union([z.number(), z.literal('Infinity')])) }).strict(),
]);

const AccountantJsonSchema = z
  .object({
    format: z.literal(ACCOUNTANT_JSON_FORMAT),
    kind: z.enum(['rdp', 'pld']),
    orders: z.array(z.number()).min(1),
    discretization: z.number().optional(),
    composed: z.array(z.object({ event: JsonDpEventSchema, count: z.number().int().min(0) }).strict()),
  })
  .strict();
