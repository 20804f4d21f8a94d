/**
 * SimulationCore: one deterministic run.
 *
 * It owns the virtual clock, the named random streams, the bus, the pending
 * messages, the actors and the event log. `step()` does exactly one thing — fire
 * one due timer or deliver one message — chosen only by virtual time, per-channel
 * FIFO, the fault plan and the seeded `scheduler` stream (or a recorded log).
 */
import { Observable, Subject, filter } from 'rxjs';
import type { AnyActorLogic } from 'xstate';
import { ActorCell, type CellHost } from './actor-cell.js';
import { backendName } from './backend-name.js';
import { VirtualClock } from './clock.js';
import { Driver, Reply } from './driver.js';
import { type ActorId, type Envelope, messageId, NO_SEQ, PostedEnvelope } from './envelope.js';
import { DeadlockError, DuplicateActorError, FedsimError, LivelockError, LogSizeError, ReentrancyError, RequestTimeoutError, UnknownActorError } from './errors.js';
import { EventLog, envelopeDigest, LOG_FORMAT, type LogHeader, LogFileWriter } from './event-log.js';
import { LOST_MESSAGES_KEPT, type LivenessReport, type MessageSummary, buildLivenessReport } from './liveness.js';
import { MessageEventRecord, messageFields, type SimEvent, type SimEventInit, type SimEventKind } from './events.js';
import { type FaultDecider, NO_FAULT, SeededFaultInjector } from './faults/fault-injector.js';
import { type FaultPlan, type FaultPlanInput, parseFaultPlan } from './faults/fault-plan.js';
import { FaultSchedule } from './faults/fault-schedule.js';
import { LogVerifier } from './replay/log-verifier.js';
import { type OnDemandActor, OnDemandActors } from './on-demand-actors.js';
import { type LogStream, type RecordedLog, parseLog, streamOf } from './replay/recorded-log.js';
import { ScheduleOracle } from './replay/schedule-oracle.js';
import { CausalReplay } from './replay/causal-replay.js';
import { type RandomStream, RngRegistry, type Seed, createStream } from './rng.js';
import { PendingMessages } from './scheduling/pending-messages.js';
import { type RunPolicies, parseRunPolicies } from './policies.js';
import { type SchedulingStrategy, type StrategySpec, createStrategy } from './scheduling/strategy.js';
import { FEDSIM_VERSION } from '../version.js';
import type { Host } from './transport/host.js';
import { LiveLoop } from './transport/live-loop.js';
import { LiveWaits } from './transport/live-waits.js';
import { recordedTime as liveTime } from './transport/recording/merge-recordings.js';
import type { HostLossPolicy, PlacedActorSpec, Transport, TransportSink } from './transport/transport.js';

export interface SimulationOptions {
  /** Root seed of every random stream (default 0). */
  seed?: Seed;
  /** 'fifo-random' (default), 'random', or { name: 'pct', depth, maxSteps }. */
  strategy?: StrategySpec;
  /** Faults to inject (validated; an all-zero plan injects nothing). */
  faults?: FaultPlanInput;
  /** Link latency in virtual ms (default 1), or a function of (from, to). */
  latency?: number | ((from: ActorId, to: ActorId) => number);
  /** Keep every event in memory as `sim.log` (default true). */
  keepLog?: boolean;
  /** Also stream the log to this file. */
  record?: string;
  /** Stop the run (LogSizeError) once the streamed log grows past this many bytes (default: no limit). */
  maxLogBytes?: number;
  /**
   * Re-execution check: compare the header and every event with this recorded log and stop
   * at the first difference. A LogStream (openLogStream) checks a log file of any size in
   * bounded memory.
   */
  verify?: RecordedLog | LogStream | string;
  /** Schedule replay: take delivery order and message faults from this recorded log instead of the PRNG. */
  schedule?: RecordedLog | string;
  /**
   * Replay of a live recording (transport nats): deliver in the recorded order, give each
   * message its recorded fate, and compare every message event with the recording
   * (replay/causal-replay.ts); the first difference stops the run as a DivergenceError.
   */
  follow?: RecordedLog;
  /** Recorded in the header, so `fedsim replay` can find what produced the run. */
  scenario?: Record<string, unknown>;
  /** Encode and decode every message (higher layers honour it). */
  strict?: boolean;
  /** Tensor backend name for the header (default: the one registered by the compute layer). */
  backend?: string;
  /** Id of the local worker that scenario code acts as (default 'me'). */
  driverId?: ActorId;
  /** Step budget for one await or settle before a LivelockError (default DEFAULT_MAX_STEPS, 50 million). */
  maxSteps?: number;
  /**
   * When given, every await and settle runs its steps through it: `runSteps(advance)` calls
   * `advance(n)`, which runs up to n more steps and returns true once the await or settle is
   * done, until it has returned true. It decides only how the steps run — the CLI runs them
   * so that Ctrl-C can stop them (src/cli/interrupt.ts) — never which: the run is the same.
   * What it throws that `advance` did not (an interruption, which may cut a step short
   * anywhere) stops the simulation, as a failed step does.
   */
  runSteps?: StepRunner;
  /** What the run may reveal and which unsafe settings it allows (see policies.ts); written into the log header. */
  policies?: RunPolicies;
  /**
   * A live transport (transport/transport.ts): actors it hosts elsewhere are reached through
   * it, time is real (ms since the run began) and awaited replies arrive through real I/O.
   * Without one (the default) the run is the deterministic in-process simulation.
   */
  transport?: Transport;
}

