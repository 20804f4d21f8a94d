/**
 * Turning the arguments of a remote op into a command's wire arguments — and refusing
 * the calls that cannot run on one worker.
 *
 * A remote op runs where its tensors are. Pointers to two different workers, or a
 * pointer and a local tensor, cannot meet without moving data, and fedsim never moves
 * data silently: the call fails here, before any message is sent, and says which
 * argument lives where and how to bring them together.
 */
import { FedsimError } from '../runtime/index.js';
import { type Arg, isTensor, opSpec } from '../messages/index.js';
import { hasBrand, MULTI_POINTER_BRAND, POINTER_BRAND } from './brand.js';
import { TensorsNotCollocatedError } from './errors.js';
import type { PointerTensor } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';
import type { VirtualWorker } from './worker-handle.js';

export const isPointer = (value: unknown): value is PointerTensor<any> => hasBrand(value, POINTER_BRAND);
export const isMultiPointer = (value: unknown): boolean => hasBrand(value, MULTI_POINTER_BRAND);

export interface WiredCall {
  sim: Simulation;
  location: VirtualWorker;
  args: Arg[];
}

interface Found {
  path: string;
  pointer?: PointerTensor<any>;
  local?: { shape: number[] };
}

const label = (path: string | number) => `argument ${path}`;

/** Pointers and local tensors among the arguments, with their positions (1-based, `2.1` inside arrays). */
function survey(args: readonly unknown[]): Found[] {
  const found: Found[] = [];
  const visit = (value: unknown, path: string, depth: number): void => {
    if (isPointer(value)) found.push({ path, pointer: value });
    else if (isTensor(value)) found.push({ path, local: { shape: value.shape } });
    else if (Array.isArray(value) && depth < 8) value.forEach((v, i) => visit(v, `${path}.${i + 1}`, depth + 1));
  };
  args.forEach((value, i) => visit(value, String(i + 1), 0));
  return found;
}

/** `path` names the argument in errors only (1-based; `2.1` inside arrays). */
function toArg(op: string, value: unknown, path: string | number): Arg {
  if (isPointer(value)) return value.refFor(op);
  if (value === undefined || value === null) return null; // tfjs reads a missing optional argument from either
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${op}: ${label(path)} is ${value}; only finite numbers can be sent as literals. Put it in a tensor and send that instead.`);
      return value;
    case 'string':
    case 'boolean':
      return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => toArg(op, v, `${path}.${i + 1}`));
  if (ArrayBuffer.isView(value)) {
    throw new TypeError(`${op}: ${label(path)} is a ${value.constructor.name}: typed arrays are data, and data moves only when you send it. Make it a tensor and send() it to the worker first.`);
  }
  throw new TypeError(`${op}: ${label(path)} (${Object.prototype.toString.call(value)}) cannot be sent. Remote ops take pointers, numbers, strings, booleans, null and arrays of these.`);
}

/**
 * The wire form of a call's arguments and the worker that must run it, or null when
 * no argument is a pointer (the call is local). Throws TensorsNotCollocatedError when
 * the arguments live in different places.
 */
export function wireArgs(op: string, args: readonly unknown[]): WiredCall | null {
  return wireSimpleArgs(op, args) ?? wireAnyArgs(op, args);
}

/**
 * The common case, without allocating a survey: pointers on one worker and scalar
 * literals only. Returns undefined to defer anything else to the general path.
 */
function wireSimpleArgs(op: string, args: readonly unknown[]): WiredCall | null | undefined {
  let first: PointerTensor<any> | undefined;
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (isPointer(value)) {
      if (first === undefined) first = value;
      else if (value.location !== first.location) return undefined;
    } else if (value !== null && value !== undefined && typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') {
      return undefined;
    }
  }
  if (first === undefined) return null;
  const spec = opSpec(op);
  if (spec === undefined || args.length < spec.min || args.length > spec.max) return undefined;
  const wired: Arg[] = new Array(args.length);
  for (let i = 0; i < args.length; i++) wired[i] = toArg(op, args[i], i + 1);
  return { sim: first.sim, location: first.location, args: wired };
}

function wireAnyArgs(op: string, args: readonly unknown[]): WiredCall | null {
  const found = survey(args);
  const pointers = found.filter((f) => f.pointer);
  if (pointers.length === 0) return null;
  const first = pointers[0].pointer!;
  const where = (f: Found) => (f.pointer ? `${label(f.path)} on ${f.pointer.location.id} (object ${f.pointer.idAtLocation})` : `${label(f.path)} here on ${first.owner.id} (a local tensor of shape [${f.local!.shape}])`);
  const strangers = pointers.filter((f) => f.pointer!.location !== first.location);
  if (strangers.length > 0) {
    const places = pointers.map(where).join(', ');
    throw new TensorsNotCollocatedError(
      op,
      found.map((f) => (f.pointer ? f.pointer.location.id : first.owner.id)),
      `${op}: its arguments live on different workers: ${places}. A remote op runs on one worker: first move the tensors together ` +
        `(await ptr.move(${first.location.id}), or send the tensor there), or get() them and compute here.`,
    );
  }
  const locals = found.filter((f) => f.local);
  if (locals.length > 0) {
    throw new TensorsNotCollocatedError(
      op,
      found.map((f) => (f.pointer ? f.pointer.location.id : first.owner.id)),
      `${op}: ${locals.map(where).join(', ')} but ${where(pointers[0])}. fedsim never moves data silently: ` +
        `send the local tensor to ${first.location.id} first (t.send(${first.location.id})), or fetch the remote one with await ptr.get() and compute here.`,
    );
  }
  const spec = opSpec(op);
  if (spec && (args.length < spec.min || args.length > spec.max)) {
    throw new FedsimError(`${op} takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`} argument(s), got ${args.length}.`);
  }
  return { sim: first.sim, location: first.location, args: args.map((value, i) => toArg(op, value, i + 1)) };
}
