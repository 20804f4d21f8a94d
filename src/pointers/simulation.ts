/**
 * Simulation: the runtime's SimulationCore plus PySyft's world — workers, the local
 * worker `me`, pointer ids, tidy scopes and per-link byte counts.
 *
 * Everything the pointer layer sends goes through `tell` (one-way) or `ask` (request):
 * one send path (wire-sender.ts) that prepares the payload for the wire and hands it to
 * the Host — this simulation's core in process, the same core with a live transport
 * (NATS) across processes.
 */
import {
  type ActorId,
  type Envelope,
  ERROR_REPLY,
  type FaultPlan,
  type ErrorPayload,
  RemoteError,
  type Reply,
  SimulationCore,
  type SimulationOptions,
  UnknownActorError,
  FedsimError,
} from '../runtime/index.js';
import { type Arg, claimDelivery, disposeTensorsIn, type ReplyPayload } from '../messages/index.js';
import type { Host } from '../runtime/transport/host.js';
import { WireSender } from './wire-sender.js';
import { virtualWorkerMachine } from '../actors/index.js';
import { VIRTUAL_WORKER_KIND } from './placed-workers.js';
import { LinkMetrics } from './link-metrics.js';
import { MultiPointerTensor } from './multi-pointer.js';
import { isMultiPointer, isPointer } from './op-args.js';
import { PointerTensor } from './pointer-tensor.js';
import './remote-ops.js'; // installs the op methods on pointers
import './smpc-methods.js'; // installs fixPrecision() and share() on pointers
import { VirtualWorker, type WorkerOptions } from './worker-handle.js';
import { WorkerInspector } from './inspector.js';

type Tracked = PointerTensor<any> | MultiPointerTensor;

/** Whether a fault plan can deliver a message twice (only then do receivers need to recognise duplicates). */
function mayDuplicate(plan: FaultPlan): boolean {
  return (plan.duplicate ?? 0) > 0 || plan.links.some((rule) => (rule.duplicate ?? 0) > 0) || plan.script.some((fault) => fault.duplicateAfter !== undefined);
}

/** How many failures of one-way messages `remoteErrors` keeps (the oldest go first). */
const REMOTE_ERRORS_KEPT = 1000;

/** The simulation with workers: `me` is the local worker's handle, as in PySyft (its id is `sim.driverId`). */
export class Simulation extends SimulationCore {
  /** Bytes and messages per link and per worker. */
  readonly metrics: LinkMetrics;
  /** Failures of one-way messages (commands, deletes, …) reported back to `me`; they also surface at the next dependent await. */
  readonly remoteErrors: RemoteError[] = [];
  private readonly handles = new Map<ActorId, VirtualWorker>();
  private readonly local: VirtualWorker;
  private readonly scopes: Set<Tracked>[] = [];
  private idCounter = 0;
  /**
   * Receivers recognise duplicate deliveries (a little bookkeeping per message) when the fault plan
   * makes them, and always in a live run and its replay: there a message can arrive twice without
   * the plan (re-sent by a network or by anyone who can publish on the run's subjects).
   */
  private readonly dedup: boolean;
  /** The host pointers and handles send through (this simulation's core, whatever its transport). */
  readonly host: Host;
  private readonly wire: WireSender;

  constructor(options: SimulationOptions = {}) {
    super(options);
    this.dedup = mayDuplicate(this.log.header.faults) || options.transport !== undefined || options.follow !== undefined;
    this.host = this;
    this.wire = new WireSender(this.host, this.dedup);
    this.local = new VirtualWorker(this, this.driver.id, true);
    this.metrics = new LinkMetrics(this.events$);
    this.driver.unsolicited$.subscribe((envelope) => this.unsolicited(envelope));
    // A message lost to a fault, a crash or a partition still owns its tensors: free them.
    // (Only without duplicates: with them, another copy of the payload may still arrive.)
    if (!this.dedup) this.eventsOf('dropped').subscribe((event) => disposeTensorsIn(event.envelope.payload));
    this.eventsOf('restarted').subscribe((event) => {
      if (!event.stateKept) this.handles.get(event.actor)?.discardStore();
    });
  }

  /** The local worker (`<VirtualWorker id:me #objects:0>`): owner of every pointer made here. */
  get me(): VirtualWorker {
    return this.local;
  }

  /** Spawns a VirtualWorker actor and returns its handle (`sim.worker('bob')`). */
  worker(id: ActorId, options: WorkerOptions = {}): VirtualWorker {
    // Objects can move between workers, never to the local client worker (it stores nothing).
    const isPeer = (peer: string) => peer !== this.driver.id && this.hasActor(peer);
    // Only workers made here are believed about privacy labels (an actor spawned by other means is not).
    const isWorker = (peer: string) => this.handles.has(peer);
    if (this.transport) {
      // Live: the worker runs in a `fedsim worker` process; it learns the run's peers from the transport.
      this.placeRemote(id, { kind: VIRTUAL_WORKER_KIND, input: { strict: this.strict, dedup: this.dedup, driverId: this.driverId, ...(options.budget ? { budget: options.budget } : {}) } });
    } else {
      this.spawn(virtualWorkerMachine, id, { input: { strict: this.strict, isPeer, isWorker, dedup: this.dedup, ...(options.budget ? { budget: options.budget } : {}) } });
    }
    const handle = new VirtualWorker(this, id, false, options);
    this.handles.set(id, handle);
    return handle;
  }