/** The step budget of one await or settle when SimulationOptions.maxSteps is not given. */
export const DEFAULT_MAX_STEPS = 50_000_000;

/** See SimulationOptions.runSteps. */
export type StepRunner = (advance: (maxSteps: number) => boolean) => void;

export interface SettleReport {
  steps: number;
  time: number;
}

const asLog = (log: RecordedLog | string, source: string) => (typeof log === 'string' ? parseLog(log, source) : log);
const isStream = (log: RecordedLog | LogStream | string): log is LogStream => typeof (log as LogStream).nextLine === 'function';
const asStream = (log: RecordedLog | LogStream | string, source: string): LogStream => (isStream(log) ? log : streamOf(asLog(log, source)));

export class SimulationCore implements CellHost, Host {
  readonly seed: Seed;
  readonly clock = new VirtualClock();
  readonly log: EventLog;
  readonly strict: boolean;
  /** The run's privacy policies (recorded in the log header); undefined when it declared none. */
  readonly policies: RunPolicies | undefined;
  readonly driver: Driver;
  /** Every event, as it happens. Subscribers must not send or await (they run inside a step). */
  readonly events$ = new Subject<SimEvent>();
  /** Every envelope published on the bus (what the scheduler holds). */
  readonly bus$ = new Subject<Envelope>();

  private readonly rngs: RngRegistry;
  private readonly strategy: SchedulingStrategy;
  private readonly faultDecider: FaultDecider;
  private readonly faultSchedule: FaultSchedule;
  private readonly oracle?: ScheduleOracle;
  private readonly causal?: CausalReplay;
  private readonly verifier?: LogVerifier;
  private readonly fileWriter?: LogFileWriter;
  private readonly pending = new PendingMessages();
  private readonly cells = new Map<ActorId, ActorCell>();
  private readonly onDemand = new OnDemandActors();
  private readonly latencyOf: (from: ActorId, to: ActorId) => number;
  private readonly keepLog: boolean;
  readonly maxSteps: number;
  private readonly runSteps?: StepRunner;
  /** The most steps one await or settle has taken so far. */
  private longest = 0;
  private eventSeq = 0;
  private sendSeq = 0;
  private deliveries = 0;
  private busy = false;
  private stoppedBy: unknown = null;
  private haltRequest: Error | null = null;
  private readonly readyAt = (envelope: Envelope) => this.mailbox(envelope.to)?.busyUntil ?? 0;
  /** The latest messages lost (a ring of LOST_MESSAGES_KEPT), for liveness reports. */
  private readonly lost: MessageSummary[] = [];
  /** True when the header's backend came from the backend-name source (not given by the caller). */
  private readonly backendFromSource: boolean;
  /** No actor is busy after this time: from then on the scheduler can skip looking receivers up. */
  private busyHorizon = 0;
  /** The live transport, when the run is live (see SimulationOptions.transport). */
  readonly transport?: Transport;
  /** Runs due work on real time when the run is live. */
  private readonly live?: LiveLoop;
  /** Awaited answers on a live host: conditions to check, and waits that can never end (see live-waits.ts). */
  private readonly liveWaits?: LiveWaits;

