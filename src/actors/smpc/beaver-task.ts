/**
 * One owner's part in multiplying two shared values (SPDZ-style, with a crypto provider),
 * and in dividing a shared value by a public divisor (fixed-point truncation).
 *
 *   beaver:   wait for x_p, y_p and the triple (a_p, b_p, c_p) from the crypto provider
 *             → send d_p = x_p − a_p, e_p = y_p − b_p to every other owner
 *             → with all openings, d = Σ d_q, e = Σ e_q, and z_p = c_p + d·b_p + a_p·e (+ d·e for party 0)
 *             (matMul: c_p + d @ b_p + a_p @ e (+ d @ e)).
 *   truncate: with (r_p, r'_p) from the crypto provider, r' = floor(r / S) for a uniform r:
 *             send c_p = z_p − r_p to every other owner → with all openings, c = z − r, and
 *             the share of floor(z / S) is r'_p, plus floor(c / S) for party 0 (beaver.ts).
 *
 * The owners exchange openings directly (PySyft 0.2 routed them through the local worker,
 * which then saw them; here `me` sees no opening). What each party sees: the crypto
 * provider deals uniform triples and never sees a share of x or y; each owner sees its own
 * shares and the opened d = x − a, e = y − b and c = z − r, each uniform because a, b, r
 * are uniform and no single owner knows them. Nobody sees x, y or x·y.
 *
 * If this owner fails (bad shapes, a bad triple), it tells the other owners, who fail
 * too, so nobody waits for an opening that will never come.
 */
import type { SmpcCommand } from '../../messages/index.js';
import type { RequestRef } from '../worker-mail.js';
import type { Turn } from '../worker-state.js';
import { toSigned } from './additive.js';
import { beaverMaskShares, beaverProductShare, floorDiv } from './beaver.js';
import { matMulProductShare } from './beaver-matmul.js';
import { assertFederationParties, type OpenPayload, type SmpcEngine, type SmpcTask, type TriplePayload, labelOf, ringInput, storeResult } from './engine.js';
import { approximately, derivedFrom, type Label, linearCombination, PUBLIC_LABEL, weight } from '../privacy/label.js';
import { fromBigints, matMulDims, sameShape, toBigints } from './ring-ops.js';
import { RingTensor } from './ring-tensor.js';
import { checkWorkerAllocation } from '../compute/budget.js';
import { SmpcError } from './smpc-error.js';
import { reducer } from './additive.js';

type Multiply = Extract<SmpcCommand, { op: 'beaver' }>;
type Truncate = Extract<SmpcCommand, { op: 'truncate' }>;
type Step = 'beaver' | 'truncate';

export class BeaverTask implements SmpcTask {
  readonly resultId: string;
  private phase: 'inputs' | 'opened' | 'truncating' = 'inputs';
  private triple: TriplePayload | null = null;
  private field = 0n;
  private shape: number[] = [];
  /** This owner's share of the product (before truncation). */
  private z: bigint[] = [];
  /** This owner's shares of what is being opened in the current step. */
  private own: { d?: bigint[]; e?: bigint[]; c?: bigint[] } = {};
  /** True when a failure came from a peer (so it is not echoed back). */
  private peerFailed = false;
  /** The result's privacy label, from the operands' (read when the task reads them). */
  private label: Label = PUBLIC_LABEL;

  constructor(
    private readonly cmd: Multiply | Truncate,
    readonly requester: RequestRef,
  ) {
    this.resultId = cmd.resultId;
  }

  readLabel(): Label {
    return this.label;
  }

  needs(id: string): boolean {
    if (this.phase !== 'inputs') return false; // the inputs were read when the openings went out
    return this.cmd.op === 'beaver' ? id === this.cmd.x || id === this.cmd.y : id === this.cmd.source;
  }

  private get what(): string {
    return `${this.cmd.op === 'beaver' ? this.cmd.kind : 'truncate'} (result ${this.cmd.resultId}, party ${this.cmd.party} of [${this.cmd.owners.join(', ')}])`;
  }

  private fail(message: string, turn: Turn): never {
    throw new SmpcError('SmpcProtocolError', `${this.what} on ${turn.worker.id}: ${message}`, { worker: turn.worker.id, objectId: this.cmd.resultId, op: this.cmd.op });
  }

  advance(turn: Turn, engine: SmpcEngine): boolean {
    if (this.phase === 'inputs' && !this.start(turn, engine)) return false;
    if (this.phase === 'opened' && !this.multiply(turn, engine)) return false;
    if (this.phase === 'truncating') return this.truncate(turn, engine);
    return true;
  }

