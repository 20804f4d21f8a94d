/**
 * Writes a checkpoint every `every` rounds of a round-based FL run, as the run goes.
 *
 * A round's checkpoint is taken when its report (fl/round-end, sync or async: the round is
 * the model version) is delivered to the driver: the global model of that round is then
 * committed, and the report carries it. The log is flushed and fsynced up to that event
 * first, so a checkpoint never names log bytes that are not on disk. The log's sha256 is
 * kept running, over the bytes read back from the file since the last checkpoint: the
 * whole run reads its log once, and only at checkpoints (nothing per event).
 *
 * A round whose report is lost (a fault plan) has no checkpoint; a duplicated report makes
 * one. It is a plain subscriber: it never sends or waits, so the run is the same with or
 * without it (the tests compare the logs).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync } from 'node:fs';
import type { Subscription } from 'rxjs';
import type { SimulationCore } from '../../runtime/simulation.js';
import { FEDSIM_VERSION } from '../../version.js';
import { weightsSha256 } from '../models/weights.js';
import { FL } from '../rounds/protocol.js';
import { writeCheckpoint } from './checkpoint-file.js';
import { codeSha256 } from './code-digest.js';

export interface CheckpointRecorderOptions {
  every: number;
  /** The folder the checkpoint files go to (it exists). */
  dir: string;
  /** The file the simulation streams its log to (opened here for reading: the descriptor follows a rename). */
  logPath: string;
  /** How the checkpoint names the log (its final name, relative to the run's directory). */
  logFile: string;
  /** Rounds up to this one are not written again (a resumed run: their checkpoints exist). */
  after?: number;
}

export interface CheckpointRecorder {
  /** Rounds checkpointed so far by this recorder. */
  readonly rounds: readonly number[];
  stop(): void;
}

const READ_CHUNK = 1 << 20;

export function recordCheckpoints(sim: SimulationCore, options: CheckpointRecorderOptions): CheckpointRecorder {
  const fd = openSync(options.logPath, 'r');
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(READ_CHUNK);
  let hashed = 0;
  const rounds: number[] = [];
  const taken = new Set<number>();
  const code = { fedsim: FEDSIM_VERSION, sha256: codeSha256() };

  /** Reads the log's new bytes into the running hash; returns the log's length. */
  const catchUp = (): number => {
    const size = fstatSync(fd).size;
    while (hashed < size) {
      const n = readSync(fd, buffer, 0, Math.min(READ_CHUNK, size - hashed), hashed);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      hashed += n;
    }
    return hashed;
  };

  const subscription: Subscription = sim.delivered$.subscribe((event) => {
    if (event.type !== FL.roundEnd || event.to !== sim.driverId) return;
    const report = event.envelope.payload as { round?: unknown; weights?: unknown };
    const round = report?.round;
    if (typeof round !== 'number' || !Number.isInteger(round) || round < 1 || round % options.every !== 0 || taken.has(round)) return;
    taken.add(round);
    if (options.after !== undefined && round <= options.after) return;
    // The writer has this event (it subscribed first): flushed, the file ends with it.
    sim.flushLog();
    const bytes = catchUp();
    fsyncSync(fd);
    writeCheckpoint(options.dir, {
      kind: 'fedsim-checkpoint',
      format: 1,
      every: options.every,
      round,
      events: event.seq + 1,
      virtualTime: event.t,
      log: { file: options.logFile, bytes, sha256: hash.copy().digest('hex') },
      ...(Array.isArray(report.weights) ? { weightsSha256: weightsSha256(report.weights as Float32Array[]) } : {}),
      code,
    });
    rounds.push(round);
  });

  return {
    rounds,
    stop() {
      subscription.unsubscribe();
      closeSync(fd);
    },
  };
}