  /**
   * The debugging door: a worker's store read directly, values, labels and private
   * failures included, bypassing every check (inspector.ts). For debugging and tests of the
   * store; protocols and scenarios use messages (get, search, listObjects).
   */
  inspect(worker: VirtualWorker | ActorId): WorkerInspector {
    return new WorkerInspector(typeof worker === 'string' ? this.workerOf(worker) : worker);
  }

  /** The handle of worker `id` (or of `me`). */
  workerOf(id: ActorId): VirtualWorker {
    if (id === this.driver.id) return this.local;
    const handle = this.handles.get(id);
    if (!handle) throw new UnknownActorError(id, [...this.handles.keys()], `workerOf('${id}')`);
    return handle;
  }

  /** Every worker created with `worker()`, in creation order. */
  get workers(): VirtualWorker[] {
    return [...this.handles.values()];
  }

  assertOwnWorker(worker: VirtualWorker, op: string): void {
    if (worker?.sim !== (this as unknown)) {
      throw new FedsimError(`${op}: ${worker?.id ?? String(worker)} is not a worker of this simulation (seed ${this.seed}); create workers with this simulation's sim.worker().`);
    }
  }

  /** Next object or pointer id: sequential per simulation, so runs with one seed name objects alike. */
  nextId(): string {
    return String(++this.idCounter);
  }

  // ── messaging for the pointer layer ─────────────────────────────────────────

  /** One-way message from `me`, prepared for the wire (wire-sender.ts). */
  tell(to: ActorId, type: string, payload: unknown): string {
    return this.wire.tell(to, type, payload);
  }

  /** Request from `me`, prepared for the wire; awaiting the reply makes the run progress until it arrives. */
  ask(to: ActorId, type: string, payload: unknown): Reply<ReplyPayload> {
    return this.wire.ask(to, type, payload);
  }

  /**
   * The state of worker `id` when it is hosted in this process (the debugging door and the
   * owner's `load()` read it); a clear error when it runs in another process (live runs).
   */
  localWorkerCell(id: ActorId, what: string) {
    if (!this.isLocal(id)) {
      throw new FedsimError(`${what}: ${id} runs in another process (a live run over ${this.transportName}), so its store cannot be read from here; use messages (listObjects(), search(), get()).`);
    }
    return this.actor(id);
  }

  /** Sends a command and returns the result ids it names (chosen here: promise pipelining). */
  command(to: ActorId, op: string, args: Arg[], outputs: number): string[] {
    const resultIds: string[] = [];
    for (let i = 0; i < outputs; i++) resultIds.push(this.nextId());
    this.tell(to, 'command', { op, args, resultIds });
    return resultIds;
  }

  private unsolicited(envelope: Envelope): void {
    if (this.dedup && !claimDelivery(envelope)) return; // a duplicate of a reply already handled
    if (envelope.type === ERROR_REPLY) {
      this.remoteErrors.push(new RemoteError(envelope.from, envelope.payload as ErrorPayload));
      if (this.remoteErrors.length > REMOTE_ERRORS_KEPT) this.remoteErrors.shift();
    }
    disposeTensorsIn(envelope.payload); // a late reply's tensors belong to no one else
  }

  // ── explicit lifetimes ──────────────────────────────────────────────────────

  /** Registers a new pointer with the innermost tidy scope. */
  track(pointer: Tracked): void {
    this.scopes.at(-1)?.add(pointer);
  }

  /**
   * Runs `fn` and then disposes every pointer created meanwhile, except those it
   * returns (directly, in an array or as values of a plain object): like tf.tidy,
   * for remote objects. One delete message per worker. `fn` may be async.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tracked>();
    this.scopes.push(scope);
    const close = (kept: unknown) => {
      this.scopes.splice(this.scopes.indexOf(scope), 1);
      this.release(scope, kept);
    };
    let result: T;
    try {
      result = fn();
    } catch (error) {
      close(undefined);
      throw error;
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      return (result as unknown as PromiseLike<unknown>).then(
        (value) => {
          close(value);
          return value;
        },
        (error) => {
          close(undefined);
          throw error;
        },
      ) as T;
    }
    close(result);
    return result;
  }

  /** Disposes pointers with one delete message per worker. */
  disposeAll(pointers: Iterable<Tracked>): void {
    const byLocation = new Map<ActorId, string[]>();
    const visit = (p: Tracked) => {
      if (p instanceof MultiPointerTensor) return p.children.forEach(visit);
      if (!p.release()) return;
      const ids = byLocation.get(p.location.id) ?? [];
      ids.push(p.idAtLocation);
      byLocation.set(p.location.id, ids);
    };
    for (const p of pointers) visit(p);
    for (const [location, ids] of byLocation) this.tell(location, 'delete', { ids });
  }

  private release(scope: Set<Tracked>, kept: unknown): void {
    const keep = new Set<Tracked>();
    const mark = (value: unknown, depth: number): void => {
      if (isPointer(value)) keep.add(value);
      else if (isMultiPointer(value)) {
        keep.add(value as MultiPointerTensor);
        (value as MultiPointerTensor).children.forEach((child) => keep.add(child));
      } else if (Array.isArray(value) && depth < 4) value.forEach((v) => mark(v, depth + 1));
      else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && depth < 4) {
        Object.values(value).forEach((v) => mark(v, depth + 1));
      }
    };
    mark(kept, 0);
    this.disposeAll([...scope].filter((p) => !keep.has(p)));
    // What the scope returns belongs to the enclosing scope, as with tf.tidy.
    const parent = this.scopes.at(-1);
    if (parent) for (const p of keep) if (scope.has(p)) parent.add(p);
  }
}