  /** Waits for the inputs and the crypto provider's shares, then opens d and e (or c). */
  private start(turn: Turn, engine: SmpcEngine): boolean {
    const { worker } = turn;
    const cmd = this.cmd;
    if (cmd.owners[cmd.party] !== worker.id) this.fail(`this worker is not party ${cmd.party} (that is ${cmd.owners[cmd.party]})`, turn);
    assertFederationParties(worker, [...cmd.owners, cmd.dealer], cmd.op);
    if (cmd.owners.includes(cmd.dealer)) this.fail(`the crypto provider '${cmd.dealer}' is also an owner; it would know the triple and so, from the openings, the operands`, turn);
    const x = ringInput(worker, cmd.op === 'beaver' ? cmd.x : cmd.source, cmd.op);
    const y = cmd.op === 'beaver' ? ringInput(worker, cmd.y, cmd.op) : undefined;
    if (!x || (cmd.op === 'beaver' && !y)) return false;
    const triple = engine.takeTriple(cmd.resultId);
    if (!triple) return false;
    this.triple = triple;
    // A product of shares is a function of both operands (not a sum of contributions); a truncation scales.
    this.label =
      cmd.op === 'beaver'
        ? derivedFrom([labelOf(worker, cmd.x), labelOf(worker, cmd.y)], worker.parts)
        : linearCombination([{ label: labelOf(worker, cmd.source), scale: weight(toSigned(BigInt(cmd.scalar ?? '1') % x.field, x.field)) }]);
    if (triple.from !== cmd.dealer) this.fail(`the triple came from '${triple.from}', not from the crypto provider '${cmd.dealer}'`, turn);
    if (triple.failed) {
      this.peerFailed = true;
      this.fail(`the crypto provider '${cmd.dealer}' could not deal: ${triple.failed.message}`, turn);
    }
    this.field = x.field;
    const divisor = cmd.divisor === undefined ? null : BigInt(cmd.divisor);
    if (cmd.op === 'truncate') {
      this.shape = [...x.shape];
      const scalar = BigInt(cmd.scalar ?? '1') % this.field;
      const mod = reducer(this.field);
      this.z = Array.from(x.values, (v) => mod(scalar * v));
      this.openTruncation(turn, divisor!);
      return true;
    }
    if (y!.field !== x.field) this.fail(`x is mod ${x.field} and y mod ${y!.field}`, turn);
    const a = this.part(triple.a, 'a', turn);
    const b = this.part(triple.b, 'b', turn);
    if (cmd.kind === 'mul') {
      if (!sameShape(x.shape, y!.shape)) this.fail(`shapes [${x.shape}] and [${y!.shape}] differ; mul is element by element`, turn);
      if (!sameShape(a.shape, x.shape) || !sameShape(b.shape, y!.shape)) this.fail(`the triple's shapes [${a.shape}], [${b.shape}] do not match the operands [${x.shape}]`, turn);
      this.shape = [...x.shape];
      this.own = beaverMaskShares(toBigints(x.values), toBigints(y!.values), { a: toBigints(a.values), b: toBigints(b.values) }, this.field);
    } else {
      const { m, n } = matMulDims(x.shape, y!.shape, this.what);
      checkWorkerAllocation(worker, 'matMul', 'a shared product', m * n);
      if (!sameShape(a.shape, x.shape) || !sameShape(b.shape, y!.shape)) this.fail(`the triple's shapes [${a.shape}], [${b.shape}] do not match the operands [${x.shape}], [${y!.shape}]`, turn);
      this.shape = [m, n];
      const mod = reducer(this.field);
      this.own = { d: Array.from(x.values, (v, i) => mod(v - a.values[i])), e: Array.from(y!.values, (v, i) => mod(v - b.values[i])) };
    }
    this.send(turn, 'beaver', { d: this.own.d!, e: this.own.e! }, [x.shape, y!.shape]);
    this.phase = 'opened';
    return true;
  }

  /** With every owner's d and e: this owner's share of the product. */
  private multiply(turn: Turn, engine: SmpcEngine): boolean {
    const opens = this.opensOf(turn, engine, 'beaver');
    if (!opens) return false;
    const mod = reducer(this.field);
    const d = [...this.own.d!];
    const e = [...this.own.e!];
    for (const open of opens) {
      const dq = this.part(open.d, 'd', turn).values;
      const eq = this.part(open.e, 'e', turn).values;
      if (dq.length !== d.length || eq.length !== e.length) this.fail(`party ${open.party}'s opening has the wrong length`, turn);
      for (let i = 0; i < d.length; i++) d[i] = mod(d[i] + dq[i]);
      for (let i = 0; i < e.length; i++) e[i] = mod(e[i] + eq[i]);
    }
    const cmd = this.cmd as Multiply;
    const triple = this.triple!;
    const shares = { a: toBigints(this.part(triple.a, 'a', turn).values), b: toBigints(this.part(triple.b, 'b', turn).values), c: toBigints(this.part(triple.c, 'c', turn).values) };
    if (cmd.kind === 'mul') {
      this.z = beaverProductShare(cmd.party, d, e, shares, this.field);
    } else {
      const ring = (t: TriplePayload['a']) => this.part(t, 'shape', turn).shape;
      const { m, k, n } = matMulDims(ring(triple.a), ring(triple.b), this.what);
      this.z = matMulProductShare(cmd.party, d, e, shares, m, k, n, this.field);
    }
    if (cmd.divisor === undefined) {
      storeResult(turn.worker, this.resultId, new RingTensor(fromBigints(this.z), this.shape, this.field), this.label);
      return true;
    }
    this.openTruncation(turn, BigInt(cmd.divisor));
    return true;
  }