  constructor(options: SimulationOptions = {}) {
    const scheduleLog = options.schedule === undefined ? undefined : asLog(options.schedule, 'schedule log');
    const verifyLog = options.verify === undefined ? undefined : asStream(options.verify, 'verify log');
    this.seed = options.seed ?? (scheduleLog ? scheduleLog.header.seed : 0);
    this.rngs = new RngRegistry(this.seed);
    this.strict = options.strict ?? false;
    this.keepLog = options.keepLog ?? true;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    if (!(Number.isSafeInteger(this.maxSteps) && this.maxSteps > 0)) throw new RangeError(`maxSteps must be a positive integer, got ${options.maxSteps}`);
    this.runSteps = options.runSteps;
    // Live, the network is the latency: the core adds none of its own.
    const latency = options.latency ?? (options.transport ? 0 : 1);
    if (typeof latency === 'number' && !(latency >= 0)) throw new RangeError(`latency must be ≥ 0 virtual ms, got ${latency}`);
    this.latencyOf = typeof latency === 'number' ? () => latency : latency;

    this.policies = parseRunPolicies(options.policies ?? scheduleLog?.header.policies, 'SimulationOptions.policies');
    // Following a live recording, the recorded fates stand for the fault plan (its partitions ran on real time).
    const plan: FaultPlan = scheduleLog ? parseFaultPlan(scheduleLog.header.faults, `${scheduleLog.source} header`) : parseFaultPlan(options.follow ? undefined : options.faults);
    const strategySpec = scheduleLog ? scheduleLog.header.strategy : options.strategy;
    this.strategy = createStrategy(strategySpec, this.rngs.stream('scheduler'));
    if (options.follow) {
      this.causal = new CausalReplay(options.follow);
      this.faultDecider = this.causal;
    } else if (scheduleLog) {
      this.oracle = new ScheduleOracle(scheduleLog);
      this.faultDecider = this.oracle;
    } else {
      this.faultDecider = new SeededFaultInjector(plan, this.rngs.stream('faults'));
    }
    const header: LogHeader = {
      kind: 'fedsim-log',
      format: LOG_FORMAT,
      fedsim: FEDSIM_VERSION,
      seed: this.seed,
      strategy: this.strategy.describe(),
      // Following a live recording, the header keeps the recorded plan (receivers that recognise duplicates depend on it).
      faults: options.follow ? parseFaultPlan(options.follow.header.faults, `${options.follow.source} header`) : plan,
      backend: options.backend ?? backendName(),
      latency: typeof latency === 'number' ? latency : 'custom',
      ...(options.scenario ? { scenario: options.scenario } : {}),
      ...(scheduleLog ? { mode: 'schedule-replay' } : options.follow ? { mode: 'live-replay' } : {}),
      ...(this.policies ? { policies: this.policies } : {}),
      ...(options.transport ? { transport: options.transport.name } : {}),
    };
    this.backendFromSource = options.backend === undefined;
    this.log = new EventLog(header);
    if (verifyLog) {
      this.verifier = new LogVerifier(verifyLog);
      // Before any event: a run whose header differs (an edited version or latency, another backend) cannot match.
      this.verifier.checkHeader(header);
    } else if (scheduleLog) {
      this.verifier = new LogVerifier(streamOf(scheduleLog));
    }
    if (options.record) {
      const writer = new LogFileWriter(options.record, header);
      this.fileWriter = writer;
      const maxBytes = options.maxLogBytes;
      this.events$.subscribe((event) => {
        writer.write(event);
        if (maxBytes !== undefined && writer.size > maxBytes) this.halt(new LogSizeError(writer.size, maxBytes, options.record!));
      });
    }
    this.driver = new Driver(options.driverId ?? 'me');
    this.faultSchedule = new FaultSchedule(plan, {
      now: () => this.clock.now(),
      at: (time, fn) => this.clock.schedule(fn, time - this.clock.now(), null),
      crash: (actor, reason) => this.crash(actor, reason),
      restart: (actor, loseState, loseStorage) => this.restart(actor, loseState, loseStorage),
      recordPartition: (ev, groups) => this.record({ ev, groups }),
      hasActor: (id) => this.hasActor(id),
      actorIds: () => [this.driver.id, ...this.cells.keys()],
    });
    if (options.transport) {
      this.transport = options.transport;
      const transport = options.transport;
      const core = this;
      this.live = new LiveLoop(
        { runDue: (now) => this.runDue(now), nextDueAt: () => this.nextDueAt(), get stopped() { return core.stoppedBy !== null; } },
        () => liveTime(transport.now()),
      );
      this.liveWaits = new LiveWaits({
        awaiting: () => this.driver.awaiting(),
        get idle() {
          return core.pending.size === 0 && core.clock.pendingTimers() === 0;
        },
        get stopped() {
          return core.stoppedBy !== null;
        },
        quiesce: () => transport.quiesce(),
        failRequests: (error) => this.driver.failAll(error),
        now: () => this.clock.now(),
        progress: () => this.eventSeq,
      });
      transport.attach(this.sink());
    }
  }

  // ── Host ────────────────────────────────────────────────────────────────────

  /** 'simulation' in process, else the live transport's name. */
  get transportName(): string {
    return this.transport?.name ?? 'simulation';
  }

  setTimer(fn: () => void, ms: number): number {
    const id = this.clock.schedule(fn, ms, null);
    this.live?.wake();
    return id;
  }

  clearTimer(id: number): void {
    this.clock.clearTimeout(id);
  }

  isLocal(id: ActorId): boolean {
    return id === this.driver.id || this.cells.has(id) || this.onDemand.factoryFor(id) !== undefined;
  }

  localActorIds(): ActorId[] {
    return this.actorIds();
  }

  // ── randomness and time ─────────────────────────────────────────────────────

  /** The named stream `name` of this run (same name ⇒ same stream object). */
  rng(name: string): RandomStream {
    return this.rngs.stream(name);
  }

  /** A new stream for `name` at its start: the same draws on every call (see ActorIO.derivedRng). */
  derivedRng(name: string): RandomStream {
    return createStream(this.seed, name);
  }

  now(): number {
    return this.clock.now();
  }

  /** The id of the local worker that scenario code acts as (`me` unless configured). */
  get driverId(): ActorId {
    return this.driver.id;
  }

  // ── actors ──────────────────────────────────────────────────────────────────

  /** Spawns an xstate v5 actor fed by the scheduler; its input receives `io` (see ActorIO). */
  spawn(logic: AnyActorLogic, id: ActorId, options: { input?: Record<string, unknown> } = {}): ActorCell {
    if (this.stoppedBy !== null) throw this.unusable(`spawn('${id}')`);
    if (typeof id !== 'string' || !/^[^\s→]+$/.test(id)) {
      throw new FedsimError(`spawn: actor ids are non-empty strings without spaces, got ${JSON.stringify(id)}`);
    }
    if (this.cells.has(id) || id === this.driver.id) throw new DuplicateActorError(id);
    const cell = new ActorCell(this, id, logic, options.input);
    this.cells.set(id, cell);
    // Live: the run's other processes may send to it (a placed FL client answering the server spawned here).
    this.transport?.announce?.(id);
    this.record({ ev: 'spawned', actor: id });
    cell.start();
    return cell;
  }

