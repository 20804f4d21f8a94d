/**
 * Every actor's state along a run, for the viewer's time travel: the run is re-executed
 * from its log (as `fedsim replay` does, checked event by event against it), and the
 * actors are described (src/cli/actor-state.ts, the text `fedsim replay --until` prints)
 * at step boundaries.
 *
 * `fedsim replay --until N` stops the run once event N has happened: the step under way
 * finishes, and the state shown is the one before the next step. So the state "at event
 * N" is the state at the first step boundary after N, the same for every event of one
 * step. Describing the actors at every boundary therefore gives, for each event, exactly
 * what `--until` prints for it; describing them at every K-th event's boundary gives that
 * for the events of the sampled steps, and the nearest earlier state for the others (the
 * page says which). Steps are observed through SimulationOptions.runSteps, which decides
 * only how the steps of an await run (here: one at a time), never which.
 *
 * Texts are interned and kept per actor only where they change: most steps touch one or
 * two actors.
 */
import { resolve } from 'node:path';
import { DivergenceError, LogFormatError, LogHeaderMismatchError, openLogStream } from '../runtime/index.js';
import { followRecordedFusedDense } from '../runtime/fused-dense/module.js';
import { displayPath, type Sim } from '../scenario/index.js';
import { runScenario } from '../scenario/index.js';
import { describeActor } from '../cli/actor-state.js';
import { CliError, EXIT_FAILED } from '../cli/cli-error.js';
import { ReplayRefused, recordedMaxSteps, recordedRunSettings, recordedScenario, scanLogArgument } from '../cli/commands/replay.js';
import { startBackend } from '../cli/run-options.js';
import { payloadSummary } from './payload-summary.js';

export interface StateTimeline {
  /** Actors in the order `fedsim replay --until` lists them (the driver first). */
  actors: string[];
  texts: string[];
  /** Per capture: the first and last seq whose `--until` state it is. */
  from: number[];
  to: number[];
  /** Per actor (same order as `actors`): the captures where its text changed, and the text (index, −1: not spawned yet). */
  changes: Array<{ at: number[]; text: number[] }>;
  /** A summary of each message's payload, by message id (a copy's key ends in "\u0000copy"). */
  payloads: Map<string, string>;
  /** Events the replay went through. */
  events: number;
}

export interface CaptureOptions {
  /** Describe the actors at the boundary after every `every`-th event (default 1: all). */
  every?: number;
  /** Only the state at this event (then the replay stops there). */
  at?: number;
  project?: string;
  /** Longest log line accepted (default MAX_LOG_LINE_CHARS), as fedsim view --max-line-chars. */
  maxLineChars?: number;
}

