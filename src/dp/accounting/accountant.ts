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
  private readonly rdp: Float64Array;
  private readonly history: { event: DpEvent; count: number }[] = [];
  /** RDP curves of events seen, by event (clones share it: the curves are pure functions of the event). */
  private readonly curves: Map<string, Float64Array>;

  constructor(options: PrivacyAccountantOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new DpConfigError(`${AT}: options must be an object { kind?, orders? }, got ${String(options)}.`, { at: AT, field: 'options' });
    }
    const unknown = Object.keys(options).filter((k) => k !== 'kind' && k !== 'orders');
    if (unknown.length > 0) throw new DpConfigError(`${AT}: unknown option ${unknown.join(', ')} (options: kind, orders).`, { at: AT, field: unknown[0] });
    const kind = options.kind ?? 'rdp';
    if (!ACCOUNTANT_KINDS.includes(kind)) {
      throw new DpConfigError(`${AT}: kind must be one of ${ACCOUNTANT_KINDS.join(', ')}, got ${JSON.stringify(kind)}.`, { at: AT, field: 'kind', value: kind });
    }
    if (kind === 'pld') {
      throw new DpConfigError(`${AT}: the PLD accountant is not available yet; use kind 'rdp'.`, { at: AT, field: 'kind', value: kind });
    }
    this.kind = kind;
    this.orders = options.orders === undefined ? DEFAULT_ORDERS : checkOrders(options.orders, AT, 'orders');
    this.rdp = new Float64Array(this.orders.length);
    this.curves = new Map();
  }

  /** Adds `count` repetitions (an integer ≥ 0, default 1) of the event. */
  compose(event: DpEvent, count = 1): this {
    const checked = checkDpEvent(event, `${AT}.compose`);
    checkCount(count, `${AT}.compose`);
    if (count === 0) return this;
    const curve = this.curveOf(checked);
    for (let i = 0; i < curve.length; i++) this.rdp[i] += count * curve[i];
    const last = this.history[this.history.length - 1];
    if (last !== undefined && sameDpEvent(last.event, checked)) last.count += count;
    else this.history.push({ event: checked, count });
    return this;
  }

  /** The smallest ε at which everything composed so far is (ε, δ)-DP, δ ∈ (0, 1). */
  epsilon(delta: number): PrivacySpent {
    checkDelta(delta, `${AT}.epsilon`);
    const { epsilon, order } = epsilonFromRdp(this.rdpCurve(), delta);
    return order === undefined ? { epsilon, delta, accountant: this.kind } : { epsilon, delta, order, accountant: this.kind };
  }

  /** The smallest δ at which everything composed so far is (ε, δ)-DP, ε ≥ 0. */
  delta(epsilon: number): number {
    checkEpsilon(epsilon, `${AT}.delta`);
    return deltaFromRdp(this.rdpCurve(), epsilon).delta;
  }

  /** The composed RDP curve (a copy). */
  rdpCurve(): RdpCurve {
    return { orders: this.orders, rdp: Array.from(this.rdp) };
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
      rdp: Float64Array.from(this.rdp),
      history: this.history.map(({ event, count }) => ({ event, count })),
      curves: this.curves,
    });
    return copy;
  }

  /** Plain JSON of what was composed, to checkpoint with a round and to rebuild from. */
  toJSON(): AccountantJson {
    return {
      format: ACCOUNTANT_JSON_FORMAT,
      kind: this.kind,
      orders: [...this.orders],
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
    const accountant = new PrivacyAccountant({ kind: parsed.data.kind, orders: parsed.data.orders });
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
    composed: z.array(z.object({ event: JsonDpEventSchema, count: z.number().int().min(0) }).strict()),
  })
  .strict();