  /**
   * Registers ids whose actor is spawned on demand: an id for which `matches` holds (and
   * that is not spawned yet) gets the actor `create(id)` describes when the first message
   * is sent to it — by the driver or by an actor — with a `spawned` event before that
   * message's `sent` event (right before it, unless the actor's start sends messages of its
   * own; see on-demand-actors.ts). Never before: a registered id that
   * no one messages costs nothing. `matches` and `create` must depend on the id alone (not
   * on when they are called), or runs of one seed would differ. The first registration
   * that matches wins; `spawn` may still spawn a registered id explicitly (then it is an
   * ordinary actor).
   *
   * A registered id counts as an actor of the run: `hasActor` is true and sends to it are
   * accepted. `actor(id)` and `actorIds()` know only spawned actors (`isSpawned` tells).
   * What a fault plan sees: a crash due at a time spawns the actor, then crashes it (as
   * if it had been spawned at the start: later messages to it are dropped as `crashed`);
   * a crash after n messages counts the messages it handled, none before it is spawned,
   * and a run that ends before it got n is not refused (the id is not a typo); a
   * partition may name registered ids.
   */
  spawnOnDemand(matches: (id: ActorId) => boolean, create: (id: ActorId) => OnDemandActor): void {
    if (this.stoppedBy !== null) throw this.unusable('spawnOnDemand');
    if (typeof matches !== 'function' || typeof create !== 'function') {
      throw new FedsimError('spawnOnDemand(matches, create): both are functions of an actor id (matches(id) → boolean, create(id) → { logic, input })');
    }
    this.onDemand.register(matches, create);
  }

  /** True when `id`'s actor exists now (spawned, by `spawn` or on demand); the driver counts as spawned. */
  isSpawned(id: ActorId): boolean {
    return this.cells.has(id) || id === this.driver.id;
  }

  actor(id: ActorId): ActorCell {
    const cell = this.cells.get(id);
    if (cell) return cell;
    if (this.onDemand.factoryFor(id)) {
      throw new FedsimError(`sim.actor('${id}'): '${id}' is registered to be spawned on demand (spawnOnDemand) and has not been messaged yet, so it has no actor to inspect. Check sim.isSpawned('${id}') first.`);
    }
    throw new UnknownActorError(id, this.actorIds(), `sim.actor('${id}')`);
  }

  /** True for the driver, every spawned actor and every id registered to be spawned on demand. */
  hasActor(id: ActorId): boolean {
    return this.cells.has(id) || id === this.driver.id || this.onDemand.factoryFor(id) !== undefined || (this.transport?.isRemote(id) ?? false);
  }

  /**
   * Live runs: creates actor `id` on the remote host that offers it (see Transport.place);
   * messages to it go through the transport from now on. `spec` must be JSON.
   */
  placeRemote(id: ActorId, spec: PlacedActorSpec, whenHostIsGone: HostLossPolicy = 'fail-run'): void {
    if (!this.transport) throw new FedsimError(`placeRemote('${id}'): this simulation has no live transport; spawn the actor in process with spawn().`);
    if (this.stoppedBy !== null) throw this.unusable(`placeRemote('${id}')`);
    if (this.hasActor(id)) throw new DuplicateActorError(id);
    this.transport.place(id, spec, whenHostIsGone);
  }

  /** The spawned actors' ids, in spawn order (ids registered on demand appear once spawned). */
  actorIds(): ActorId[] {
    return [...this.cells.keys()];
  }

  /** Crashes an actor now (what a fault plan's crash does): it loses pending timers and drops what arrives. */
  crash(id: ActorId, reason: 'fault-plan' | 'api' = 'api'): void {
    // An on-demand actor not spawned yet is spawned to be crashed, as if it had existed from the start.
    const cell = this.spawnedOnDemand(id) ?? this.actor(id);
    if (cell.crashed) return;
    cell.crash();
    this.record({ ev: 'crashed', actor: id, reason });
  }

  /**
   * Restarts a crashed actor, from its initial state (`loseState`) or from the state it
   * crashed in; its durable storage survives unless `loseStorage`.
   */
  restart(id: ActorId, loseState = false, loseStorage = false): void {
    // An on-demand actor never spawned never crashed: nothing to restart.
    if (!this.cells.has(id) && this.onDemand.factoryFor(id)) return;
    const cell = this.actor(id);
    if (!cell.crashed) return;
    this.record({ ev: 'restarted', actor: id, stateKept: !loseState, ...(loseStorage ? { storageKept: false } : {}) });
    cell.restart(loseState, loseStorage);
  }

  // ── the driver's messaging (scenario code acting as `me`) ───────────────────

  /** Sends a one-way message from the driver; returns its id. */
  send<P>(to: ActorId, type: string, payload: P, options?: { digest?: string; bytes?: number }): string {
    // (Checks build their message only when they fail: this runs once per message.)
    if (this.stoppedBy !== null) throw this.unusable(`send to '${to}'`);
    if (!this.hasActor(to)) throw new UnknownActorError(to, this.actorIds(), `send '${type}'`);
    const envelope = new PostedEnvelope(this.driver.id, this.driver.messagesSent++, to, type, payload, null, NO_SEQ, undefined, NO_SEQ, options?.digest, options?.bytes);
    this.post(envelope, this.clock.now());
    return messageId(envelope.from, envelope.serial); // not envelope.id: that would keep the string on the envelope while it waits
  }