/** Re-executes the run of `logFile` and records the actors' states (see the file comment). */
export async function captureStates(logFile: string, options: CaptureOptions = {}): Promise<StateTimeline> {
  const log = scanLogArgument(logFile, options.maxLineChars);
  const info = log.header.scenario ?? {};
  let scenario;
  try {
    scenario = await recordedScenario(log, logFile, { project: options.project });
  } catch (error) {
    if (error instanceof ReplayRefused) throw cannotReplay(logFile, error.message);
    throw error;
  }
  followRecordedFusedDense(log.header.backend);
  await startBackend(log.header.backend === 'none' ? undefined : log.header.backend, `the log header's backend '${log.header.backend}'`);

  const every = Math.max(1, Math.floor(options.every ?? 1));
  const timeline: StateTimeline = { actors: [], texts: [], from: [], to: [], changes: [], payloads: new Map(), events: 0 };
  const textIndex = new Map<string, number>();
  const current: number[] = [];
  let sim: Sim | undefined;
  /** eventCount at the last step boundary, and the next seq whose state must be captured. */
  let boundary = 0;
  let nextSample = options.at ?? every - 1;
  let done = false;

  /** Describes every actor now, as the state of events first..last. */
  const record = (s: Sim, first: number, last: number) => {
    const index = timeline.from.length;
    timeline.from.push(first);
    timeline.to.push(last);
    for (const id of [s.driver.id, ...s.actorIds()]) {
      let a = timeline.actors.indexOf(id);
      if (a < 0) {
        a = timeline.actors.push(id) - 1;
        timeline.changes.push({ at: [], text: [] });
        current.push(-1);
      }
      const text = describeActor(s, id).join('\n');
      let t = textIndex.get(text);
      if (t === undefined) {
        t = timeline.texts.push(text) - 1;
        textIndex.set(text, t);
      }
      if (current[a] !== t) {
        current[a] = t;
        timeline.changes[a].at.push(index);
        timeline.changes[a].text.push(t);
      }
    }
    if (options.at !== undefined) done = true;
    // Sampled seqs are every−1, 2·every−1, …: the next one after `last`.
    nextSample = Math.ceil((last + 2) / every) * every - 1;
  };
  /** Where the events of the last step began (the boundary before `boundary`). */
  let stepStart = 0;
  /** A step boundary: the state of the events since the previous one, if a sampled seq is among them. */
  const capture = () => {
    const n = sim!.eventCount;
    if (n === boundary || done) return;
    if (n - 1 >= nextSample) record(sim!, boundary, n - 1);
    stepStart = boundary;
    boundary = n;
  };
  /** The run is over: its last events get the final state whatever the sampling (as `--until` of them shows it). */
  const captureEnd = () => {
    const n = sim!.eventCount;
    if (done || n === 0 || (timeline.to.length > 0 && timeline.to[timeline.to.length - 1] >= n - 1)) return;
    record(sim!, n > boundary ? boundary : stepStart, n - 1);
  };

  const shown = displayPath(resolve(logFile));
  const stream = openLogStream(logFile, { source: shown, maxLineChars: options.maxLineChars });
  let outcome;
  try {
    outcome = await runScenario(scenario, {
      ...recordedRunSettings(log.header, info),
      maxSteps: recordedMaxSteps(info),
      verify: stream,
      keepLog: false,
      // Asked for one event's state: stop there, as `fedsim replay --until` does.
      stopWhen: options.at === undefined ? undefined : (s) => s.eventCount > options.at!,
      onSimulation: (s) => {
        sim = s;
        s.events$.subscribe((event) => {
          if (event.ev !== 'sent' && event.ev !== 'duplicated') return;
          const envelope = (event as { envelope?: { id: string; payload: unknown; duplicate?: boolean } }).envelope;
          if (envelope) timeline.payloads.set(envelope.duplicate ? `${envelope.id}\u0000copy` : envelope.id, payloadSummary(envelope.payload));
        });
      },
      // One step at a time, the actors described between steps: see the file comment.
      runSteps: (advance) => {
        for (;;) {
          capture();
          if (advance(1)) return;
        }
      },
    });
  } catch (error) {
    stream.close();
    if (error instanceof LogHeaderMismatchError) throw cannotReplay(logFile, error.message);
    throw error;
  }
  stream.close();
  const error = outcome.error;
  if (error instanceof DivergenceError) {
    const d = error.divergence;
    // A log of a stopped run ends inside a step: every event it has matched.
    if (!(d.expected === null && d.seq >= log.events)) {
      throw cannotReplay(logFile, `the re-executed run diverges from the log at seq ${d.seq} (expected ${d.expected ?? 'the end of the log'}, got ${d.actual ?? 'the end of the run'})`);
    }
  } else if (error instanceof LogFormatError) {
    throw new CliError(error.message);
  }
  // The state at the end: the events after the last step boundary (the run's last step, or scenario code after it).
  if (sim !== undefined) captureEnd();
  timeline.events = sim?.eventCount ?? 0;
  return timeline;
}

function cannotReplay(logFile: string, why: string): CliError {
  return new CliError(
    // \`why\` is often a whole sentence of its own (ending in a period): not doubled.
    `cannot show the actors' states of ${displayPath(resolve(logFile))}: ${why.replace(/\.+\s*$/, '')}. ` +
      'States come from re-executing the run (as `fedsim replay` does); view the log without them with --no-states.',
    EXIT_FAILED,
  );
}
