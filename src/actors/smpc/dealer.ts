/**
 * The crypto provider's job (PySyft 0.2's `crypto_provider=james`): deal each owner its
 * shares of a Beaver triple — elementwise (beaver.ts) or for a matrix product
 * (beaver-matmul.ts) — and/or of a truncation pair, one `smpc/triple` message per owner.
 *
 * It draws from its own stream `actor/<id>/smpc/dealer`, sees only shapes, the modulus and
 * who the owners are, and must not be an owner itself (it would know a and b, so the
 * opened d and e would give it x and y). If it cannot deal, every owner is told, so no
 * owner waits for a triple that will not come.
 */
import type { SmpcCommand } from '../../messages/index.js';
import type { Turn } from '../worker-state.js';
import { type BeaverTriple, beaverTriple, truncationPair } from './beaver.js';
import { matMulTriple } from './beaver-matmul.js';
import { fromBigints, matMulDims, sameShape } from './ring-ops.js';
import { checkWordField } from './ring-vector.js';
import { SmpcError } from './smpc-error.js';
import { checkWorkerAllocation } from '../compute/budget.js';
import { assertFederationParties } from './engine.js';

type Deal = Extract<SmpcCommand, { op: 'deal' }>;

/** The crypto provider's stream (under `actor/<id>/`). */
export const DEALER_STREAM = 'smpc/dealer';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function deal(turn: Turn, cmd: Deal): void {
  const { worker, mail } = turn;
  try {
    dealShares(turn, cmd);
  } catch (error) {
    const { name, message } = error as Error;
    for (const owner of cmd.owners) mail.send(owner, 'smpc/triple', { session: cmd.session, failed: { name, message, where: { worker: worker.id, op: 'deal' } } });
    throw error;
  }
}

function dealShares(turn: Turn, cmd: Deal): void {
  const { worker, mail } = turn;
  const what = `crypto provider ${worker.id}, ${cmd.kind} for session ${cmd.session}`;
  const refuse = (message: string): never => {
    throw new SmpcError('SmpcProtocolError', `${what}: ${message}`, { worker: worker.id, op: 'deal', session: cmd.session });
  };
  if (cmd.owners.includes(worker.id)) refuse(`the crypto provider is also an owner; it would learn the factors. Use a worker that holds no share as crypto provider`);
  if (new Set(cmd.owners).size !== cmd.owners.length) refuse(`owners repeat: [${cmd.owners.join(', ')}]`);
  assertFederationParties(worker, cmd.owners, 'deal');
  const field = BigInt(cmd.field);
  checkWordField(field, what);
  const parties = cmd.owners.length;
  // Shapes come from the message: the triples they ask for are counted before any is drawn.
  const x = size(cmd.xShape);
  const y = cmd.yShape ? size(cmd.yShape) : x;
  const dims = cmd.kind === 'matMul' && cmd.yShape && cmd.xShape.length === 2 && cmd.yShape.length === 2 ? { m: cmd.xShape[0], k: cmd.xShape[1], n: cmd.yShape[1] } : null;
  const product = dims ? dims.m * dims.n : x;
  const tripleElements = cmd.kind === 'truncate' ? 0 : dims ? dims.m * dims.k + dims.k * dims.n + dims.m * dims.n : x + y + x;
  checkWorkerAllocation(worker, 'deal', 'Beaver triples and truncation pairs for every owner', parties * (tripleElements + (cmd.divisor === undefined ? 0 : 2 * product)));
  const rng = turn.io.rng(DEALER_STREAM);
  let triple: BeaverTriple | null = null;
  let shapes: { a: number[]; b: number[]; c: number[] } | null = null;
  let productShape: number[] = [...cmd.xShape];
  if (cmd.kind === 'mul') {
    if (!cmd.yShape || !sameShape(cmd.xShape, cmd.yShape)) refuse(`mul needs two operands of one shape, got [${cmd.xShape}] and [${cmd.yShape ?? ''}]`);
    triple = beaverTriple(size(cmd.xShape), parties, rng, field);
    shapes = { a: [...cmd.xShape], b: [...cmd.xShape], c: [...cmd.xShape] };
  } else if (cmd.kind === 'matMul') {
    if (!cmd.yShape) refuse('matMul needs the shape of both operands');
    const { m, k, n } = matMulDims(cmd.xShape, cmd.yShape!, what);
    triple = matMulTriple(m, k, n, parties, rng, field);
    productShape = [m, n];
    shapes = { a: [m, k], b: [k, n], c: [m, n] };
  }
  const divisor = cmd.divisor === undefined ? null : BigInt(cmd.divisor);
  if (cmd.kind === 'truncate' && divisor === null) refuse('a truncation needs a divisor');
  if (divisor !== null && divisor < 1n) refuse(`the divisor must be positive, got ${divisor}`);
  const pair = divisor === null ? null : truncationPair(size(productShape), parties, divisor, rng, field);
  const wire = (values: bigint[], shape: number[]) => ({ values: fromBigints(values), shape, field: cmd.field });
  cmd.owners.forEach((owner, p) => {
    mail.send(owner, 'smpc/triple', {
      session: cmd.session,
      ...(triple && shapes ? { a: wire(triple.a[p], shapes.a), b: wire(triple.b[p], shapes.b), c: wire(triple.c[p], shapes.c) } : {}),
      ...(pair ? { r: wire(pair.r[p], productShape), rTruncated: wire(pair.rTruncated[p], productShape) } : {}),
    });
  });
}