  /**
   * Sends a request from the driver. Awaiting the result runs the simulation until the
   * reply arrives; it resolves to the reply payload (or rejects with a RemoteError).
   */
  request<T = unknown>(
    to: ActorId,
    type: string,
    payload: unknown,
    options: { timeout?: number; digest?: string; bytes?: number; unwrap?: (reply: Envelope) => T } = {},
  ): Reply<T> {
    const { timeout, unwrap, ...sendOptions } = options;
    const id = this.send(to, type, payload, sendOptions);
    const description = `the reply to '${type}' (${id}) from '${to}'`;
    const reply = new Reply<T>(this, id, description);
    this.driver.expect(reply, unwrap);
    if (timeout !== undefined) {
      // Replaying a live recording, the timeout runs from when the request was sent live (the
      // replay's clock still reads the time of the last recorded step).
      const now = this.clock.now();
      const delay = this.causal ? Math.max(0, (this.causal.sentAt(id) ?? now) + timeout - now) : timeout;
      this.clock.schedule(
        () => {
          if (reply.isSettled) return;
          this.driver.forget(id);
          reply.reject(new RequestTimeoutError(description, timeout, this.clock.now()));
        },
        delay,
        null,
      );
    }
    return reply;
  }

  /** Records a free-form mark in the log (e.g. 'round 3 done'). */
  mark(label: string, data?: unknown): void {
    this.record({ ev: 'mark', label, data });
  }

  // ── running ─────────────────────────────────────────────────────────────────

  /**
   * Does one thing: fires the earliest due timer, or delivers one deliverable message,
   * jumping virtual time forward when nothing is due now. Returns false when idle, or
   * when the next thing would happen after `horizon` (time then moves to the horizon).
   */
  step(horizon = Infinity): boolean {
    if (this.stoppedBy !== null) throw this.unusable('step');
    if (this.busy) throw new ReentrancyError('sim.step()');
    this.busy = true;
    try {
      return this.advance(horizon);
    } catch (error) {
      this.stoppedBy = error;
      throw error;
    } finally {
      this.busy = false;
    }
  }

  /** One step without the guards (callers hold them). */
  private advance(horizon: number): boolean {
    if (this.haltRequest) throw this.haltRequest;
    if (this.causal) return this.advanceFollowing(this.causal, horizon);
    const fifo = this.strategy.fifo;
    for (;;) {
      const timer = this.clock.takeDue();
      if (timer) {
        timer.fire();
        return true;
      }
      const now = this.clock.now();
      const count = this.pending.collect(now, fifo, this.busyHorizon > now ? this.readyAt : null);
      if (count > 0) {
        const index = count === 1 && !this.oracle ? 0 : this.choose(count);
        this.deliver(this.pending.take(index));
        return true;
      }
      // Nothing is deliverable now: jump to the next timer or the next message that can be taken.
      const next = Math.min(this.clock.nextDueAt() ?? Infinity, this.pending.nextReady);
      if (next === Infinity) return false;
      if (next > horizon) {
        this.clock.advanceTo(horizon);
        return false;
      }
      this.clock.advanceTo(next);
    }
  }

  /**
   * One step of the replay of a live recording: the recording, not the clock, says what
   * comes next — the delivery or the actor's timer firing it recorded next, at its recorded
   * time (replay/causal-replay.ts). Every message in flight is a candidate, whatever its
   * virtual arrival time or its receiver's busy time: live, the network and real time
   * decided those.
   */
  private advanceFollowing(causal: CausalReplay, horizon: number): boolean {
    const count = this.pending.collect(Infinity, false, null);
    const next = causal.next(this.clock.pendingTimerList, this.pending.found.slice(0, count), horizon);
    switch (next.do) {
      case 'idle':
        return false;
      case 'wait':
        this.clock.advanceTo(horizon);
        return false;
      case 'fire':
        // A runtime timer fires at its due time (never earlier than now); a recorded firing at its recorded time.
        if (next.timer.owner === null) this.clock.advanceTo(next.at);
        else this.clock.setTo(next.at);
        this.clock.take(next.timer).fire();
        return true;
      case 'deliver':
        this.clock.setTo(next.at);
        this.deliver(this.pending.take(next.index));
        return true;
    }
  }

  /**
   * Asks the simulation to stop: the step under way finishes, then every further step
   * (and the await or settle that drives it) throws `reason`. Safe to call from an
   * events$ subscriber — that is how `fedsim replay --until` stops at an event.
   */
  halt(reason: Error = new FedsimError('The simulation was halted.')): void {
    if (this.haltRequest === null) this.haltRequest = reason;
  }

  /** The error that stopped this simulation (a divergence, a halt, a LivelockError…), or null while it can run. */
  get failure(): unknown {
    return this.stoppedBy;
  }

  /** Runs until `done()` holds; used by awaited replies. */
  pumpUntil(done: () => boolean, awaited: string): void {
    if (this.live) {
      // Live: run what is due now; the reply comes through real I/O (the live loop settles it).
      if (this.stoppedBy !== null) throw this.unusable(`waiting for ${awaited}`);
      this.live.runNow();
      return;
    }
    let steps = 0;
    const pump = (limit: number) => {
      while (!done() && steps < limit) {
        if (!this.step()) throw this.causal?.stalled(awaited) ?? new DeadlockError(awaited, this.clock.now(), '', this.livenessReport());
        if (++steps > this.maxSteps) throw new LivelockError(this.maxSteps, this.clock.now(), `Waiting for ${awaited}`, this.livenessReport());
      }
    };
    try {
      if (this.runSteps === undefined) pump(Infinity);
      else if (!done()) this.throughRunner(awaited, (n) => (pump(steps + n), done()));
    } finally {
      if (steps > this.longest) this.longest = steps;
    }
  }