  private openTruncation(turn: Turn, divisor: bigint): void {
    if (divisor < 1n) this.fail(`the divisor must be positive, got ${divisor}`, turn);
    const r = this.part(this.triple!.r, 'r', turn).values;
    if (r.length !== this.z.length) this.fail(`the truncation pair has ${r.length} values, the product ${this.z.length}`, turn);
    const mod = reducer(this.field);
    this.own = { c: this.z.map((z, i) => mod(z - r[i])) };
    this.send(turn, 'truncate', { c: this.own.c! }, [this.shape]);
    this.phase = 'truncating';
  }

  /** With every owner's share of c = z − r: the share of floor(z / divisor). */
  private truncate(turn: Turn, engine: SmpcEngine): boolean {
    const opens = this.opensOf(turn, engine, 'truncate');
    if (!opens) return false;
    const mod = reducer(this.field);
    const c = [...this.own.c!];
    for (const open of opens) {
      const cq = this.part(open.c, 'c', turn).values;
      if (cq.length !== c.length) this.fail(`party ${open.party}'s opening has the wrong length`, turn);
      for (let i = 0; i < c.length; i++) c[i] = mod(c[i] + cq[i]);
    }
    const divisor = BigInt(this.cmd.divisor!);
    const rTruncated = this.part(this.triple!.rTruncated, 'rTruncated', turn).values;
    const out = new BigUint64Array(c.length);
    for (let i = 0; i < c.length; i++) {
      out[i] = this.cmd.party === 0 ? mod(rTruncated[i] + floorDiv(toSigned(c[i], this.field), divisor)) : rTruncated[i];
    }
    // Rounded (and wrapped when the scaled value overflows): a new value of the same parts, never an exact multiple.
    const scaled = approximately(this.label, weight(1n, divisor), turn.worker.parts);
    storeResult(turn.worker, this.resultId, new RingTensor(out, this.shape, this.field), scaled);
    return true;
  }

  /** The other owners' openings of `step`, checked to come from the owner each claims to be. */
  private opensOf(turn: Turn, engine: SmpcEngine, step: Step): OpenPayload[] | undefined {
    const opens = engine.takeOpens(this.cmd.resultId, step, this.cmd.owners.length - 1);
    if (!opens) return undefined;
    for (const open of opens) {
      if (open.failed) {
        this.peerFailed = true;
        this.fail(`owner '${open.from}' failed: ${open.failed.message}`, turn);
      }
      if (open.party === this.cmd.party || this.cmd.owners[open.party] !== open.from) {
        this.fail(`an opening claims to be party ${open.party} but came from '${open.from}'`, turn);
      }
    }
    return opens;
  }

  private part(wire: TriplePayload['a'], name: string, turn: Turn): RingTensor {
    if (!wire) this.fail(`the crypto provider's message has no '${name}'`, turn);
    const ring = RingTensor.fromWire(wire, `${this.what}: ${name}`);
    if (ring.field !== this.field) this.fail(`'${name}' is mod ${ring.field}, the operands mod ${this.field}`, turn);
    return ring;
  }

  private send(turn: Turn, step: Step, values: { d?: bigint[]; e?: bigint[]; c?: bigint[] }, shapes: ReadonlyArray<readonly number[]>): void {
    const wire = (v: bigint[], shape: readonly number[]) => ({ values: fromBigints(v), shape: [...shape], field: this.field.toString() });
    const payload = {
      session: this.cmd.resultId,
      step,
      party: this.cmd.party,
      ...(values.d ? { d: wire(values.d, shapes[0]) } : {}),
      ...(values.e ? { e: wire(values.e, shapes[1]) } : {}),
      ...(values.c ? { c: wire(values.c, shapes[0]) } : {}),
    };
    for (const owner of this.cmd.owners) if (owner !== turn.worker.id) turn.mail.send(owner, 'smpc/open', payload);
  }

  onFailure(turn: Turn, error: unknown): void {
    if (this.peerFailed) return;
    const step: Step = this.phase === 'truncating' || this.cmd.op === 'truncate' ? 'truncate' : 'beaver';
    const { name, message } = error as Error;
    for (const owner of this.cmd.owners) {
      if (owner !== turn.worker.id) turn.mail.send(owner, 'smpc/open', { session: this.cmd.resultId, step, party: this.cmd.party, failed: { name, message } });
    }
  }
}
