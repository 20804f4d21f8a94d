/**
 * Making an AdditiveSharingTensor: `share(bob, alice, { cryptoProvider: james })` on a
 * value here (the shares are drawn here and sent, one message per owner) or on a worker
 * (that worker draws them and sends them straight to the owners; `me` only names ids).
 *
 * The owners are checked as PySyft checked them, before anything is sent: at least two,
 * distinct, workers of this simulation, and a crypto provider that is not one of them.
 */
import { FedsimError } from '../runtime/index.js';
import { RING_2_64, splitVector } from '../actors/index.js';
import { AdditiveSharingTensor, type Meaning, type Revealed } from './additive-sharing-tensor.js';
import { VirtualWorker } from './worker-handle.js';

export interface ShareOptions {
  /** The worker that deals Beaver triples for multiplications (it must not be an owner). */
  cryptoProvider?: VirtualWorker;
  /** The modulus Q of the shares, at most 2^64 (default: the fixed-precision value's, else 2^64). */
  field?: bigint;
}

/** `share(bob, alice, { cryptoProvider: james })`: owners, then options. */
export type ShareTarget = VirtualWorker | ShareOptions;

const names = (workers: readonly VirtualWorker[]) => workers.map((w) => w.id).join(', ');

/** Owners and options from `share(...)`'s arguments, checked as PySyft checked them. */
function parseTargets(targets: readonly ShareTarget[], op: string): { owners: VirtualWorker[]; options: ShareOptions } {
  const owners = targets.filter((t): t is VirtualWorker => t instanceof VirtualWorker);
  const options = (targets.find((t) => t !== undefined && !(t instanceof VirtualWorker)) ?? {}) as ShareOptions;
  if (owners.length < 2) {
    throw new FedsimError(
      `${op}: additive sharing needs at least two owners, got ${owners.length}${owners.length ? ` (${names(owners)})` : ''}. ` +
        'With one owner the "share" would be the value itself; name two or more workers: x.share(bob, alice).',
    );
  }
  const sim = owners[0].sim;
  for (const owner of owners) {
    sim.assertOwnWorker(owner, op);
    if (owner.isClient) throw new FedsimError(`${op}: ${owner.id} is the local worker and holds no objects; shares go to workers made with sim.worker().`);
  }
  if (new Set(owners.map((o) => o.id)).size !== owners.length) throw new FedsimError(`${op}: owners repeat (${names(owners)}); each owner holds one share.`);
  const provider = options.cryptoProvider;
  if (provider !== undefined) {
    if (!(provider instanceof VirtualWorker)) throw new TypeError(`${op}: cryptoProvider must be a worker (sim.worker('james')).`);
    sim.assertOwnWorker(provider, op);
    if (owners.includes(provider)) {
      throw new FedsimError(`${op}: the crypto provider ${provider.id} is also an owner; it would know the triples' factors and so, from the openings, the operands. Use a worker that holds no share.`);
    }
  }
  return { owners, options };
}

function fieldOf(options: ShareOptions, meaning: Meaning, op: string): bigint {
  const field = options.field ?? meaning.field;
  if (typeof field !== 'bigint' || field < 2n || field > RING_2_64) throw new RangeError(`${op}: field must be a bigint in [2, 2^64], got ${String(field)}`);
  if (field !== meaning.field && meaning.fixed) {
    throw new FedsimError(`${op}: the value was encoded mod ${meaning.field}, not mod ${field}; pass the field to fixPrecision({ field }) instead.`);
  }
  return field;
}

/** Shares drawn here, on `me` (stream `<me>/smpc/share`), one `smpc/share` message per owner. */
export function shareLocally(values: BigUint64Array, shape: readonly number[], meaning: Meaning, targets: readonly ShareTarget[]): AdditiveSharingTensor<Revealed> {
  const { owners, options } = parseTargets(targets, 'share');
  const sim = owners[0].sim;
  const field = fieldOf(options, meaning, 'share');
  const id = sim.nextId();
  const shares = splitVector(values, owners.length, sim.rng(`${sim.driverId}/smpc/share`), field);
  owners.forEach((owner, i) => sim.tell(owner.id, 'smpc/share', { id, share: { values: shares[i], shape: [...shape], field: field.toString() } }));
  return new AdditiveSharingTensor({ sim, id, owners, shape, fixed: meaning.fixed, field, cryptoProvider: options.cryptoProvider ?? null });
}

/** Shares drawn by `holder` from its object `source` (its stream `actor/<holder>/smpc/share`), sent straight to the owners. */
export function shareRemotely(holder: VirtualWorker, source: string, shape: readonly number[] | undefined, meaning: Meaning, targets: readonly ShareTarget[]): AdditiveSharingTensor<Revealed> {
  const { owners, options } = parseTargets(targets, 'share');
  const sim = holder.sim;
  if (!shape) throw new FedsimError(`share: the shape of object ${source} on ${holder.id} is not known here (it is the result of a remote op); await ptr.getShape() before sharing it.`);
  sim.assertOwnWorker(holder, 'share');
  const field = fieldOf(options, meaning, 'share');
  const id = sim.nextId();
  sim.tell(holder.id, 'smpc', { op: 'share', source, resultId: id, owners: owners.map((o) => o.id), field: field.toString() });
  return new AdditiveSharingTensor({ sim, id, owners, shape, fixed: meaning.fixed, field, cryptoProvider: options.cryptoProvider ?? null });
}