  /** The most steps one await or settle has taken so far in this run (what maxSteps bounds). */
  get longestStretch(): number {
    return this.longest;
  }

  /**
   * Runs the steps of an await or settle through options.runSteps. Something the runner
   * throws that `advance` did not (an interruption) may have cut a step short anywhere,
   * even before its `finally` ran: the simulation stops with it.
   */
  private throughRunner(what: string, advance: (maxSteps: number) => boolean): void {
    let failed: { error: unknown } | undefined;
    let finished = false;
    try {
      this.runSteps!((maxSteps) => {
        try {
          return (finished = advance(maxSteps));
        } catch (error) {
          failed = { error };
          throw error;
        }
      });
    } catch (error) {
      if (failed === undefined || failed.error !== error) {
        this.busy = false;
        if (this.stoppedBy === null) this.stoppedBy = error;
      }
      throw error;
    }
    if (!finished) throw new FedsimError(`${what}: SimulationOptions.runSteps returned before the steps were done; it must call advance(n) until it returns true.`);
  }

  /**
   * Resolves once `done()` holds: the awaitable form of pumpUntil, for waits that are not a
   * Reply (the round engine's result). The simulator pumps right here, synchronously, exactly
   * as pumpUntil does; a live host resolves once an arrival makes it hold, and rejects with a
   * DeadlockError when every process is idle and it still does not (live-waits.ts).
   */
  waitUntil(done: () => boolean, awaited: string): Promise<void> {
    if (!this.liveWaits) {
      try {
        this.pumpUntil(done, awaited);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.stoppedBy !== null) return Promise.reject(this.unusable(`waiting for ${awaited}`));
    const wait = this.liveWaits.waitUntil(done, awaited);
    this.live!.runNow();
    return wait;
  }

  /** Delivers everything pending and fires every timer, until nothing is left (quiescence). */
  settle(): Promise<SettleReport> {
    if (this.transport) return this.settleLive();
    return this.runWhile(Infinity, 'settle()');
  }

  /** Runs everything due up to `ms` virtual ms from now; time ends exactly there. */
  runFor(ms: number): Promise<SettleReport> {
    if (this.transport) {
      // Live: real time passes; the live loop runs what falls due meanwhile.
      return new Promise((resolve) => this.setTimer(() => resolve({ steps: 0, time: this.clock.now() }), ms));
    }
    return this.runWhile(this.clock.now() + ms, `runFor(${ms})`);
  }

  /** Live settle: waits until no host of the run has anything in flight or due (Transport.quiesce). */
  private async settleLive(): Promise<SettleReport> {
    if (this.stoppedBy !== null) throw this.unusable('settle()');
    this.live!.runNow();
    await this.transport!.quiesce();
    if (this.stoppedBy !== null) throw this.stoppedBy;
    return { steps: this.deliveries, time: this.clock.now() };
  }

  /** True when no message is in flight and no timer is set. */
  get idle(): boolean {
    return this.pending.size === 0 && this.clock.pendingTimers() === 0;
  }

  /** Messages in flight, in send order (for inspection). */
  inFlight(): Envelope[] {
    return this.pending.all();
  }

  /**
   * Writes the streamed log's pending lines to its file now (a checkpoint needs the log on
   * disk up to the event it names; see src/fl/checkpoint/). Changes nothing in the run.
   */
  flushLog(): void {
    this.fileWriter?.flush();
  }

  /** Events recorded so far (the next event's seq), whether or not the log is kept in memory. */
  get eventCount(): number {
    return this.eventSeq;
  }

  /**
   * Finishes the run's side effects: flushes the log file, checks that the backend the
   * header names is still the one tensors compute on, and that a verified run reached
   * the log's end.
   */
  close(): { events: number } {
    this.fileWriter?.close();
    if (this.backendFromSource && this.stoppedBy === null) {
      const now = backendName();
      if (now !== this.log.header.backend) {
        throw new FedsimError(
          `The tfjs backend changed during the run: the log header names '${this.log.header.backend}', but tensors now compute on '${now}', ` +
            'so the log would not say what the run computed on. Start the backend (await initBackend()) before creating the Simulation.',
        );
      }
    }
    if (this.stoppedBy === null) this.faultSchedule.checkNamedActorsExisted();
    if (this.verifier && this.stoppedBy === null) return this.verifier.finish();
    if (this.causal && this.stoppedBy === null) return this.causal.finish();
    return { events: this.eventSeq };
  }

  /** Who waits for what, now: the driver's awaited replies, every actor's state, messages in flight, timers, recent losses. */
  livenessReport(): LivenessReport {
    return buildLivenessReport({ clock: this.clock, cells: this.cells.values(), inFlight: this.pending.all(), awaiting: this.driver.awaiting(), driverId: this.driver.id, lost: this.lost });
  }

  // ── observables ─────────────────────────────────────────────────────────────

  /** Events of the given kinds. */
  eventsOf<K extends SimEventKind>(...kinds: K[]): Observable<Extract<SimEvent, { ev: K }>> {
    const wanted = new Set<string>(kinds);
    return this.events$.pipe(filter((e): e is Extract<SimEvent, { ev: K }> => wanted.has(e.ev)));
  }

  get sent$() {
    return this.eventsOf('sent');
  }
  get delivered$() {
    return this.eventsOf('delivered');
  }
  get faults$() {
    return this.eventsOf('dropped', 'duplicated', 'delayed', 'reordered', 'crashed', 'restarted', 'partition-start', 'partition-end');
  }
  get errors$() {
    return this.eventsOf('error');
  }

  // ── CellHost (used by actor cells) ──────────────────────────────────────────

  record(init: SimEventInit): void {
    const event = init as SimEvent;
    event.seq = this.eventSeq++;
    event.t = this.clock.now();
    if (event.ev === 'dropped') this.rememberLost(event.msg, event.envelope, event.reason, event.t);
    if (this.keepLog) this.log.append(event);
    this.verifier?.check(event);
    this.causal?.check(event);
    if (this.events$.observed) this.events$.next(event);
  }

  post(envelope: PostedEnvelope, sendTime: number): void {
    if (this.onDemand.any) this.spawnedOnDemand(envelope.to);
    // Live, a turn's cost (io.busy) was paid in real time already: messages leave now.
    if (this.transport) sendTime = this.clock.now();
    const base = sendTime + this.latencyOf(envelope.from, envelope.to);
    const decision = this.faultDecider.decide(envelope, base, this.eventSeq);
    envelope.seq = this.sendSeq++;
    envelope.sentAt = sendTime;
    envelope.deliverAt = decision.deliverAt ?? base + decision.delayBy;
    if (decision.reorder) envelope.reordered = true;
    // Bound for another process: its digest now, while the payload is whole (the transport frees its tensors once encoded).
    if (this.transport?.isRemote(envelope.to)) envelopeDigest(envelope);
    this.recordMessage('sent', envelope);
    if (decision === NO_FAULT) return this.publish(envelope);
    if (decision.delayBy > 0) this.record({ ev: 'delayed', ...messageFields(envelope), by: decision.delayBy });
    if (decision.reorder) this.record({ ev: 'reordered', ...messageFields(envelope) });
    if (decision.drop) {
      this.record({ ev: 'dropped', ...messageFields(envelope), reason: 'fault' });
      return;
    }
    this.publish(envelope);
    if (decision.duplicateAfter !== null) {
      const deliverAt = decision.duplicateDeliverAt ?? envelope.deliverAt + decision.duplicateAfter;
      const copy = envelope.duplicateAt(this.sendSeq++, deliverAt);
      this.record({ ev: 'duplicated', ...messageFields(copy), deliverAt, after: decision.duplicateAfter });
      this.publish(copy);
    }
  }

  /**
   * Puts an envelope on the bus: the scheduler's pending set takes it, and so does
   * every `bus$` subscriber. (The pending set is fed directly rather than through a
   * bus$ subscription: same order, no Subject machinery on the hot path.)
   */
  private publish(envelope: PostedEnvelope): void {
    if (this.bus$.observed) this.bus$.next(envelope);
    if (this.transport?.isRemote(envelope.to)) return this.publishRemote(envelope);
    this.pending.add(envelope);
  }

  /** Hands an envelope to the live transport, at its deliverAt (a fault's delay holds it back here, in real time). */
  private publishRemote(envelope: PostedEnvelope): void {
    const wait = envelope.deliverAt - this.clock.now();
    if (wait <= 0) return this.toTransport(envelope);
    this.clock.schedule(() => this.toTransport(envelope), wait, null);
    this.live!.wake();
  }

  /**
   * The transport carries the envelope, unless its receiver's process is gone: then it is
   * lost, as a message to a crashed actor is in simulation (see HostLossPolicy).
   */
  private toTransport(envelope: PostedEnvelope): void {
    const goneHost = this.transport!.goneHostOf?.(envelope.to);
    if (goneHost === undefined) return this.transport!.publish(envelope);
    this.record({ ev: 'dropped', ...messageFields(envelope), reason: 'host-gone', goneHost });
  }

  /** What the live transport calls back (TransportSink). */
  private sink(): TransportSink {
    const core = this;
    return {
      accept: (envelope) => {
        if (core.stoppedBy !== null) return;
        core.clock.advanceTo(liveTime(core.transport!.now()));
        // An arrival gets a send seq of this host (its row in the log's message table); it is due now.
        envelope.seq = core.sendSeq++;
        envelope.deliverAt = core.clock.now();
        if (core.keepLog) core.log.adopt(envelope);
        core.pending.add(envelope);
        core.live!.wake();
      },
      refuse: (envelope, reason, detail) => {
        if (core.stoppedBy !== null) return;
        core.clock.advanceTo(liveTime(core.transport!.now()));
        if (envelope) {
          envelope.seq = core.sendSeq++;
          envelope.deliverAt = core.clock.now();
          if (core.keepLog) core.log.adopt(envelope);
          core.record({ ev: 'dropped', ...messageFields(envelope), reason });
        }
        core.record({ ev: 'mark', label: 'refused', data: { reason, detail } });
      },
      fail: (error) => core.failLive(error),
      hostGone: (host, actors) => {
        if (core.stoppedBy !== null) return;
        core.clock.advanceTo(liveTime(core.transport!.now()));
        core.record({ ev: 'mark', label: 'host-gone', data: { host, actors } });
        core.live!.wake();
      },
      wake: () => core.live!.wake(),
      get idle() {
        return core.pending.size === 0 && core.clock.pendingTimers() === 0;
      },
    };
  }

  /** The live run cannot go on: it stops with `error`, and every awaited reply rejects with it. */
  failLive(error: Error): void {
    if (this.stoppedBy === null) this.stoppedBy = error;
    this.live?.disarm();
    this.driver.failAll(error);
    this.liveWaits?.failAll(error);
  }

  /** Live: moves time to `now` and runs every step due by then. */
  private runDue(now: number): void {
    if (this.stoppedBy !== null || this.busy) return;
    this.clock.advanceTo(now);
    this.busy = true;
    try {
      while (this.advance(now)) {
        /* one step each */
      }
    } catch (error) {
      this.failLive(error as Error);
    } finally {
      this.busy = false;
    }
    this.liveWaits!.afterRun();
  }

  /** Live: when the earliest timer or held-back message is due. */
  private nextDueAt(): number {
    return Math.min(this.clock.nextDueAt() ?? Infinity, this.pending.size > 0 ? this.pending.nextReady : Infinity);
  }

  noteBusyUntil(time: number): void {
    if (this.transport) return; // live, busy time was real time: receivers are not held back
    if (time > this.busyHorizon) this.busyHorizon = time;
  }

  /** The hot path of record(): sent and delivered events (see EventLog.appendMessage). */
  private recordMessage(ev: 'sent' | 'delivered', envelope: PostedEnvelope): void {
    const seq = this.eventSeq++;
    const t = this.clock.now();
    if (this.keepLog) this.log.appendMessage(ev, t, envelope);
    // An event object is made only for whoever looks at it now.
    if (this.verifier || this.causal || this.events$.observed) {
      const event = new MessageEventRecord(seq, t, ev, envelope) as unknown as SimEvent;
      this.verifier?.check(event);
      this.causal?.check(event);
      if (this.events$.observed) this.events$.next(event);
    }
  }

  // ── internals ───────────────────────────────────────────────────────────────

  private rememberLost(msg: string, envelope: Envelope, reason: string, t: number): void {
    if (this.lost.length === LOST_MESSAGES_KEPT) this.lost.shift();
    this.lost.push({ msg, type: envelope.type, from: envelope.from, to: envelope.to, t, reason });
  }

  /** Index among the `count` deliverable envelopes in `pending.found` (count ≥ 2). */
  private choose(count: number): number {
    if (this.oracle) return this.oracle.choose(this.pending.found.slice(0, count), this.eventSeq);
    return this.strategy.choose(this.pending.found, count, this.deliveries);
  }

  private deliver(envelope: PostedEnvelope): void {
    this.deliveries++;
    const { from, to } = envelope;
    const box = this.mailbox(to);
    if (!box) {
      this.record({ ev: 'dropped', ...messageFields(envelope), reason: 'unknown-actor' });
      return;
    }
    if (box.crashed) {
      this.record({ ev: 'dropped', ...messageFields(envelope), reason: 'crashed' });
      return;
    }
    if (this.faultSchedule.hasPartitions && this.faultSchedule.separated(from, to, this.clock.now())) {
      this.record({ ev: 'dropped', ...messageFields(envelope), reason: 'partition' });
      return;
    }
    this.recordMessage('delivered', envelope);
    box.receive(envelope);
    if (this.faultSchedule.countsDeliveries) this.faultSchedule.afterDelivery(to, box.handled);
  }

  /** The cell of `id` once spawned, spawning it now if it is registered on demand; undefined for other unknown ids. */
  private spawnedOnDemand(id: ActorId): ActorCell | undefined {
    const cell = this.cells.get(id);
    if (cell || id === this.driver.id) return cell;
    const create = this.onDemand.factoryFor(id);
    if (!create) return undefined;
    const { logic, input } = create(id);
    return this.spawn(logic, id, input === undefined ? {} : { input });
  }

  private mailbox(id: ActorId): ActorCell | Driver | undefined {
    return id === this.driver.id ? this.driver : this.cells.get(id);
  }

  private runWhile(horizon: number, what: string): Promise<SettleReport> {
    let steps = 0;
    const run = (limit: number): boolean => {
      if (this.busy) throw new ReentrancyError(what);
      this.busy = true;
      try {
        while (steps < limit) {
          if (!this.advance(horizon)) return false;
          if (++steps > this.maxSteps) throw new LivelockError(this.maxSteps, this.clock.now(), what, this.livenessReport());
        }
        return true;
      } catch (error) {
        this.stoppedBy = error;
        throw error;
      } finally {
        this.busy = false;
      }
    };
    try {
      if (this.stoppedBy !== null) throw this.unusable(what);
      if (this.runSteps === undefined) run(Infinity);
      else this.throughRunner(what, (n) => !run(steps + n));
      return Promise.resolve({ steps, time: this.clock.now() });
    } catch (error) {
      return Promise.reject(error);
    } finally {
      if (steps > this.longest) this.longest = steps;
    }
  }

  /** The error for using a simulation that stopped after an error. */
  private unusable(what: string): FedsimError {
    return new FedsimError(`${what}: this simulation stopped after an error and cannot go on (${(this.stoppedBy as Error).message?.split('\n')[0]}). Start a new Simulation.`);
  }
}
